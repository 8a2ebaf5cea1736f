package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/ntpwatch/ntpwatch/internal/config"
)

// flagGroup adds the flags of one concern (detection, outputs, live capture...) to a flag
// set, bound to the fields of cfg they set.
type flagGroup func(fs *flag.FlagSet, cfg *config.Config)

// commonFlags are the flags of every analysing command.
func commonFlags(fs *flag.FlagSet, cfg *config.Config) {
	fs.String("config", "", "YAML configuration `file`; flags override it")
	fs.StringVar(&cfg.Sensor, "sensor", cfg.Sensor, "sensor `name` put in every alert")
	fs.Var(config.PrefixList{P: &cfg.Detect.HomeNet}, "home-net", "your networks, `CIDR,...` (like Suricata's HOME_NET): adds direction and spoofed_egress")
	fs.StringVar(&cfg.NTPLog, "ntp-log", cfg.NTPLog, "write one JSON line per NTP message to `file`")
	fs.BoolVar(&cfg.Quiet, "quiet", cfg.Quiet, "no progress bar on the terminal")
	sinkFlags(fs, cfg)
}

// parseConfig builds a command's Config: defaults, then the YAML file named by --config,
// then the flags, which win. Flags and arguments may be interleaved, as in
// `ntpwatch read a.pcap --home-net 192.0.2.0/24 b.pcap`. It returns the positional arguments.
func parseConfig(name, usage string, args []string, stderr io.Writer, groups ...flagGroup) (*config.Config, []string, error) {
	cfg := config.Default()
	fs, pos, err := parseFlags(name, usage, args, stderr, &cfg, groups)
	if err != nil {
		return nil, nil, err
	}
	if path := fs.Lookup("config").Value.String(); path != "" {
		cfg = config.Default()
		if err := config.Load(path, &cfg); err != nil {
			return nil, nil, usageError{err}
		}
		// Parse again onto the file's values so that flags override the file.
		if _, pos, err = parseFlags(name, usage, args, stderr, &cfg, groups); err != nil {
			return nil, nil, err
		}
	}
	if err := cfg.Validate(); err != nil {
		return nil, nil, usageError{err}
	}
	return &cfg, pos, nil
}

func parseFlags(name, usage string, args []string, stderr io.Writer, cfg *config.Config, groups []flagGroup) (*flag.FlagSet, []string, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	commonFlags(fs, cfg)
	for _, g := range groups {
		g(fs, cfg)
	}
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fs.SetOutput(stderr)
				fmt.Fprint(stderr, usage)
				fs.PrintDefaults()
				return nil, nil, err
			}
			return nil, nil, usageError{flagError(name, err)}
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		if args[0] == "--" {
			pos = append(pos, args[1:]...)
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	return fs, pos, nil
}

// flagError rewords the flag package's errors as one line that says what to do.
func flagError(cmd string, err error) error {
	msg := strings.TrimSpace(err.Error())
	if f, ok := strings.CutPrefix(msg, "flag provided but not defined: "); ok {
		return fmt.Errorf("unknown flag %s; 'ntpwatch %s -h' lists the flags", f, cmd)
	}
	if f, ok := strings.CutPrefix(msg, "flag needs an argument: "); ok {
		return fmt.Errorf("flag %s needs a value", f)
	}
	return errors.New(msg)
}
