package main

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
)

// capture collects the frames of a scenario with their timestamps, then writes them in time
// order. Frames at the same instant keep the order they were added in.
type capture struct {
	frames []frame
	ipID   uint16
}

type frame struct {
	t    time.Time
	data []byte
}

// udp adds one UDP datagram at time t.
func (c *capture) udp(t time.Time, ep *Endpoints, payload []byte) {
	c.ipID++
	c.add(t, appendUDPFrame(nil, ep, c.ipID, payload))
}

func (c *capture) add(t time.Time, data []byte) {
	c.frames = append(c.frames, frame{t: t, data: data})
}

// output says how a capture is written.
type output struct {
	Path    string // "-" for stdout; a name ending in .gz is gzip-compressed
	Format  string // "pcap" (microseconds), "pcap-ns" or "pcapng"
	Snaplen int    // bytes kept of each frame; 0 keeps all
}

// write sorts the frames by time and writes them to out.
func (c *capture) write(out output) (err error) {
	slices.SortStableFunc(c.frames, func(a, b frame) int { return a.t.Compare(b.t) })
	var w io.Writer
	if out.Path == "-" {
		w = os.Stdout
	} else {
		f, err := os.Create(out.Path)
		if err != nil {
			return err
		}
		defer func() {
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}()
		w = f
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	w = bw
	var gz *gzip.Writer
	if strings.HasSuffix(out.Path, ".gz") {
		gz = gzip.NewWriter(bw)
		w = gz
	}
	if err := writeFrames(w, out, c.frames); err != nil {
		return fmt.Errorf("write %s: %w", out.Path, err)
	}
	if gz != nil {
		if err := gz.Close(); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// packetWriter is what pcapgo's classic and pcapng writers have in common.
type packetWriter interface {
	WritePacket(ci gopacket.CaptureInfo, data []byte) error
}

func writeFrames(w io.Writer, out output, frames []frame) error {
	snaplen := uint32(out.Snaplen)
	if snaplen == 0 {
		snaplen = 65535
	}
	var pw packetWriter
	var flush func() error
	switch out.Format {
	case "pcap", "":
		cw := pcapgo.NewWriter(w)
		if err := cw.WriteFileHeader(snaplen, layers.LinkTypeEthernet); err != nil {
			return err
		}
		pw = cw
	case "pcap-ns":
		cw := pcapgo.NewWriterNanos(w)
		if err := cw.WriteFileHeader(snaplen, layers.LinkTypeEthernet); err != nil {
			return err
		}
		pw = cw
	case "pcapng":
		nw, err := pcapgo.NewNgWriterInterface(w, pcapgo.NgInterface{
			Name: "eth0", LinkType: layers.LinkTypeEthernet, SnapLength: snaplen,
			TimestampResolution: 9,
		}, pcapgo.DefaultNgWriterOptions)
		if err != nil {
			return err
		}
		pw, flush = nw, nw.Flush
	default:
		return fmt.Errorf("unknown format %q (want pcap, pcap-ns or pcapng)", out.Format)
	}
	for _, f := range frames {
		data := f.data
		if len(data) > int(snaplen) {
			data = data[:snaplen]
		}
		ci := gopacket.CaptureInfo{Timestamp: f.t, CaptureLength: len(data), Length: len(f.data)}
		if err := pw.WritePacket(ci, data); err != nil {
			return err
		}
	}
	if flush != nil {
		return flush()
	}
	return nil
}
