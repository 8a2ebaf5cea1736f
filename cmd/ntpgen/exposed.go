package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/google/gopacket/layers"

	"github.com/ntpwatch/ntpwatch/internal/scenario"
)

// runExposed writes a capture of many exposed amplifiers, for the measurements of
// docs/reliability.md: N IPv6 NTP servers of 2001:db8:a::/48, one every 10 ms of packet time,
// each answering one forged MON_GETLIST_1 request from 2001:db8:feed::7 with two data
// replies. Each is an exposed_amplifier incident, so N of them make 2N alert events (a start
// and, 60 s of packet time later, an end) spread over the capture:
//
//	ntpgen exposed [-n 6000] [-o FILE|-] [-rate BYTES/S] [-hold DURATION]
//
// -rate paces the writing, so that a run reading the capture from a pipe lasts long enough
// to stop a broker in its middle; -hold keeps the pipe open and quiet after the capture.
func runExposed(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("exposed", flag.ContinueOnError)
	n := fs.Int("n", 6000, "amplifiers: exposed_amplifier incidents (at most 65,536)")
	out := fs.String("o", "-", "output `file`; - for stdout")
	rate := fs.Int("rate", 0, "write at most this many `bytes` a second (0: at once)")
	hold := fs.Duration("hold", 0, "keep the output open this long after the capture (at most 10m)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *n < 1 || *n > 1<<16 || *rate < 0 || *hold < 0 || *hold > maxDuration {
		return fmt.Errorf("%w: -n must be in [1, 65536], -rate not negative and -hold in [0, %s]", errUsage, maxDuration)
	}
	var buf bytes.Buffer
	if err := scenario.Write(&buf, exposedFrames(*n), layers.LinkTypeEthernet, scenario.PCAP, 0); err != nil {
		return err
	}
	w := stdout
	if *out != "-" {
		f, err := os.Create(*out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := writePaced(ctx, w, buf.Bytes(), *rate); err != nil {
		return err
	}
	select {
	case <-ctx.Done():
	case <-time.After(*hold):
	}
	return nil
}

// exposedFrames builds the capture of runExposed.
func exposedFrames(n int) []scenario.Frame {
	victim := netip.MustParseAddr("2001:db8:feed::7")
	// The items list IPv4 clients, as ntpd's info_monitor_1 holds them.
	clients := scenario.MonitorList(netip.MustParseAddr("203.0.113.7"), 12)
	itemServer := netip.MustParseAddr("198.51.100.10")
	start := time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)
	var frames []scenario.Frame
	for i := range n {
		amp := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 0x0a, 14: byte(i >> 8), 15: byte(i)})
		ep := &scenario.Endpoints{SrcMAC: [6]byte{2, 0, 0, 0, 0, 1}, DstMAC: [6]byte{2, 0, 0, 0, 0, 2},
			Src: victim, Dst: amp, SrcPort: uint16(40000 + i%20000), DstPort: 123}
		t := start.Add(time.Duration(i) * 10 * time.Millisecond)
		frames = append(frames, scenario.Frame{Time: t, Data: scenario.AppendUDP(nil, ep, 0, scenario.MonlistRequest(8))})
		for j, p := range scenario.MonlistReply(2, clients, itemServer) {
			frames = append(frames, scenario.Frame{Time: t.Add(time.Duration(j+1) * time.Millisecond),
				Data: scenario.AppendUDP(nil, ep.Reverse(), 0, p)})
		}
	}
	return frames
}

// writePaced writes data to w in 64 KiB pieces, at most rate bytes a second (0: at once).
func writePaced(ctx context.Context, w io.Writer, data []byte, rate int) error {
	if rate == 0 {
		_, err := w.Write(data)
		return err
	}
	start := time.Now()
	for sent := 0; sent < len(data); {
		end := min(sent+64<<10, len(data))
		if _, err := w.Write(data[sent:end]); err != nil {
			return err
		}
		sent = end
		due := start.Add(time.Duration(float64(sent) / float64(rate) * float64(time.Second)))
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Until(due)):
		}
	}
	return nil
}
