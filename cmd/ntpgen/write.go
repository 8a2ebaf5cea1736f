package main

import (
	"flag"
	"fmt"
	"io"
	"path/filepath"

	"github.com/ntpwatch/ntpwatch/internal/scenario"
)

func runScenario(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("scenario", flag.ContinueOnError)
	name := fs.String("name", "", "scenario to write (ntpgen list)")
	out := fs.String("o", "-", "output file; - for stdout; a .gz name is gzip-compressed")
	format := fs.String("format", string(scenario.PCAP), "pcap, pcap-ns or pcapng")
	snaplen := fs.Int("snaplen", -1, "bytes kept of each frame; -1 uses the scenario's own, 0 keeps all")
	seed := fs.Uint64("seed", 1, "random seed; the same seed writes the same bytes")
	if err := parse(fs, args); err != nil {
		return err
	}
	s, err := scenario.Find(*name)
	if err != nil {
		return fmt.Errorf("%w: -name: %v", errUsage, err)
	}
	if *snaplen < 0 {
		*snaplen = s.Snaplen
	}
	frames := s.Frames(*seed)
	if *out == "-" {
		return scenario.Write(stdout, frames, s.Link(), scenario.Format(*format), *snaplen)
	}
	return scenario.WriteFile(*out, frames, s.Link(), scenario.Format(*format), *snaplen)
}

func runPcaps(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("pcaps", flag.ContinueOnError)
	dir := fs.String("dir", "pcaps", "folder to write the samples into")
	if err := parse(fs, args); err != nil {
		return err
	}
	for _, s := range scenario.All() {
		path := filepath.Join(*dir, s.File())
		if err := scenario.WriteFile(path, s.Frames(1), s.Link(), scenario.PCAP, s.Snaplen); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s\n", path)
	}
	return nil
}

func runList(args []string, stdout io.Writer) error {
	if err := parse(flag.NewFlagSet("list", flag.ContinueOnError), args); err != nil {
		return err
	}
	for _, s := range scenario.All() {
		fmt.Fprintf(stdout, "%-20s %s\n", s.Name, s.About)
	}
	return nil
}
