package main

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/ntpwatch/ntpwatch/decode"
)

// memSource replays frames held in memory, shifting their timestamps by the span of the
// recording at every pass so that packet time keeps moving forward, as in a long capture.
type memSource struct {
	frames [][]byte
	cis    []gopacket.CaptureInfo
	link   layers.LinkType
	span   time.Duration
	n      int // frames left to return
	i      int
	shift  time.Duration
}

func (m *memSource) Next() ([]byte, gopacket.CaptureInfo, layers.LinkType, error) {
	if m.n == 0 {
		return nil, gopacket.CaptureInfo{}, 0, io.EOF
	}
	m.n--
	if m.i == len(m.frames) {
		m.i, m.shift = 0, m.shift+m.span
	}
	ci := m.cis[m.i]
	ci.Timestamp = ci.Timestamp.Add(m.shift)
	data := m.frames[m.i]
	m.i++
	return data, ci, m.link, nil
}

func (m *memSource) Name() string { return "memory" }
func (m *memSource) Close() error { return nil }

// loadFrames reads every frame of a capture into memory.
func loadFrames(b *testing.B, path string) *memSource {
	b.Helper()
	src, err := decode.Open(path)
	if err != nil {
		b.Skipf("%v (make pcaps writes the samples)", err)
	}
	defer src.Close()
	m := &memSource{}
	for {
		data, ci, link, err := src.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			b.Fatal(err)
		}
		m.frames = append(m.frames, append([]byte(nil), data...))
		m.cis = append(m.cis, ci)
		m.link = link
	}
	if len(m.frames) == 0 {
		b.Skipf("%s has no frames", path)
	}
	m.span = m.cis[len(m.cis)-1].Timestamp.Sub(m.cis[0].Timestamp) + time.Second
	return m
}

// BenchmarkPipeline runs the whole read pipeline, reader and analysis goroutines, decoder,
// engine and a JSON sink writing to io.Discard, on the sample captures replayed from memory:
// the cost per frame without file reading.
func BenchmarkPipeline(b *testing.B) {
	for _, name := range []string{"reflection", "benign", "victim_flood", "scan"} {
		b.Run(name, func(b *testing.B) {
			src := loadFrames(b, filepath.Join("..", "..", "pcaps", name+".pcap"))
			cfg, _, err := parseConfig("read", readUsage, []string{"--sensor", "bench"}, io.Discard)
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			p, err := newPipeline(ctx, cfg, env{stdout: io.Discard, stderr: io.Discard})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			src.n = b.N
			b.ResetTimer()
			if err := p.run(ctx, []decode.Source{src}); err != nil {
				b.Fatal(err)
			}
			if err := p.close(ctx); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
		})
	}
}

// BenchmarkReadFile is `ntpwatch read FILE > /dev/null` in process, on the capture named by
// NTPWATCH_BENCH_PCAP (ntpgen bench-pcaps writes build/bench/mixed.pcap and attack.pcap).
// It is the one to profile the end-to-end path with:
//
//	NTPWATCH_BENCH_PCAP=$PWD/build/bench/attack.pcap go test -run '^$' -bench ReadFile \
//	  -benchtime 1x -cpuprofile cpu.prof ./cmd/ntpwatch && go tool pprof -top cpu.prof
func BenchmarkReadFile(b *testing.B) {
	path := os.Getenv("NTPWATCH_BENCH_PCAP")
	if path == "" {
		b.Skip("NTPWATCH_BENCH_PCAP names no capture")
	}
	b.ReportAllocs()
	for b.Loop() {
		if code := run(context.Background(), []string{"read", "--sensor", "bench", path}, nil, io.Discard, io.Discard); code != exitOK {
			b.Fatalf("exit status %d", code)
		}
	}
}
