package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ntpwatch/ntpwatch/decode"
	"github.com/ntpwatch/ntpwatch/detect"
)

const liveUsage = `usage: ntpwatch live -i IFACE [flags]

Captures NTP on a network interface (a tap or SPAN port on a border link) until SIGINT or
SIGTERM, writes alerts as attacks cross their thresholds, and at the end closes every open
incident with an end event. SIGHUP reopens the --out file after a log rotation.

examples:
  ntpwatch live -i eth1 --promisc --home-net 198.51.100.0/24
  ntpwatch live -i eth1 --engine afpacket --workers 4 --metrics-listen 127.0.0.1:9123
  ntpwatch live -i eth1 --sink file --out /var/log/ntpwatch/alerts.jsonl

flags:
`

const (
	// liveTick is how often the analysis goroutine looks at the wall clock: on a quiet link
	// it moves the engine's clock on, so that updates and ends are not held back until the
	// next packet.
	liveTick = 250 * time.Millisecond
	// statsEvery is how often the analysis goroutine publishes the engine's Stats for the
	// metrics: Stats allocates, so it is not taken per scrape on the engine's goroutine.
	statsEvery = time.Second
	// flushAge is the packet time after which a reader hands over a partly filled batch, so
	// that a slow trickle of packets does not wait for a batch to fill.
	flushAge = 10 * time.Millisecond
)

// LiveConfig is the `live:` section of the configuration: the capture of `ntpwatch live`.
// It becomes a decode.LiveConfig; the decode package knows nothing of YAML or flags.
type LiveConfig struct {
	Interface     string `yaml:"interface"`      // -i
	Engine        string `yaml:"engine"`         // --engine: pcap or afpacket
	BPF           string `yaml:"bpf"`            // --bpf
	Snaplen       int    `yaml:"snaplen"`        // --snaplen
	Promisc       bool   `yaml:"promisc"`        // --promisc
	Workers       int    `yaml:"workers"`        // --workers (afpacket); 0: one per core but one, at least 2
	BufferMiB     int    `yaml:"buffer_mb"`      // --buffer-mb: the kernel ring, shared by the workers
	MetricsListen string `yaml:"metrics_listen"` // --metrics-listen
}

// defaultLiveConfig is the live section given no file and no flags.
func defaultLiveConfig() LiveConfig {
	return LiveConfig{Engine: decode.EnginePcap, BPF: decode.DefaultBPF, Snaplen: decode.DefaultSnaplen,
		BufferMiB: decode.DefaultBufferSize >> 20}
}

// liveFlags adds the flags of the live command.
func liveFlags(fs *flag.FlagSet, cfg *Config) {
	o := &cfg.Live
	fs.StringVar(&o.Interface, "i", o.Interface, "capture on interface `IFACE` (required)")
	fs.StringVar(&o.Engine, "engine", o.Engine, "capture `engine`: pcap (libpcap) or afpacket (Linux TPACKET_V3 with fanout)")
	fs.StringVar(&o.BPF, "bpf", o.BPF, "capture filter `expression` (pcap-filter(7))")
	fs.IntVar(&o.Snaplen, "snaplen", o.Snaplen, "`bytes` captured per frame; byte counts never depend on it")
	fs.BoolVar(&o.Promisc, "promisc", o.Promisc, "put the interface in promiscuous mode (a SPAN port or tap needs it)")
	fs.IntVar(&o.Workers, "workers", o.Workers, "afpacket: `sockets` in the fanout group, each decoded on its own goroutine (0: one per core but one, at least 2)")
	fs.IntVar(&o.BufferMiB, "buffer-mb", o.BufferMiB, "kernel capture ring in `MiB`, shared by the workers")
	fs.StringVar(&o.MetricsListen, "metrics-listen", o.MetricsListen, "serve Prometheus metrics on /metrics and /healthz at `ADDR` (host:port)")
}

// decodeConfig is the decode.LiveConfig of o, with the worker default filled in.
func (o *LiveConfig) decodeConfig() decode.LiveConfig {
	c := decode.LiveConfig{Interface: o.Interface, Engine: o.Engine, BPF: o.BPF, Snaplen: o.Snaplen,
		Promisc: o.Promisc, Workers: o.Workers, BufferSize: o.BufferMiB << 20}
	if c.Workers == 0 {
		c.Workers = 1
		if c.Engine == decode.EngineAFPacket {
			c.Workers = min(8, max(2, runtime.NumCPU()-1))
		}
	}
	return c
}

func runLive(ctx context.Context, e env) error {
	cfg, args, err := parseConfig("live", liveUsage, e.args, e.stderr, liveFlags)
	if err != nil {
		return err
	}
	o := &cfg.Live
	if len(args) > 0 {
		return usagef("unexpected argument %q; 'ntpwatch live -h' for help", args[0])
	}
	if o.Interface == "" {
		return usagef("-i IFACE is required ('ip link' lists the interfaces)")
	}
	if o.BufferMiB < 1 || o.BufferMiB > 4096 {
		return usagef("--buffer-mb %d: must be between 1 and 4096", o.BufferMiB)
	}
	var ln net.Listener
	if o.MetricsListen != "" {
		if ln, err = net.Listen("tcp", o.MetricsListen); err != nil {
			return usagef("--metrics-listen: %w", err)
		}
		defer ln.Close()
	}
	lc := o.decodeConfig()
	srcs, err := decode.OpenLive(lc)
	if err != nil {
		return usageError{err}
	}
	cfg.Detect.Source = o.Interface
	p, err := newPipeline(ctx, cfg, e)
	if err != nil {
		for _, s := range srcs {
			s.Close()
		}
		return err
	}
	lv := newLive(p, srcs)
	var stopMetrics func()
	if ln != nil {
		stopMetrics = serveMetrics(ln, lv)
		fmt.Fprintf(e.stderr, "ntpwatch live: metrics on http://%s/metrics\n", ln.Addr())
	}
	fmt.Fprintf(e.stderr, "ntpwatch live: capturing on %s with %s (%d worker(s)), filter %q\n",
		o.Interface, lc.Engine, len(srcs), lc.BPF)

	runErr := lv.run(ctx)

	// The outputs drain even though ctx is cancelled (closeOutputs): the end events of
	// the open incidents must reach them.
	closeErr := p.close(ctx)
	if stopMetrics != nil {
		stopMetrics()
	}
	lv.printSummary(e.stderr)
	return errors.Join(runErr, closeErr)
}

// live is a capture in progress: one reader goroutine per source, each with its own decoder,
// hands batches of decoded packets to the analysis goroutine, the one owner of the detection
// engine. All detection state lives there, so per-host aggregates (victim_flood, scan) see a
// host's traffic whichever fanout socket carried it. The counters the metrics read are
// snapshots the goroutines publish under locks, never the live structures.
type live struct {
	p       *pipeline
	srcs    []decode.LiveSource
	readers []readerSnapshot
	full    chan *batch
	free    chan *batch

	alerts  alertCounts
	running atomic.Int32 // readers still capturing, for /healthz

	mu         sync.Mutex // guards the fields below
	engine     detect.Stats
	lastPacket time.Time // packet time of the latest batch
}

// readerSnapshot is what one reader last published: its decoder's and its socket's counters.
type readerSnapshot struct {
	mu      sync.Mutex
	decode  decode.Stats
	capture decode.CaptureStats
}

func newLive(p *pipeline, srcs []decode.LiveSource) *live {
	n := batchesInFlight * len(srcs)
	lv := &live{
		p: p, srcs: srcs, readers: make([]readerSnapshot, len(srcs)),
		full: make(chan *batch, n), free: make(chan *batch, n),
	}
	for range n {
		lv.free <- new(batch)
	}
	p.onAlert = lv.alerts.count
	return lv
}

// run captures until ctx ends or a source fails, then returns once every batch is analysed.
func (lv *live) run(ctx context.Context) error {
	var wg sync.WaitGroup
	errs := make([]error, len(lv.srcs))
	lv.running.Store(int32(len(lv.srcs)))
	for i, src := range lv.srcs {
		wg.Go(func() {
			defer lv.running.Add(-1)
			defer src.Close()
			errs[i] = lv.read(ctx, src, &lv.readers[i])
		})
	}
	go func() {
		wg.Wait()
		close(lv.full)
	}()
	err := lv.analyse()
	return errors.Join(append(errs, err)...)
}

// read is a reader goroutine: it decodes frames into batch slots and hands a batch over when
// it is full, when flushAge of packet time has passed since its first packet, or when the link
// has been quiet for the source's timeout.
func (lv *live) read(ctx context.Context, src decode.LiveSource, snap *readerSnapshot) error {
	dec := decode.NewDecoder()
	b := <-lv.free
	b.n, b.last = 0, time.Time{}
	var first time.Time
	published := time.Now()
	frames := 0
	hand := func() {
		lv.full <- b
		b = <-lv.free
		b.n, b.last = 0, time.Time{}
	}
	defer func() {
		lv.full <- b
		lv.publishReader(src, dec, snap)
	}()
	for {
		data, ci, link, err := src.Next()
		if err != nil {
			if !errors.Is(err, decode.ErrTimeout) {
				return err
			}
			if b.n > 0 {
				hand()
			}
			if ctx.Err() != nil {
				return nil
			}
			if time.Since(published) >= liveTick {
				lv.publishReader(src, dec, snap)
				published = time.Now()
			}
			continue
		}
		pkt := &b.pkts[b.n]
		kind := dec.Decode(data, ci, link, pkt)
		b.last = pkt.Time
		if frames++; frames&1023 == 0 {
			if ctx.Err() != nil {
				return nil
			}
			if time.Since(published) >= liveTick {
				lv.publishReader(src, dec, snap)
				published = time.Now()
			}
		}
		if kind == decode.KindOther {
			continue
		}
		if b.n == 0 {
			first = pkt.Time
		}
		if b.n++; b.n == batchSize || pkt.Time.Sub(first) >= flushAge {
			hand()
		}
	}
}

// publishReader stores a reader's counters for the metrics and the summary.
func (lv *live) publishReader(src decode.LiveSource, dec *decode.Decoder, snap *readerSnapshot) {
	cs, err := src.CaptureStats()
	snap.mu.Lock()
	snap.decode = dec.Stats()
	if err == nil {
		snap.capture = cs
	}
	snap.mu.Unlock()
}

// analyse is the analysis goroutine: it feeds batches to the engine and, on a quiet link,
// moves the engine's clock to the latest packet time plus the wall time since that packet
// arrived, so that detectors stay on packet time while incidents still update and end.
func (lv *live) analyse() error {
	tick := time.NewTicker(liveTick)
	defer tick.Stop()
	var lastPacket, lastWall, published time.Time
	var err error
	for {
		select {
		case b, ok := <-lv.full:
			if !ok {
				lv.publishEngine(lastPacket)
				return err
			}
			if err == nil {
				err = lv.p.analyse(b)
			}
			if b.last.After(lastPacket) {
				lastPacket, lastWall = b.last, time.Now()
			}
			lv.free <- b
		case now := <-tick.C:
			if !lastPacket.IsZero() && now.Sub(lastWall) >= liveTick {
				lv.p.eng.Advance(lastPacket.Add(now.Sub(lastWall)))
			}
			if now.Sub(published) >= statsEvery {
				lv.publishEngine(lastPacket)
				published = now
			}
		}
	}
}

func (lv *live) publishEngine(lastPacket time.Time) {
	st := lv.p.eng.Stats()
	lv.mu.Lock()
	lv.engine, lv.lastPacket = st, lastPacket
	lv.mu.Unlock()
}

// totals sums the readers' latest counters.
func (lv *live) totals() (decode.Stats, decode.CaptureStats) {
	var ds decode.Stats
	var cs decode.CaptureStats
	for i := range lv.readers {
		r := &lv.readers[i]
		r.mu.Lock()
		ds.Add(r.decode)
		cs.Add(r.capture)
		r.mu.Unlock()
	}
	return ds, cs
}

// printSummary writes the run's account on stderr: frames, NTP messages, alerts and what the
// kernel dropped.
func (lv *live) printSummary(w io.Writer) {
	ds, cs := lv.totals()
	fmt.Fprintf(w, "ntpwatch: %d frames, %d NTP messages, %d alerts in %.2fs; kernel: %d received, %d dropped, %d dropped by the interface\n",
		ds.Frames, ds.NTP, lv.p.alerts, time.Since(lv.p.started).Seconds(), cs.Received, cs.Dropped, cs.IfDropped)
}

// alertKinds and alertStates index alertCounts; they are the label values of the
// ntpwatch_alerts_total metric.
var (
	alertKinds = []detect.Kind{detect.KindExposedAmplifier, detect.KindReflection,
		detect.KindVictimFlood, detect.KindScan, detect.KindSpoofedEgress}
	alertStates = []detect.State{detect.StateStart, detect.StateUpdate, detect.StateEnd}
)

// alertCounts counts alert events by kind and state; the analysis goroutine writes, scrapes
// read.
type alertCounts [5][3]atomic.Uint64

func (c *alertCounts) count(a *detect.Alert) {
	for k, kind := range alertKinds {
		for s, state := range alertStates {
			if a.Kind == kind && a.State == state {
				c[k][s].Add(1)
			}
		}
	}
}
