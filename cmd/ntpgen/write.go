package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/google/gopacket/layers"
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

// runSpread writes a victim flood spread over border links, one capture a link, for trying
// the fleet (docs/fleet.md): a sensor reads each, an aggregator joins their evidence.
func runSpread(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("spread", flag.ContinueOnError)
	dir := fs.String("dir", ".", "folder to write link-0.pcap, link-1.pcap, ... into")
	links := fs.Int("links", 10, "border links, one capture each")
	reflectors := fs.Int("reflectors", 90, "reflectors, 192.0.2.1 on, each answering one full monlist reply series (44,000 bytes)")
	minutes := fs.Int("minutes", 1, "the flood again every minute, this many times")
	shift := fs.Duration("shift", 0, "move the whole attack this much later than 2026-03-14 09:00:05 UTC")
	seed := fs.Uint64("seed", 1, "random seed; the same seed writes the same bytes")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *links < 1 || *reflectors < *links || *reflectors > 254 || *minutes < 1 {
		return fmt.Errorf("%w: -links %d -reflectors %d -minutes %d: want at least one link and minute, and from as many reflectors as links to 254",
			errUsage, *links, *reflectors, *minutes)
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return err
	}
	s := scenario.VictimFloodSpread(*seed, *reflectors, *links).Every(*minutes)
	for i, frames := range s.Links {
		for k := range frames {
			frames[k].Time = frames[k].Time.Add(*shift)
		}
		path := filepath.Join(*dir, fmt.Sprintf("link-%d.pcap", i))
		if err := scenario.WriteFile(path, frames, layers.LinkTypeEthernet, scenario.PCAP, 0); err != nil {
			return err
		}
	}
	in := s.Incident
	each := fmt.Sprint(*reflectors / *links)
	if *reflectors%*links != 0 {
		each += fmt.Sprintf(" or %d", *reflectors / *links + 1)
	}
	fmt.Fprintf(stdout, "wrote %d captures into %s: %d reflectors flood %s with %d packets, %d bytes; each link carries %s of them\n",
		*links, *dir, in.Reflectors, in.Victim, in.Responses.Packets, in.Responses.Bytes, each)
	return nil
}
