package decode

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
	"github.com/ntpwatch/ntpwatch/internal/testutil"
)

// testFrames are three Ethernet frames: NTP client request, monlist reply, TCP.
func testFrames() [][]byte {
	return [][]byte{
		testutil.Ethernet(testutil.UDP(testutil.V4Client, testutil.V4Server, 40000, 123, ntpClientRequest())),
		benchFrames()["vlan_ipv4_monlist_reply"],
		benchFrames()["tcp"],
	}
}

func frameInfo(i int, data []byte) gopacket.CaptureInfo {
	return gopacket.CaptureInfo{Timestamp: testutil.Time.Add(time.Duration(i) * 1001 * time.Nanosecond),
		CaptureLength: len(data), Length: len(data)}
}

func pcapBytes(t testing.TB, nanos bool) []byte {
	var buf bytes.Buffer
	w := pcapgo.NewWriter(&buf)
	if nanos {
		w = pcapgo.NewWriterNanos(&buf)
	}
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	for i, f := range testFrames() {
		if err := w.WritePacket(frameInfo(i, f), f); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

// bigEndianPcap rewrites a little-endian microsecond pcap in big-endian order, as written
// by SPARC and PowerPC hosts.
func bigEndianPcap(le []byte) []byte {
	be := append([]byte(nil), le...)
	swap := func(off, n int) {
		for i := 0; i < n/2; i++ {
			be[off+i], be[off+n-1-i] = be[off+n-1-i], be[off+i]
		}
	}
	for _, o := range []int{0, 16, 20} {
		swap(o, 4)
	}
	swap(4, 2)
	swap(6, 2)
	for off := 24; off < len(be); {
		for _, o := range []int{0, 4, 8, 12} {
			swap(off+o, 4)
		}
		off += 16 + int(binary.BigEndian.Uint32(be[off+8:]))
	}
	return be
}

// pcapngBytes writes the Ethernet frames on interface 0 and the same packets as raw IP on
// interface 1.
func pcapngBytes(t testing.TB) []byte {
	var buf bytes.Buffer
	w, err := pcapgo.NewNgWriterInterface(&buf, pcapgo.NgInterface{Name: "eth0", LinkType: layers.LinkTypeEthernet,
		SnapLength: 65535, TimestampResolution: 9}, pcapgo.NgWriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := w.AddInterface(pcapgo.NgInterface{Name: "tun0", LinkType: layers.LinkTypeRaw, SnapLength: 65535, TimestampResolution: 9})
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range testFrames() {
		ci := frameInfo(i, f)
		if i == 1 { // the monlist reply goes through the raw interface, without its 18-byte header
			f = f[18:]
			ci = frameInfo(i, f)
			ci.InterfaceIndex = raw
		}
		if err := w.WritePacket(ci, f); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

type readResult struct {
	kinds   []Kind
	payload []uint32
	links   []LinkType
	times   []time.Time
	err     error
}

func readAll(t *testing.T, src Source) readResult {
	defer src.Close()
	var r readResult
	d := NewDecoder(nil)
	var p Packet
	var fr Frame
	for {
		if err := src.Next(&fr); err != nil {
			if err != io.EOF {
				r.err = err
			}
			return r
		}
		r.kinds = append(r.kinds, d.Decode(&fr, &p))
		r.payload = append(r.payload, p.PayloadLen)
		r.links = append(r.links, fr.Link)
		r.times = append(r.times, fr.Time)
	}
}

func TestOpenFormats(t *testing.T) {
	plain := pcapBytes(t, false)
	wantKinds := []Kind{KindMessage, KindMessage, KindOther}
	wantPayload := []uint32{48, 440, 0}
	tests := []struct {
		name  string
		data  []byte
		links []LinkType
	}{
		{"micro.pcap", plain, nil},
		{"nano.pcap", pcapBytes(t, true), nil},
		{"bigendian.pcap", bigEndianPcap(plain), nil},
		{"capture.pcapng", pcapngBytes(t), []LinkType{LinkTypeEthernet, LinkTypeRaw, LinkTypeEthernet}},
		{"named-without-gz.pcap", testutil.Gzip(plain), nil},
		{"capture.pcapng.gz", testutil.Gzip(pcapngBytes(t)), []LinkType{LinkTypeEthernet, LinkTypeRaw, LinkTypeEthernet}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := testutil.WriteTemp(t, tt.name, tt.data)
			src, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			if src.Name() != path {
				t.Errorf("name %q", src.Name())
			}
			r := readAll(t, src)
			if r.err != nil {
				t.Fatal(r.err)
			}
			if !equal(r.kinds, wantKinds) || !equal(r.payload, wantPayload) {
				t.Errorf("kinds %v payload %v", r.kinds, r.payload)
			}
			links := tt.links
			if links == nil {
				links = []LinkType{LinkTypeEthernet, LinkTypeEthernet, LinkTypeEthernet}
			}
			if !equal(r.links, links) {
				t.Errorf("links %v, want %v", r.links, links)
			}
			if !r.times[1].Equal(testutil.Time.Add(1001*time.Nanosecond).Truncate(time.Microsecond)) &&
				!r.times[1].Equal(testutil.Time.Add(1001*time.Nanosecond)) {
				t.Errorf("time %v", r.times[1])
			}
			done, total := src.(Progresser).Progress()
			if total != int64(len(tt.data)) || done != total {
				t.Errorf("progress %d/%d, file %d bytes", done, total, len(tt.data))
			}
		})
	}
}

func equal[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestOpenStdin(t *testing.T) {
	testutil.Stdin(t, testutil.WriteTemp(t, "in.pcap.gz", testutil.Gzip(pcapBytes(t, false))))
	src, err := Open("-")
	if err != nil {
		t.Fatal(err)
	}
	if src.Name() != "stdin" {
		t.Errorf("name %q", src.Name())
	}
	r := readAll(t, src)
	if r.err != nil || len(r.kinds) != 3 {
		t.Errorf("read %d frames, error %v", len(r.kinds), r.err)
	}
}

func TestOpenTruncated(t *testing.T) {
	plain := pcapBytes(t, false)
	ng := pcapngBytes(t)
	tests := []struct {
		name   string
		data   []byte
		frames int
	}{
		{"cut.pcap", plain[:len(plain)-10], 2},
		{"cut.pcap.gz", testutil.Gzip(plain[:len(plain)-10]), 2},
		{"cut.pcapng", ng[:len(ng)-30], 2},
		// A gzip stream cut in its trailer still holds every record.
		{"cutgz.gz", testutil.Gzip(plain)[:len(testutil.Gzip(plain))-6], 3},
	}
	for _, tt := range tests {
		name := tt.name
		t.Run(name, func(t *testing.T) {
			data := tt.data
			src, err := Open(testutil.WriteTemp(t, name, data))
			if err != nil {
				t.Fatal(err)
			}
			r := readAll(t, src)
			if !errors.Is(r.err, ErrTruncated) || !strings.Contains(r.err.Error(), name) ||
				!strings.Contains(r.err.Error(), fmt.Sprintf("after %d packets", tt.frames)) || len(r.kinds) != tt.frames {
				t.Errorf("%d frames, error %v", len(r.kinds), r.err)
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, want string
		data       []byte
	}{
		{"empty.pcap", "empty file", []byte{}},
		{"notes.pcap", "text, not a capture", []byte("tcpdump: listening on eth0\n")},
		{"netmon.cap", "Microsoft Network Monitor", append([]byte("GMBU"), make([]byte, 60)...)},
		{"trace.snoop", "snoop", append([]byte("snoop\x00\x00\x00"), make([]byte, 60)...)},
		{"text.gz", "gzip-compressed, but not a capture: text", testutil.Gzip([]byte("hello\n"))},
		{"short.pcap", "pcap header", []byte{0xd4, 0xc3, 0xb2, 0xa1, 2, 0}},
		{"junk.bin", "not a capture (unknown format", []byte{0, 1, 2, 3, 4, 5, 6, 7}},
	}
	for _, tt := range tests {
		path := testutil.WriteTemp(t, tt.name, tt.data)
		_, err := Open(path)
		if err == nil || !strings.HasPrefix(err.Error(), "read "+path+": ") || !strings.Contains(err.Error(), tt.want) ||
			strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error %v, want one line naming the file and %q", tt.name, err, tt.want)
		}
	}
	missing := filepath.Join(dir, "missing.pcap")
	if _, err := Open(missing); err == nil || err.Error() != "read "+missing+": no such file or directory" {
		t.Errorf("missing: %v", err)
	}
	if _, err := Open(dir); err == nil || err.Error() != "read "+dir+": is a directory" {
		t.Errorf("directory: %v", err)
	}
}

// TestOpenStdinInterrupted reads stdin from a pipe whose writer stays quiet: ending the
// context must end the wait, in Open (nothing written yet) and in Next (a record awaited
// after one, or after the file header alone, which Open must not wait past), with an error
// matching the context's.
func TestOpenStdinInterrupted(t *testing.T) {
	file := pcapBytes(t, false)
	oneRecord := file[:24+16+int(binary.LittleEndian.Uint32(file[24+8:]))]
	for _, tc := range []struct {
		name   string
		write  []byte
		frames int // read before the wait
	}{{"Open", nil, 0}, {"Next", oneRecord, 1}, {"Next after the file header only", file[:24], 0}} {
		t.Run(tc.name, func(t *testing.T) {
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			defer w.Close()
			w.Write(tc.write)
			saved := os.Stdin
			os.Stdin = r
			defer func() { os.Stdin = saved }()
			ctx, cancel := context.WithCancel(context.Background())
			waiting := make(chan struct{})
			done := make(chan error, 1)
			go func() {
				if tc.write == nil {
					close(waiting) // about to wait in Open
				}
				src, err := OpenContext(ctx, "-")
				if err == nil {
					defer src.Close()
					for frames := 0; err == nil; frames++ {
						if frames == tc.frames {
							close(waiting) // about to wait in Next
						}
						err = src.Next(new(Frame))
					}
				}
				done <- err
			}()
			select {
			case <-waiting:
			case <-time.After(30 * time.Second):
				t.Fatal("Open waited for more than the file header")
			}
			cancel()
			select {
			case err := <-done:
				if !errors.Is(err, context.Canceled) || !strings.HasPrefix(err.Error(), "read stdin: ") {
					t.Errorf("err = %v, want one matching context.Canceled and naming stdin", err)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("the read of a quiet stdin was not interrupted")
			}
		})
	}
}
