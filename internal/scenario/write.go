package scenario

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
)

// Format is a capture file format that Write writes.
type Format string

// The capture formats: the three that ntpwatch reads, so that each reader is tested with
// the same traffic.
const (
	PCAP      Format = "pcap"    // classic libpcap, microsecond timestamps
	PCAPNanos Format = "pcap-ns" // classic libpcap, nanosecond timestamps
	PCAPNG    Format = "pcapng"  // pcapng, one Ethernet interface, nanosecond timestamps
)

// maxSnaplen is the snaplen written when a capture keeps whole frames.
const maxSnaplen = 65535

// Write writes frames to w as a capture of link type link (a Scenario's Link) in format, in
// the order given, keeping at most snaplen bytes of each frame (0 keeps them whole) and its
// length on the wire. It buffers its output and flushes it before returning.
func Write(w io.Writer, frames []Frame, link layers.LinkType, format Format, snaplen int) error {
	sl := uint32(snaplen)
	if snaplen <= 0 || snaplen > maxSnaplen {
		sl = maxSnaplen
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	var pw interface {
		WritePacket(ci gopacket.CaptureInfo, data []byte) error
	}
	var flush func() error
	switch format {
	case PCAP, PCAPNanos:
		cw := pcapgo.NewWriter(bw)
		if format == PCAPNanos {
			cw = pcapgo.NewWriterNanos(bw)
		}
		if err := cw.WriteFileHeader(sl, link); err != nil {
			return err
		}
		pw = cw
	case PCAPNG:
		nw, err := pcapgo.NewNgWriterInterface(bw, pcapgo.NgInterface{
			Name: "eth0", LinkType: link, SnapLength: sl,
			TimestampResolution: 9,
		}, pcapgo.DefaultNgWriterOptions)
		if err != nil {
			return err
		}
		pw, flush = nw, nw.Flush
	default:
		return fmt.Errorf("unknown format %q (want %s, %s or %s)", format, PCAP, PCAPNanos, PCAPNG)
	}
	for _, f := range frames {
		data := f.Data[:min(len(f.Data), int(sl))]
		ci := gopacket.CaptureInfo{Timestamp: f.Time, CaptureLength: len(data), Length: len(f.Data)}
		if err := pw.WritePacket(ci, data); err != nil {
			return err
		}
	}
	if flush != nil {
		if err := flush(); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// WriteFile writes frames to the file path as Write does; a name ending in .gz is
// gzip-compressed, as ntpwatch reads it.
func WriteFile(path string, frames []Frame, link layers.LinkType, format Format, snaplen int) (err error) {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	w := io.Writer(f)
	var gz *gzip.Writer
	if strings.HasSuffix(path, ".gz") {
		gz = gzip.NewWriter(f)
		w = gz
	}
	if err := Write(w, frames, link, format, snaplen); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if gz != nil {
		if err := gz.Close(); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
	}
	return nil
}
