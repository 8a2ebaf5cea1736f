package pipeline

import (
	"context"
	"io"
	"path/filepath"
	"testing"

	"github.com/ntpwatch/ntpwatch/decode"
	"github.com/ntpwatch/ntpwatch/detect"
	"github.com/ntpwatch/ntpwatch/internal/testutil"
	"github.com/ntpwatch/ntpwatch/internal/testutil/testsrc"
	"github.com/ntpwatch/ntpwatch/sinks"
)

// BenchmarkPipeline runs the whole pipeline, reader and analysis goroutines, decoder, engine
// and a JSON sink writing to io.Discard, on the sample captures replayed from memory: the
// cost per frame without file reading.
func BenchmarkPipeline(b *testing.B) {
	for _, name := range []string{"reflection", "benign", "victim_flood", "scan"} {
		b.Run(name, func(b *testing.B) {
			src := testsrc.Load(b, filepath.Join(testutil.RepoRoot(), "pcaps", name+".pcap"))
			src.Repeat, src.N = true, b.N
			ctx := context.Background()
			out, err := sinks.Open(ctx, sinks.Config{}, io.Discard)
			if err != nil {
				b.Fatal(err)
			}
			cfg := detect.DefaultConfig()
			cfg.Sensor = "bench"
			p := New(Config{Sources: []decode.Source{src}, Flush: FileFlush, Detect: cfg, Outputs: out})
			b.ReportAllocs()
			b.ResetTimer()
			if _, err := p.Run(ctx); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
		})
	}
}
