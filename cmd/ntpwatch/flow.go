package main

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/ntpwatch/ntpwatch/decode"
	"github.com/ntpwatch/ntpwatch/decode/flow"
	"github.com/ntpwatch/ntpwatch/internal/config"
	"github.com/ntpwatch/ntpwatch/internal/pipeline"
	"github.com/ntpwatch/ntpwatch/sinks/report"
)

// flowFlags adds the flags of the flow collector, those of read --flows included.
func flowFlags(fs *flag.FlagSet, cfg *config.Config) {
	o := &cfg.Flow
	fs.StringVar(&o.SFlow, "sflow", o.SFlow, "receive sFlow v5 on UDP `ADDR` (host:port; read --flows: the datagrams to its port are sFlow); :6343 when no protocol is given")
	fs.StringVar(&o.IPFIX, "ipfix", o.IPFIX, "receive IPFIX on UDP `ADDR` (read --flows: the datagrams to its port are IPFIX); :4739 when no protocol is given")
	fs.StringVar(&o.NetFlow, "netflow", o.NetFlow, "receive NetFlow v9 on UDP `ADDR` (read --flows: the datagrams to its port are NetFlow); :2055 when no protocol is given")
	fs.Func("default-sampling-rate", "weigh the samples and records of exporters that state no sampling rate by `N` (1 in N; default 1)", func(s string) error {
		var n uint32
		if _, err := fmt.Sscan(s, &n); err != nil || n == 0 || fmt.Sprint(n) != s {
			return fmt.Errorf("want a whole number of at least 1, got %q", s)
		}
		o.DefaultSamplingRate = n
		return nil
	})
}

// flowFlagOf names the flag of each key of the flow section, for its errors.
var flowFlagOf = map[string]string{"flow.sflow": "--sflow", "flow.ipfix": "--ipfix", "flow.netflow": "--netflow",
	"flow.default_sampling_rate": "--default-sampling-rate"}

func runFlow(ctx context.Context, e env) error {
	cfg, p, err := parseConfig("flow", flowUsage, e.args, e.stderr, packetFlags, flowFlags, func(fs *flag.FlagSet, cfg *config.Config) {
		fs.StringVar(&cfg.Flow.MetricsListen, "metrics-listen", cfg.Flow.MetricsListen, "serve Prometheus metrics on /metrics and /healthz at `ADDR` (host:port)")
	})
	if err != nil {
		return err
	}
	if len(p.pos) > 0 || len(p.rest) > 0 {
		return usagef("unexpected argument %q; 'ntpwatch flow -h' for help", append(p.pos, p.rest...)[0])
	}
	o := &cfg.Flow
	ln, err := listenMetrics(o.MetricsListen)
	if err != nil {
		return err
	}
	col := flow.NewCollector(o.Collector())
	var srcs []decode.PacketSource
	var names []string
	for _, l := range o.Listeners() {
		src, err := col.Listen(l.Protocol, l.Addr)
		if err != nil {
			for _, s := range srcs {
				s.Close()
			}
			closeListener(ln)
			return usagef("--%s: %w", l.Protocol, err)
		}
		srcs = append(srcs, src)
		names = append(names, src.Name())
	}
	cfg.Detect.Source = strings.Join(names, ",")
	a, err := startPipeline(ctx, cfg, e, pipeline.Config{PacketSources: srcs, Flush: pipeline.LiveFlush, Warn: stderrWarn(e),
		Flows: col.Stats})
	if err != nil {
		closeListener(ln)
		return err
	}
	say := sayer(cfg, e)
	defer a.serveMetrics(ln, "flow", say)()
	say("ntpwatch flow: receiving %s\n", strings.Join(names, ", "))
	started := time.Now()
	res, err := a.run(ctx)
	fs := col.Stats()
	say("ntpwatch: %s, %s, %s in %.2fs\n", report.Count(res.Decode.Frames, "sample"), report.Count(res.Decode.Records, "flow record"),
		report.Count(res.Alerts, "alert"), time.Since(started).Seconds())
	if !cfg.Quiet {
		report.WriteExporters(e.stderr, &fs)
	}
	return err
}
