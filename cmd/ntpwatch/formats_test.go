package main

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
	"github.com/ntpwatch/ntpwatch/internal/testutil"
)

// rewrite copies the classic pcap src into a new capture written by write, keeping at most
// snaplen bytes of each frame (0 keeps all) and its wire length.
func rewrite(t *testing.T, src, dst string, snaplen int, write func(w io.Writer) (func(gopacket.CaptureInfo, []byte) error, func() error)) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	r, err := pcapgo.NewReader(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	put, finish := write(out)
	for {
		data, ci, err := r.ReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if snaplen > 0 && len(data) > snaplen {
			data = data[:snaplen]
			ci.CaptureLength = snaplen
		}
		if err := put(ci, data); err != nil {
			t.Fatal(err)
		}
	}
	if err := finish(); err != nil {
		t.Fatal(err)
	}
}

func classic(snaplen uint32, nanos bool) func(w io.Writer) (func(gopacket.CaptureInfo, []byte) error, func() error) {
	return func(w io.Writer) (func(gopacket.CaptureInfo, []byte) error, func() error) {
		pw := pcapgo.NewWriter(w)
		if nanos {
			pw = pcapgo.NewWriterNanos(w)
		}
		pw.WriteFileHeader(snaplen, layers.LinkTypeEthernet)
		return pw.WritePacket, func() error { return nil }
	}
}

func gzipped(inner func(w io.Writer) (func(gopacket.CaptureInfo, []byte) error, func() error)) func(w io.Writer) (func(gopacket.CaptureInfo, []byte) error, func() error) {
	return func(w io.Writer) (func(gopacket.CaptureInfo, []byte) error, func() error) {
		gz := gzip.NewWriter(w)
		put, finish := inner(gz)
		return put, func() error {
			if err := finish(); err != nil {
				return err
			}
			return gz.Close()
		}
	}
}

func pcapng(w io.Writer) (func(gopacket.CaptureInfo, []byte) error, func() error) {
	nw, err := pcapgo.NewNgWriter(w, layers.LinkTypeEthernet)
	if err != nil {
		panic(err)
	}
	return nw.WritePacket, nw.Flush
}

// TestSameAlertsEveryFormat checks that the reflection sample gives byte-identical alerts
// (but for the source name) whatever form the capture takes: cut to a 64-byte snaplen,
// nanosecond pcap, pcapng, gzip-compressed, and read from stdin.
func TestSameAlertsEveryFormat(t *testing.T) {
	repoRoot(t)
	const sample = "pcaps/reflection.pcap"
	want, stderr, code := readAlerts(t, sample)
	if code != exitOK || len(want) == 0 {
		t.Fatalf("plain pcap: exit %d, %d bytes of alerts, stderr %s", code, len(want), stderr)
	}
	dir := t.TempDir()
	variants := []struct {
		name    string
		snaplen int
		write   func(w io.Writer) (func(gopacket.CaptureInfo, []byte) error, func() error)
	}{
		{"snap64.pcap", 64, classic(64, false)},
		{"nanos.pcap", 0, classic(65535, true)},
		{"capture.pcapng", 0, pcapng},
		{"snap64.pcapng", 64, pcapng},
		{"capture.pcap.gz", 0, gzipped(classic(65535, false))},
		{"capture.pcapng.gz", 0, gzipped(pcapng)},
		{"no-extension", 0, gzipped(classic(65535, false))},
	}
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			path := filepath.Join(dir, v.name)
			rewrite(t, sample, path, v.snaplen, v.write)
			got, stderr, code := readAlerts(t, path)
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			got = bytes.ReplaceAll(got, []byte(`"source":"`+path+`"`), []byte(`"source":"`+sample+`"`))
			if !bytes.Equal(got, want) {
				t.Errorf("alerts differ from the plain pcap's:\n%s", diffLines(string(got), string(want)))
			}
		})
	}
	t.Run("stdin", func(t *testing.T) {
		testutil.Stdin(t, sample)
		got, stderr, code := readAlerts(t, "-")
		if code != exitOK {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		got = bytes.ReplaceAll(got, []byte(`"source":"-"`), []byte(`"source":"`+sample+`"`))
		if !bytes.Equal(got, want) {
			t.Errorf("alerts differ from the plain pcap's:\n%s", diffLines(string(got), string(want)))
		}
	})
}

// diffLines shows the first line where got and want part.
func diffLines(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; i < len(g) || i < len(w); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return "line " + strconv.Itoa(i+1) + ":\n got: " + gl + "\nwant: " + wl
		}
	}
	return "(same lines)"
}
