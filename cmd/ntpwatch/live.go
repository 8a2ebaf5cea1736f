package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/ntpwatch/ntpwatch/decode"
	"github.com/ntpwatch/ntpwatch/internal/config"
	"github.com/ntpwatch/ntpwatch/internal/pipeline"
	"github.com/ntpwatch/ntpwatch/sinks/report"
)

// liveFlags adds the flags of the live command.
func liveFlags(fs *flag.FlagSet, cfg *config.Config) {
	o := &cfg.Live
	fs.StringVar(&o.Interface, "i", o.Interface, "capture on interface `IFACE` (required); any for every interface (pcap engine)")
	fs.StringVar(&o.Engine, "engine", o.Engine, "capture `engine`: pcap (libpcap) or afpacket (Linux TPACKET_V3 with fanout)")
	fs.StringVar(&o.BPF, "bpf", o.BPF, "capture filter `expression` (pcap-filter(7)); by default NTP, its fragments and the tunnels ntpwatch reads (docs/live.md)")
	fs.IntVar(&o.Snaplen, "snaplen", o.Snaplen, "`bytes` captured per frame; byte counts never depend on it")
	fs.BoolVar(&o.Promisc, "promisc", o.Promisc, "put the interface in promiscuous mode (a SPAN port or tap needs it)")
	fs.IntVar(&o.Workers, "workers", o.Workers, "afpacket: `sockets` in the fanout group, each decoded on its own goroutine (0: one per core but one, at least 2)")
	fs.IntVar(&o.BufferMiB, "buffer-mb", o.BufferMiB, "kernel capture ring in `MiB`, shared by the workers")
	fs.StringVar(&o.MetricsListen, "metrics-listen", o.MetricsListen, "serve Prometheus metrics on /metrics and /healthz at `ADDR` (host:port)")
}

func runLive(ctx context.Context, e env) error {
	cfg, p, err := parseConfig("live", liveUsage, e.args, e.stderr, packetFlags, liveFlags)
	if err != nil {
		return err
	}
	o := &cfg.Live
	if len(p.pos) > 0 {
		return usagef("unexpected argument %q (a capture filter goes after --); 'ntpwatch live -h' for help", p.pos[0])
	}
	filter, err := filterWords(p)
	if err != nil {
		return err
	}
	if filter != "" {
		o.BPF = filter
	}
	if o.Interface == "" {
		return usagef("-i IFACE is required ('ip link' lists the interfaces)")
	}
	if o.BufferMiB < 1 || o.BufferMiB > 4096 {
		return usagef("--buffer-mb %d: must be between 1 and 4096", o.BufferMiB)
	}
	ln, err := listenMetrics(o.MetricsListen)
	if err != nil {
		return err
	}
	lc := o.Capture()
	if err := lc.Validate(); err != nil {
		closeListener(ln)
		return usageError{err}
	}
	live, err := decode.OpenLive(lc)
	if err != nil {
		closeListener(ln)
		return usageError{err}
	}
	srcs := make([]decode.Source, len(live))
	for i, s := range live {
		srcs[i] = s
	}
	cfg.Detect.Source = o.Interface
	a, err := startAnalysis(ctx, cfg, e, srcs, pipeline.LiveFlush, stderrWarn(e))
	if err != nil {
		closeListener(ln)
		return err
	}
	say := sayer(cfg, e)
	defer a.serveMetrics(ln, "live", say)()
	shown := fmt.Sprintf("%q", lc.BPF)
	if lc.BPF == "" {
		shown = "the default (docs/live.md)"
	}
	say("ntpwatch live: capturing on %s with %s (%d worker(s)), filter %s\n", o.Interface, lc.Engine, len(srcs), shown)
	started := time.Now()
	res, err := a.run(ctx)
	// AF_PACKET counts no drops of the interface's own: only libpcap has that counter.
	ifDrops := ""
	if lc.Engine == decode.EnginePcap {
		ifDrops = fmt.Sprintf(", %d dropped by the interface", res.Capture.IfDropped)
	}
	say("ntpwatch: %s, %s, %s in %.2fs; kernel: %d received, %d dropped%s\n",
		report.Count(res.Decode.Frames, "frame"), report.Count(res.Decode.Messages, "message"), report.Count(res.Alerts, "alert"),
		time.Since(started).Seconds(), res.Capture.Received, res.Capture.Dropped, ifDrops)
	return err
}

// liveFlagOf names the flag of each decode.LiveConfig key, for its errors.
var liveFlagOf = map[string]string{"engine": "--engine", "workers": "--workers", "snaplen": "--snaplen",
	"bpf": "--bpf", "buffer_size": "--buffer-mb"}
