package pipeline

import (
	"context"
	"errors"
	"io"
	"sync"
	"time"

	"github.com/ntpwatch/ntpwatch/decode"
)

// batch is a run of decoded packets of interest (messages of the protocol table, malformed
// ones and their fragments). Frames of other traffic are decoded and counted by the reader but
// not handed over; last carries the time of the latest frame of any kind, the clock.
type batch struct {
	pkts [batchSize]decode.Packet
	n    int
	last time.Time
	src  int // the reader's index
	// tail is set when last is the time of a frame the batch does not carry (other traffic
	// after its last packet): the engine's clock moves to it when the batch has been fed.
	tail bool
	// quiet is set when the batch went because the source reported a quiet link, final on
	// the reader's last batch.
	quiet, final bool
}

// reset empties b for reader src.
func (b *batch) reset(src int) {
	b.n, b.last, b.src, b.tail, b.quiet, b.final = 0, time.Time{}, src, false, false, false
}

// reader is one source's goroutine with its decoder. What it publishes for Snapshot and Run
// is guarded by mu; the rest belongs to its goroutine.
type reader struct {
	p   *Pipeline
	idx int
	// in is the source, and one of src and psrc is it: a source of frames, which the reader
	// decodes, or of observations, which decodes its frames with the reader's decoder.
	in interface {
		Name() string
		Close() error
	}
	src  decode.Source
	psrc decode.PacketSource
	dec  *decode.Decoder
	free chan *batch // its batches, back from the analysis goroutine

	mu      sync.Mutex
	stats   decode.Stats
	capture decode.CaptureStats
	span    timeSpan
}

// timeSpan is the first and last packet time of a source, Unix nanoseconds.
type timeSpan struct {
	first, last int64
	seen        bool
}

// add widens the span to t.
func (s *timeSpan) add(t int64) {
	switch {
	case !s.seen:
		*s = timeSpan{t, t, true}
	case t > s.last:
		s.last = t
	case t < s.first:
		s.first = t
	}
}

// run decodes frames straight into batch slots and hands batches over as the flush policy
// says, until the source ends, fails or ctx ends. A source cut short in a record is a warning,
// not an error: everything before the cut has been analysed.
func (r *reader) run(ctx context.Context) error {
	p := r.p
	flush := p.cfg.Flush
	age := int64(flush.Age)
	b := <-r.free
	b.reset(r.idx)
	var first int64 // packet time of the batch's first packet
	var f decode.Frame
	var span timeSpan // local, not a field: the goroutine's own, published with the counters
	frames := 0
	quietAt := -1 // frames when the merge was last told that the link is quiet
	published := time.Now()
	hand := func() {
		p.full <- b
		b = <-r.free
		b.reset(r.idx)
	}
	defer func() {
		b.final = true
		p.full <- b
		r.publish(span)
		p.frames.Store(uint64(frames))
	}()
	for {
		// The observation goes straight into the batch's next slot: a frame, once read.
		pkt := &b.pkts[b.n]
		var kind decode.Kind
		var err error
		if r.psrc != nil {
			kind, err = r.psrc.NextPacket(r.dec, pkt)
		} else if err = r.src.Next(&f); err == nil {
			kind = r.dec.Decode(&f, pkt)
		}
		if err != nil {
			switch {
			case errors.Is(err, io.EOF):
				return nil
			case errors.Is(err, decode.ErrTruncated):
				if p.cfg.Warn != nil {
					p.cfg.Warn(err)
				}
				return nil
			case flush.Live && errors.Is(err, decode.ErrTimeout):
				// Even empty, the batch tells the merge that this reader holds nothing back.
				// The merge keeps that until the reader's next batch (merge.add), so while
				// the link stays quiet and the batch empty there is nothing more to tell, and
				// the analysis goroutine is left asleep: one hand-over per timeout was most
				// of an idle capture's CPU beside the capture's own waiting.
				if quietAt != frames || b.n > 0 || !b.last.IsZero() {
					b.quiet = true
					hand()
					quietAt = frames
				}
				if ctx.Err() != nil {
					return nil
				}
				if time.Since(published) >= tick {
					r.publish(span)
					published = time.Now()
				}
				continue
			}
			return err
		}
		// Look at ctx on the first frame and every publishEvery after: cheap, and prompt.
		if frames++; frames%publishEvery == 1 {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			r.publish(span)
			published = time.Now()
		} else if flush.Live && frames%1024 == 0 && time.Since(published) >= tick {
			if ctx.Err() != nil {
				return nil
			}
			r.publish(span)
			published = time.Now()
		}
		if frames%framesEvery == 0 {
			p.frames.Store(uint64(frames))
		}
		t := pkt.Time.UnixNano()
		span.add(t)
		b.last = pkt.Time
		if b.tail = kind == decode.KindOther; b.tail {
			continue // counted by the decoder; nothing for the engine but the clock
		}
		if b.n == 0 {
			first = t
		}
		if b.n++; b.n == batchSize || age > 0 && t-first >= age {
			hand()
		}
	}
}

// publish stores the reader's counters for Snapshot and Run.
func (r *reader) publish(span timeSpan) {
	var cs decode.CaptureStats
	csOK := false
	if l, ok := r.in.(decode.LiveSource); ok {
		var err error
		cs, err = l.CaptureStats()
		csOK = err == nil
	}
	st := r.dec.Stats()
	r.mu.Lock()
	r.stats, r.span = st, span
	if csOK {
		r.capture = cs
	}
	r.mu.Unlock()
}
