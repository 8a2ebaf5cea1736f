package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/ntpwatch/ntpwatch/decode"
	"github.com/ntpwatch/ntpwatch/detect"
	"github.com/ntpwatch/ntpwatch/sinks"
)

// pipeline carries frames from sources through the decoder and the detection engine to the
// outputs, on two goroutines so that reading and analysis overlap on two cores: a reader
// reads and decodes frames into batches, the analysis goroutine (the caller's) feeds them to
// the engine. Batches are recycled, so the steady state allocates nothing.
type pipeline struct {
	dec    *decode.Decoder // the reader's
	eng    *detect.Engine  // the analysis goroutine's
	out    *sinks.Output
	stderr io.Writer

	ntpLog    *bufio.Writer
	ntpLogF   *os.File
	ntpLogBuf []byte

	alerts  uint64
	started time.Time
	view    runView // what the analyst sees: progress, summary, report
	// warn, when set, takes the warnings of the reader (a file cut short), so that they
	// do not break into a progress bar; else they go to stderr.
	warn   func(error)
	report sinks.Report // the outputs' account, set by close

	// onAlert, when set, sees every alert event on the analysis goroutine (live metrics).
	onAlert func(*detect.Alert)
}

const (
	// batchSize packets go from the reader to the analysis goroutine at once: large enough
	// that the channel hand-off costs little per packet, small enough to stay in cache.
	batchSize = 256
	// batchesInFlight bounds the memory between the two goroutines.
	batchesInFlight = 8
)

// batch is a run of decoded packets of interest (NTP, malformed port-123 datagrams and
// their fragments). Frames of other traffic are decoded and counted by the reader but not
// handed over; last carries the time of the latest frame of any kind, the clock.
type batch struct {
	pkts [batchSize]decode.Packet
	n    int
	last time.Time
}

func newPipeline(ctx context.Context, cfg *Config, e env) (*pipeline, error) {
	out, err := openOutputs(ctx, cfg.Output, e)
	if err != nil {
		return nil, err
	}
	p := &pipeline{dec: decode.NewDecoder(), out: out, stderr: e.stderr, started: clock()}
	cfg.Detect.Sensor = cfg.Sensor
	p.eng = detect.NewEngine(cfg.Detect, p.emit)
	if cfg.NTPLog != "" {
		f, err := os.OpenFile(cfg.NTPLog, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
		if err != nil {
			closeOutputs(ctx, out, e.stderr)
			return nil, usagef("--ntp-log: %w", err)
		}
		p.ntpLogF, p.ntpLog = f, bufio.NewWriterSize(f, 1<<16)
	}
	return p, nil
}

func (p *pipeline) emit(a *detect.Alert) {
	p.alerts++
	p.view.alert(a)
	if p.onAlert != nil {
		p.onAlert(a)
	}
	p.out.Send(a)
}

// run analyses every frame of every source, in order. A source cut short in a record is a
// warning, not an error: everything before the cut has been analysed.
func (p *pipeline) run(ctx context.Context, sources []decode.Source) error {
	full := make(chan *batch, batchesInFlight)
	free := make(chan *batch, batchesInFlight)
	for range batchesInFlight {
		free <- new(batch)
	}
	var readErr error
	go func() {
		defer close(full)
		readErr = p.read(ctx, sources, full, free)
	}()
	var err error
	for b := range full {
		if err == nil {
			err = p.analyse(b)
		}
		free <- b
	}
	return errors.Join(readErr, err)
}

// read is the reader goroutine: it decodes frames straight into batch slots and sends each
// full batch, and the last partial one, to the analysis goroutine.
func (p *pipeline) read(ctx context.Context, sources []decode.Source, full chan<- *batch, free <-chan *batch) error {
	b := <-free
	b.n = 0
	frames := 0
	var span timeSpan // local, not captured by a closure: it must stay off the heap
	for _, src := range sources {
		for {
			data, ci, link, err := src.Next()
			if err != nil {
				if errors.Is(err, io.EOF) {
					break
				}
				if errors.Is(err, decode.ErrTruncated) {
					p.warnf(err)
					break
				}
				full <- b
				p.view.span = span
				return err
			}
			// Look at ctx on the first frame and every 65,536 after: cheap, and prompt.
			if frames++; frames&0xffff == 1 && ctx.Err() != nil {
				full <- b
				p.view.span = span
				return ctx.Err()
			}
			pkt := &b.pkts[b.n]
			kind := p.dec.Decode(data, ci, link, pkt)
			if frames%progressEvery == 0 {
				p.view.published.Store(uint64(frames))
			}
			span.add(pkt.Time.UnixNano())
			b.last = pkt.Time
			if kind == decode.KindOther {
				continue // counted by the decoder; nothing for the engine but the clock
			}
			if b.n++; b.n == batchSize {
				full <- b
				b = <-free
				b.n = 0
			}
		}
	}
	full <- b
	p.view.span = span
	return nil
}

// warnf reports a warning of the reader.
func (p *pipeline) warnf(err error) {
	if p.warn != nil {
		p.warn(err)
		return
	}
	fmt.Fprintf(p.stderr, "ntpwatch: warning: %v\n", err)
}

// analyse feeds one batch to the engine (and the NTP log), then moves the engine's clock to
// the batch's latest frame.
func (p *pipeline) analyse(b *batch) error {
	for i := range b.n {
		pkt := &b.pkts[i]
		if p.ntpLog != nil && pkt.Kind == decode.KindNTP {
			p.ntpLogBuf = append(decode.AppendNTPLog(p.ntpLogBuf[:0], pkt), '\n')
			if _, err := p.ntpLog.Write(p.ntpLogBuf); err != nil {
				return fmt.Errorf("--ntp-log: %w", err)
			}
		}
		p.view.packet(pkt)
		p.eng.Observe(pkt)
	}
	if !b.last.IsZero() {
		p.eng.Advance(b.last)
	}
	return nil
}

// close ends every open incident, drains the outputs and closes the NTP log. It returns an
// error when an alert could be neither delivered nor spooled.
func (p *pipeline) close(ctx context.Context) error {
	p.eng.Close()
	var errs []error
	if p.ntpLog != nil {
		if err := p.ntpLog.Flush(); err != nil {
			errs = append(errs, fmt.Errorf("--ntp-log: %w", err))
		}
		if err := p.ntpLogF.Close(); err != nil {
			errs = append(errs, fmt.Errorf("--ntp-log: %w", err))
		}
	}
	var err error
	p.report, err = closeOutputsReport(ctx, p.out, p.stderr)
	return errors.Join(append(errs, err)...)
}
