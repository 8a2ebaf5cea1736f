package main

import (
	"context"
	"io"
	"os"
	"testing"
)

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
