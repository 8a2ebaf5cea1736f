package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/ntpwatch/ntpwatch/decode"
	"github.com/ntpwatch/ntpwatch/decode/flow"
	"github.com/ntpwatch/ntpwatch/detect"
	"github.com/ntpwatch/ntpwatch/internal/testutil/testsrc"
)

// BenchmarkReadFile is `ntpwatch read FILE > /dev/null` in process, on the capture named by
// NTPWATCH_BENCH_PCAP (ntpgen bench-pcaps writes build/bench/mixed.pcap and the attack
// captures, attack-10k.pcap to attack-4m.pcap).
// It is the one to profile the end-to-end path with:
//
//	NTPWATCH_BENCH_PCAP=$PWD/build/bench/attack-4m.pcap go test -run '^$' -bench ReadFile \
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

// BenchmarkFlowSamples measures sampled packet headers through decode and detection on one
// goroutine: pmacct's sFlow of the dense reflection and scan at 1:100 (testdata/flows),
// replayed with time moving on, read from the capture of its datagrams, decoded by goflow2
// and the decoder, and accounted by the engine. The budget is 500,000 samples a second on a
// core (go test -run '^$' -bench FlowSamples -cpu 1 ./cmd/ntpwatch).
func BenchmarkFlowSamples(b *testing.B) {
	var frames []decode.Frame
	for _, name := range []string{"reflection-100", "scan-100"} {
		frames = append(frames, testsrc.Load(b, filepath.Join("testdata", "flows", name+".pcap.gz")).Frames...)
	}
	// One pass of the datagrams, to count the samples a replay of them carries.
	count := func(src decode.PacketSource, eng *detect.Engine, n int) (samples int) {
		d := decode.NewDecoder(nil)
		var p decode.Packet
		for range n {
			if _, err := src.NextPacket(d, &p); err != nil {
				b.Fatal(err)
			}
			if eng != nil {
				eng.Observe(&p)
			}
			samples += int(p.Samples)
		}
		return samples
	}
	perPass := 0
	{
		src := flow.NewCollector(flow.Config{}).Capture(&testsrc.Memory{Frames: frames}, flow.DefaultPorts())
		for {
			var p decode.Packet
			if _, err := src.NextPacket(decode.NewDecoder(nil), &p); err != nil {
				break
			}
			perPass++
		}
	}
	b.ReportAllocs()
	var samples int
	cpu := cpuTime()
	for b.Loop() {
		src := flow.NewCollector(flow.Config{}).Capture(&testsrc.Memory{Frames: frames, Repeat: true, N: 1 << 40}, flow.DefaultPorts())
		eng := detect.NewEngine(detect.DefaultConfig(), func(*detect.Alert) {})
		samples += count(src, eng, 20*perPass)
	}
	// On a machine others load, the wall clock counts their time too: the process's own
	// CPU time (the collector's included) says what a core does.
	b.ReportMetric(float64(samples)/b.Elapsed().Seconds(), "samples/s")
	b.ReportMetric(float64(samples)/(cpuTime()-cpu).Seconds(), "samples/cpu-s")
}

// cpuTime is the CPU time the process has used, user and system, every thread's.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
