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
	fs.BoolVar(&cfg.Quiet, "quiet", cfg.Quiet, "print nothing on stderr but errors and warnings: no progress bar, no summary")
	fs.BoolVar(&cfg.Quiet, "q", cfg.Quiet, "short for --quiet")
	sinkFlags(fs, cfg)
}

// packetFlags are the flags of the commands that read packets: read, live and flow.
func packetFlags(fs *flag.FlagSet, cfg *config.Config) {
	fs.StringVar(&cfg.NTPLog, "ntp-log", cfg.NTPLog, "write one JSON line per NTP message to `file` (- for stdout, line by line with the alerts)")
}

// parsed is a command line: the positional arguments, the words after "--" (a capture
// filter, as tcpdump's trailing expression), and the flags that were set.
type parsed struct {
	pos, rest []string
	set       map[string]bool
}

// parseConfig builds a command's Config: defaults, then the YAML file named by --config,
// then the flags, which win. Flags and arguments may be interleaved, as in
// `ntpwatch read a.pcap --home-net 192.0.2.0/24 b.pcap`.
func parseConfig(name, usage string, args []string, stderr io.Writer, groups ...flagGroup) (*config.Config, parsed, error) {
	cfg := config.Default()
	fs, p, err := parseFlags(name, usage, args, stderr, &cfg, groups)
	if err != nil {
		return nil, p, err
	}
	if path := fs.Lookup("config").Value.String(); path != "" {
		cfg = config.Default()
		if err := config.Load(path, &cfg); err != nil {
			return nil, p, usageError{err}
		}
		// Parse again onto the file's values so that flags override the file.
		if _, p, err = parseFlags(name, usage, args, stderr, &cfg, groups); err != nil {
			return nil, p, err
		}
	}
	if err := cfg.Validate(); err != nil {
		return nil, p, usageError{err}
	}
	return &cfg, p, nil
}

func parseFlags(name, usage string, args []string, stderr io.Writer, cfg *config.Config, groups []flagGroup) (*flag.FlagSet, parsed, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	commonFlags(fs, cfg)
	for _, g := range groups {
		g(fs, cfg)
	}
	p := parsed{set: map[string]bool{}}
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fs.SetOutput(stderr)
				fmt.Fprint(stderr, usage)
				fs.PrintDefaults()
				return nil, p, err
			}
			return nil, p, usageError{flagError(name, err)}
		}
		// The flag package stops at "--" and drops it; what follows is the filter.
		if n := len(fs.Args()); n < len(args) && args[len(args)-n-1] == "--" {
			p.rest = fs.Args()
			break
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		p.pos = append(p.pos, args[0])
		args = args[1:]
	}
	fs.Visit(func(f *flag.Flag) { p.set[f.Name] = true })
	return fs, p, nil
}

// filterWords joins the words of a capture filter given after "--", as tcpdump joins its
// trailing expression, and refuses one given both there and with --bpf.
func filterWords(p parsed) (string, error) {
	if len(p.rest) == 0 {
		return "", nil
	}
	if p.set["bpf"] {
		return "", usagef("a capture filter both in --bpf and after --: give one")
	}
	return strings.Join(p.rest, " "), nil
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
