package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"

	"github.com/ntpwatch/ntpwatch/detect"
	"github.com/ntpwatch/ntpwatch/sinks"
	"go.yaml.in/yaml/v3"
)

// Config is everything a run is told: defaults, then the YAML file (--config), then flags.
// Packages receive the parts of it that concern them, never flags.
type Config struct {
	Sensor string        `yaml:"sensor"`  // the name alerts carry; default the hostname
	NTPLog string        `yaml:"ntp_log"` // file for one JSON line per NTP message; "" for none
	Quiet  bool          `yaml:"quiet"`   // no progress bar
	Detect detect.Config `yaml:"detect"`
	Output sinks.Config  `yaml:"output"`
	Live   LiveConfig    `yaml:"live"` // ntpwatch live only
}

// defaultConfig is the configuration of a run given no file and no flags.
func defaultConfig() Config {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "ntpwatch"
	}
	return Config{
		Sensor: host,
		Detect: detect.DefaultConfig(),
		Live:   defaultLiveConfig(),
		// The zero value of sinks.Config writes JSON lines to stdout; Kafka spools what it
		// cannot deliver, and the SASL password may come from the environment, so that it
		// stays out of ps and shell history (the file and the flag win over it).
		Output: sinks.Config{Kafka: sinks.KafkaConfig{
			Spool: defaultSpool(),
			SASL:  sinks.SASLConfig{Password: os.Getenv("NTPWATCH_KAFKA_PASSWORD")},
		}},
	}
}

// loadConfigFile fills cfg from a YAML file. Unknown keys are errors: a misspelt threshold
// must not be silently ignored.
func loadConfigFile(path string, cfg *Config) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return usagef("--config: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	// An empty file decodes as io.EOF: it sets nothing, which is fine.
	if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
		return usagef("--config %s: %s", path, yamlMessage(err))
	}
	return nil
}

// yamlMessage puts the yaml package's message on one line without its preamble:
// "line 2: field reflektion not found in type detect.Config".
func yamlMessage(err error) string {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	msg = strings.TrimPrefix(msg, "unmarshal errors:\n")
	lines := strings.Split(msg, "\n")
	for i := range lines {
		lines[i] = strings.TrimSpace(lines[i])
	}
	return strings.Join(lines, "; ")
}

// validate reports every problem of cfg at once.
func (cfg *Config) validate() error {
	var errs []error
	if cfg.Sensor == "" {
		errs = append(errs, errors.New("sensor (--sensor): must not be empty"))
	}
	errs = append(errs, cfg.Detect.Validate(), cfg.Output.Validate())
	if err := errors.Join(errs...); err != nil {
		return usageError{err}
	}
	return nil
}

// prefixList is a flag.Value for a comma-separated list of CIDR prefixes (--home-net).
type prefixList struct{ p *[]netip.Prefix }

func (l prefixList) String() string {
	if l.p == nil {
		return ""
	}
	s := make([]string, len(*l.p))
	for i, p := range *l.p {
		s[i] = p.String()
	}
	return strings.Join(s, ",")
}

func (l prefixList) Set(v string) error {
	var out []netip.Prefix
	for _, f := range strings.Split(v, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			a, aerr := netip.ParseAddr(f)
			if aerr != nil {
				return fmt.Errorf("%q is not a CIDR prefix or address", f)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p.Masked())
	}
	*l.p = out
	return nil
}
