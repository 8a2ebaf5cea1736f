// Package config is the configuration of a run: a plain struct with defaults, filled from the
// YAML file of --config and then from flags, and validated in one place that reports every
// problem at once. Each package receives its section (detect.Config, sinks.Config, the live
// capture's decode.LiveConfig, the flow collector's flow.Config), never flags.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"github.com/ntpwatch/ntpwatch/detect"
	"github.com/ntpwatch/ntpwatch/sinks"
	"go.yaml.in/yaml/v3"
)

// Config is everything a run is told: defaults, then the YAML file (--config), then flags.
type Config struct {
	Sensor string        `yaml:"sensor"`  // the name alerts carry; default the hostname
	NTPLog string        `yaml:"ntp_log"` // file for one JSON line per NTP message; "" for none
	Quiet  bool          `yaml:"quiet"`   // no progress bar
	Detect detect.Config `yaml:"detect"`
	Output sinks.Config  `yaml:"output"`
	Live   Live          `yaml:"live"` // ntpwatch live only
	Flow   Flow          `yaml:"flow"` // ntpwatch flow and read --flows only
	Fleet  Fleet         `yaml:"fleet"`
}

// Default is the configuration of a run given no file and no flags.
func Default() Config {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "ntpwatch"
	}
	return Config{
		Sensor: host,
		Detect: detect.DefaultConfig(),
		Live:   DefaultLive(),
		Flow:   DefaultFlow(),
		Fleet:  DefaultFleet(),
		// The zero value of sinks.Config writes JSON lines to stdout; Kafka spools what it
		// cannot deliver, and the SASL password may come from the environment, so that it
		// stays out of ps and shell history (the file and the flag win over it).
		Output: sinks.Config{Kafka: sinks.KafkaConfig{
			Spool: defaultSpool(),
			SASL:  sinks.SASLConfig{Password: os.Getenv("NTPWATCH_KAFKA_PASSWORD")},
		}},
	}
}

// Load fills cfg from a YAML file. Unknown keys are errors: a misspelt threshold must not be
// silently ignored. Errors are one line and name the file.
func Load(path string, cfg *Config) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("--config: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	// An empty file decodes as io.EOF: it sets nothing, which is fine.
	if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("--config %s: %s", path, yamlMessage(err))
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

// Validate reports every problem of cfg at once.
func (cfg *Config) Validate() error {
	var errs []error
	if cfg.Sensor == "" {
		errs = append(errs, errors.New("sensor (--sensor): must not be empty"))
	}
	errs = append(errs, cfg.Detect.Validate(), cfg.Output.Validate(), cfg.Flow.Validate(), cfg.Fleet.Validate(cfg.Output.Kafka))
	return errors.Join(errs...)
}

// PrefixList is a flag.Value for a comma-separated list of CIDR prefixes (--home-net).
type PrefixList struct{ P *[]netip.Prefix }

func (l PrefixList) String() string {
	if l.P == nil {
		return ""
	}
	s := make([]string, len(*l.P))
	for i, p := range *l.P {
		s[i] = p.String()
	}
	return strings.Join(s, ",")
}

func (l PrefixList) Set(v string) error {
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
	*l.P = out
	return nil
}

// defaultSpool is the spool file when --spool is not given: in the user's cache directory,
// which exists for services and users alike, unlike a working directory that may be /.
func defaultSpool() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	return filepath.Join(dir, "ntpwatch", "kafka.spool")
}

// List is a flag.Value for a comma-separated list; each use replaces the list, so that a
// flag overrides the config file rather than adding to it.
type List struct{ P *[]string }

func (l List) String() string {
	if l.P == nil {
		return ""
	}
	return strings.Join(*l.P, ",")
}

func (l List) Set(v string) error {
	var out []string
	for _, f := range strings.Split(v, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	*l.P = out
	return nil
}
