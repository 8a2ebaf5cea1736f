package decode

import (
	"bufio"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
)

// writeBenchPcap writes n Ethernet frames of sizes cycling through a border link's mix
// (ACKs, full segments, NTP, DNS), gzip-compressed when gz, and returns the file's path.
func writeBenchPcap(b *testing.B, n int, gz bool) string {
	b.Helper()
	path := filepath.Join(b.TempDir(), "bench.pcap")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	bw := bufio.NewWriter(f)
	var w io.Writer = bw
	var zw *gzip.Writer
	if gz {
		zw = gzip.NewWriter(bw)
		w = zw
	}
	pw := pcapgo.NewWriter(w)
	if err := pw.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		b.Fatal(err)
	}
	sizes := []int{60, 1514, 90, 60, 482, 1514, 110, 60, 600, 1250}
	frame := make([]byte, 1514)
	t := time.Unix(1_700_000_000, 0)
	for i := range n {
		size := sizes[i%len(sizes)]
		ci := gopacket.CaptureInfo{Timestamp: t.Add(time.Duration(i) * time.Microsecond), CaptureLength: size, Length: size}
		if err := pw.WritePacket(ci, frame[:size]); err != nil {
			b.Fatal(err)
		}
	}
	if zw != nil {
		zw.Close()
	}
	if err := bw.Flush(); err != nil {
		b.Fatal(err)
	}
	return path
}

// BenchmarkSourceNext measures reading frames from a capture file in the page cache, plain
// and gzip-compressed: the reader goroutine's cost before decoding.
func BenchmarkSourceNext(b *testing.B) {
	for _, gz := range []bool{false, true} {
		name := "plain"
		if gz {
			name = "gzip"
		}
		b.Run(name, func(b *testing.B) {
			const frames = 100_000
			path := writeBenchPcap(b, frames, gz)
			fi, _ := os.Stat(path)
			b.ReportAllocs()
			var src Source
			var fr Frame
			read := 0
			for b.Loop() {
				if src == nil {
					var err error
					if src, err = Open(path); err != nil {
						b.Fatal(err)
					}
				}
				if err := src.Next(&fr); err != nil {
					if !errors.Is(err, io.EOF) {
						b.Fatal(err)
					}
					src.Close()
					src = nil
					continue
				}
				read++
			}
			if src != nil {
				src.Close()
			}
			b.ReportMetric(float64(read)/b.Elapsed().Seconds(), "frames/s")
			b.ReportMetric(float64(read)*float64(fi.Size())/frames/1e6/b.Elapsed().Seconds(), "file-MB/s")
		})
	}
}
