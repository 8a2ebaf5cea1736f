package main

import (
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"path/filepath"
)

// generate builds a scenario from seed into a capture.
func generate(s *scenario, seed uint64) *capture {
	c := &capture{}
	s.build(c, rand.New(rand.NewPCG(seed, 0x6e7470)))
	return c
}

func runScenario(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("scenario", flag.ContinueOnError)
	name := fs.String("name", "", "scenario to write (ntpgen list)")
	out := fs.String("o", "-", "output file; - for stdout; a .gz name is gzip-compressed")
	format := fs.String("format", "pcap", "pcap, pcap-ns or pcapng")
	snaplen := fs.Int("snaplen", -1, "bytes kept of each frame; -1 uses the scenario's own, 0 keeps all")
	seed := fs.Uint64("seed", 1, "random seed; the same seed writes the same bytes")
	if err := parse(fs, args); err != nil {
		return err
	}
	s, err := findScenario(*name)
	if err != nil {
		return fmt.Errorf("%w: -name: %v", errUsage, err)
	}
	if *snaplen < 0 {
		*snaplen = s.snaplen
	}
	return generate(s, *seed).write(output{Path: *out, Format: *format, Snaplen: *snaplen})
}

func runPcaps(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("pcaps", flag.ContinueOnError)
	dir := fs.String("dir", "pcaps", "folder to write the samples into")
	if err := parse(fs, args); err != nil {
		return err
	}
	for i := range scenarios {
		s := &scenarios[i]
		path := filepath.Join(*dir, s.name+".pcap")
		if err := generate(s, 1).write(output{Path: path, Format: "pcap", Snaplen: s.snaplen}); err != nil {
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
	for _, s := range scenarios {
		fmt.Fprintf(stdout, "%-16s %s\n", s.name, s.about)
	}
	return nil
}
