// Package pipeline is the one run loop of ntpwatch: sources -> decoders -> detection engine ->
// outputs, whatever the input. Every source (a capture file, a merge of several, each socket
// of a live fanout group, a sampled-flow collector) is read by its own goroutine with its own
// decoder, which hands batches of decoded packets to the analysis goroutine, the one owner of
// the engine, the NTP log and the alert emission. What differs between inputs is the flush
// policy (Flush), not the loop. Run owns the whole shutdown: it stops the readers, ends the
// incidents, drains the outputs within a deadline and closes the NTP log.
//
// Threading: Run is called once. Snapshot and Frames may be called from any goroutine while it
// runs, for metrics and the progress bar.
package pipeline

import (
	"context"
	"errors"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ntpwatch/ntpwatch/decode"
	"github.com/ntpwatch/ntpwatch/decode/flow"
	"github.com/ntpwatch/ntpwatch/decode/proto"
	"github.com/ntpwatch/ntpwatch/detect"
	"github.com/ntpwatch/ntpwatch/sinks"
)

// Flush says when a reader hands a partly filled batch to the analysis goroutine; a full one
// always goes at once.
type Flush struct {
	// Age is the packet time after the batch's first packet past which it goes: a slow
	// trickle of packets must not wait for a batch to fill. 0 waits for full batches.
	Age time.Duration
	// Live marks sources that report a quiet link (decode.ErrTimeout): the reader then hands
	// over what it holds, and the analysis goroutine moves the engine's clock on by the wall
	// time since the latest packet, so that incidents update and end on a quiet link.
	Live bool
}

// Flush policies of the inputs.
var (
	// FileFlush reads as fast as the file allows: batches go when full, and the engine's
	// clock is the packets'.
	FileFlush = Flush{}
	// LiveFlush keeps an alert within its 1 s budget on any link: a batch goes after 10 ms of
	// packet time, and on a quiet link at the source's timeout.
	LiveFlush = Flush{Age: 10 * time.Millisecond, Live: true}
)

const (
	// batchSize packets go from a reader to the analysis goroutine at once: large enough
	// that the channel hand-off costs little per packet, small enough to stay in cache.
	batchSize = 256
	// batchesPerReader bounds the memory between a reader and the analysis goroutine.
	batchesPerReader = 8
	// tick is how often the analysis goroutine of a live run looks at the wall clock, and a
	// live reader publishes its counters.
	tick = 250 * time.Millisecond
	// publishEvery is how many frames a reader decodes between two publications of its
	// counters (and checks of its context): rare enough to cost nothing per frame.
	publishEvery = 1 << 16
	// framesEvery is how many frames pass between two stores of the counter the progress bar
	// reads: an atomic store per frame would cost more than the bar is worth.
	framesEvery = 1 << 10
	// CloseTimeout bounds how long the end of a run waits for the outputs to deliver what
	// they hold; Kafka then spools the rest. It keeps a stop within 5 s.
	CloseTimeout = 4 * time.Second
)

// Config is what a run is made of.
type Config struct {
	// Sources are read concurrently, each by its own goroutine and decoder. Run closes them.
	Sources []decode.Source
	// PacketSources are read alongside, the same way: sources of observations rather than
	// frames (sampled-flow collectors), which decode their frames with their reader's
	// decoder.
	PacketSources []decode.PacketSource
	// Flows, when set, reports the account of a sampled-flow run's collector, for Snapshot
	// and Result.
	Flows func() flow.Stats
	// Table is the protocol table of the decoders; proto.Default when nil.
	Table *proto.Table
	Flush Flush
	// Detect configures the engine.
	Detect detect.Config
	// Outputs receive the alerts; Run closes them.
	Outputs *sinks.Output
	// Evidence, when set, publishes the engine's evidence for the fleet (docs/fleet.md);
	// Run closes it.
	Evidence *sinks.EvidencePublisher
	// NTPLog, when set, receives one JSON line per NTP message (decode.AppendNTPLog).
	NTPLog *AuxWriter
	// Warn receives the readers' warnings (a file cut short); nil drops them.
	Warn func(error)
}

// Pipeline is one run. See the package comment.
type Pipeline struct {
	cfg     Config
	eng     *detect.Engine
	readers []*reader
	full    chan *batch
	merge   merge
	waiting atomic.Int32 // batches the merge holds, for Snapshot

	frames  atomic.Uint64 // frames read, stored every framesEvery frames by the readers
	running atomic.Int32  // readers still reading
	alerts  alertCounts

	mu       sync.Mutex // guards the snapshot of the engine's counters
	counters detect.Counters
	last     time.Time // packet time of the latest batch analysed
}

// New prepares a run of cfg.
func New(cfg Config) *Pipeline {
	if cfg.Table == nil {
		cfg.Table = proto.Default
	}
	n := len(cfg.Sources) + len(cfg.PacketSources)
	p := &Pipeline{cfg: cfg, full: make(chan *batch, batchesPerReader*n)}
	p.alerts.n = make([][3]atomic.Uint64, len(detect.Kinds()))
	p.eng = detect.NewEngine(cfg.Detect, p.emit)
	if cfg.Evidence != nil {
		p.eng.PublishEvidence(cfg.Evidence.Send)
	}
	p.merge = merge{live: cfg.Flush.Live, feed: p.feed, advance: p.eng.Advance, tail: math.MinInt64}
	add := func(r *reader) {
		r.p, r.idx, r.dec, r.free = p, len(p.readers), decode.NewDecoder(cfg.Table), make(chan *batch, batchesPerReader)
		for range batchesPerReader {
			r.free <- new(batch)
		}
		p.readers = append(p.readers, r)
		p.merge.streams = append(p.merge.streams, stream{free: r.free})
	}
	for _, src := range cfg.Sources {
		add(&reader{in: src, src: src})
	}
	for _, src := range cfg.PacketSources {
		add(&reader{in: src, psrc: src})
	}
	p.counters = p.eng.Counters()
	return p
}

// Result is the account of a finished run.
type Result struct {
	Decode  decode.Stats
	Capture decode.CaptureStats
	Engine  detect.Report
	Outputs sinks.Report
	// First and Last are the packet times of the run's first and last frame; Seen is false
	// when no frame was read.
	First, Last time.Time
	Seen        bool
	// Alerts counts the alert events emitted.
	Alerts uint64
	// Interrupted is set when ctx ended the run before its sources did.
	Interrupted bool
	// FragmentCap is the capacity of the decoders' fragment tables together.
	FragmentCap int
	// Flows is the account of a sampled-flow run's collector; nil for other runs.
	Flows *flow.Stats
	// Evidence is what was published for the fleet; nil without --evidence-topic.
	Evidence *sinks.EvidenceReport
}

// Run reads every source to its end, or until ctx ends, analysing as it goes; then it ends
// the open incidents, drains the outputs (within closeTimeout, even though ctx ended) and
// closes the NTP log. The error joins what failed: a source (other than a truncation, which
// is a warning), an alert neither delivered nor spooled, the NTP log.
func (p *Pipeline) Run(ctx context.Context) (Result, error) {
	readCtx, stopReaders := context.WithCancel(ctx)
	defer stopReaders()
	var wg sync.WaitGroup
	errs := make([]error, len(p.readers))
	p.running.Store(int32(len(p.readers)))
	for i := range p.merge.streams {
		p.merge.streams[i].wall = time.Now() // a live reader has holdMax to hand over its first batch
	}
	for i, r := range p.readers {
		wg.Go(func() {
			defer p.running.Add(-1)
			errs[i] = r.run(readCtx)
		})
	}
	go func() {
		wg.Wait()
		close(p.full)
	}()
	p.analyse()

	res := Result{Interrupted: ctx.Err() != nil, FragmentCap: decode.DefaultFragmentCap * len(p.readers)}
	for _, r := range p.readers {
		r.mu.Lock()
		res.Decode.Add(r.stats)
		res.Capture.Add(r.capture)
		if r.span.seen {
			first, last := time.Unix(0, r.span.first).UTC(), time.Unix(0, r.span.last).UTC()
			if !res.Seen || first.Before(res.First) {
				res.First = first
			}
			if !res.Seen || last.After(res.Last) {
				res.Last = last
			}
			res.Seen = true
		}
		r.mu.Unlock()
		r.in.Close()
	}
	if p.cfg.Flows != nil {
		fs := p.cfg.Flows()
		res.Flows = &fs
	}
	for i := range errs {
		if errors.Is(errs[i], context.Canceled) && ctx.Err() != nil {
			errs[i] = nil // the stop asked for, not a failure
		}
	}

	p.eng.Close()
	closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), CloseTimeout)
	defer cancel()
	if p.cfg.Evidence != nil {
		// The last window's evidence first: the aggregators wait for it.
		ev := p.cfg.Evidence.Close(closeCtx)
		res.Evidence = &ev
	}
	res.Outputs = p.cfg.Outputs.Close(closeCtx)
	if res.Outputs.Failed() {
		errs = append(errs, errors.New(res.Outputs.String()))
	}
	if p.cfg.NTPLog != nil {
		errs = append(errs, p.cfg.NTPLog.Close())
	}
	res.Engine = p.eng.Report()
	res.Alerts = p.alerts.total()
	return res, errors.Join(errs...)
}

// emit hands one alert event to the outputs. It runs on the analysis goroutine.
func (p *Pipeline) emit(a *detect.Alert) {
	p.alerts.count(a)
	p.cfg.Outputs.Send(a)
}

// analyse is the analysis goroutine (the caller of Run): it merges the readers' batches in
// packet time order (merge.go) into the engine and, in a live run, moves the engine's clock
// on by the wall time since it last moved when the link is quiet and nothing waits in the
// merge, so that detectors stay on packet time while incidents still update and end.
func (p *Pipeline) analyse() {
	var ticks <-chan time.Time
	if p.cfg.Flush.Live {
		t := time.NewTicker(tick)
		defer t.Stop()
		ticks = t.C
	}
	var lastPacket, lastWall time.Time // the engine's clock as the packets moved it, and when
	for {
		select {
		case b, ok := <-p.full:
			if !ok {
				p.merge.run(time.Now())
				p.publish(p.eng.Now())
				return
			}
			now := time.Now()
			p.merge.add(b, now)
			p.merge.run(now)
			if c := p.eng.Now(); c.After(lastPacket) {
				lastPacket, lastWall = c, now
			}
			p.publish(lastPacket)
		case now := <-ticks:
			p.merge.run(now) // a reader may have gone quiet: what waited for it goes
			if c := p.eng.Now(); c.After(lastPacket) {
				lastPacket, lastWall = c, now
			} else if p.merge.held == 0 && !lastPacket.IsZero() && now.Sub(lastWall) >= tick {
				p.eng.Advance(lastPacket.Add(now.Sub(lastWall)))
			}
			p.publish(lastPacket)
		}
	}
}

// feed hands packet i of b to the NTP log and the engine.
func (p *Pipeline) feed(b *batch, i int) {
	pkt := &b.pkts[i]
	if p.cfg.NTPLog != nil && pkt.Kind == decode.KindMessage && pkt.NTP.Mode != 0 {
		p.cfg.NTPLog.WriteNTP(pkt)
	}
	p.eng.Observe(pkt)
}

// publish stores the engine's counters for Snapshot. Counters costs nothing, so it is taken
// after every batch.
func (p *Pipeline) publish(lastPacket time.Time) {
	c := p.eng.Counters()
	p.waiting.Store(int32(p.merge.held))
	p.mu.Lock()
	p.counters, p.last = c, lastPacket
	p.mu.Unlock()
}

// Snapshot is the state of a run for the metrics, taken from any goroutine.
type Snapshot struct {
	Decode  decode.Stats
	Capture decode.CaptureStats
	Engine  detect.Counters
	Alerts  [][3]uint64 // events by kind (detect.Kinds order) and state (start, update, end)
	Outputs sinks.Stats
	// LastPacket is the engine's clock, the time of the latest packet analysed; zero before
	// the first.
	LastPacket time.Time
	// Queue and QueueCap are the batches waiting for the engine (in the channel and in the
	// merge of several readers) and the room for them.
	Queue, QueueCap int
	// Readers and Running are the sources and the ones still being read.
	Readers, Running int
	// FragmentCap is the capacity of the decoders' fragment tables together.
	FragmentCap int
	// Flows is the account of a sampled-flow run's collector; nil for other runs.
	Flows *flow.Stats
}

// Snapshot returns the run's counters as the goroutines last published them.
func (p *Pipeline) Snapshot() Snapshot {
	s := Snapshot{Queue: len(p.full) + int(p.waiting.Load()), QueueCap: cap(p.full), Readers: len(p.readers),
		Running: int(p.running.Load()), FragmentCap: decode.DefaultFragmentCap * len(p.readers)}
	for _, r := range p.readers {
		r.mu.Lock()
		s.Decode.Add(r.stats)
		s.Capture.Add(r.capture)
		r.mu.Unlock()
	}
	p.mu.Lock()
	s.Engine, s.LastPacket = p.counters, p.last
	p.mu.Unlock()
	s.Alerts = p.alerts.snapshot()
	s.Outputs = p.cfg.Outputs.Stats()
	if p.cfg.Flows != nil {
		fs := p.cfg.Flows()
		s.Flows = &fs
	}
	return s
}

// Frames is the count of frames read so far, updated every thousand frames or so.
func (p *Pipeline) Frames() uint64 { return p.frames.Load() }

// Readers is the number of sources being read, and Running those not finished.
func (p *Pipeline) Readers() (readers, running int) {
	return len(p.readers), int(p.running.Load())
}

// alertCounts counts alert events by kind and state; the analysis goroutine writes, any
// goroutine reads.
type alertCounts struct {
	n [][3]atomic.Uint64
	t atomic.Uint64
}

var states = [3]detect.State{detect.StateStart, detect.StateUpdate, detect.StateEnd}

func (c *alertCounts) count(a *detect.Alert) {
	c.t.Add(1)
	for k, kind := range detect.Kinds() {
		for s, state := range states {
			if a.Kind == kind && a.State == state {
				c.n[k][s].Add(1)
			}
		}
	}
}

func (c *alertCounts) total() uint64 { return c.t.Load() }

func (c *alertCounts) snapshot() [][3]uint64 {
	out := make([][3]uint64, len(detect.Kinds()))
	for k := range out {
		for s := range out[k] {
			out[k][s] = c.n[k][s].Load()
		}
	}
	return out
}
