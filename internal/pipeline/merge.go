package pipeline

import (
	"math"
	"time"
)

// merge hands the packets of several readers to the engine in packet time order. Each
// reader's batches are in its own time order, but the readers run at their own pace: the
// sockets of a live fanout group hand over their batches as they fill them, and a reply
// read by one socket can reach the engine before the request another socket read first.
// The engine counts right whatever the order (detect's clock rule), but its ids, start
// events and the order of the NTP log are those of the capture only in time order.
//
// merge is a k-way merge with a watermark: a packet goes to the engine once every reader
// that could still hand over an older one has handed over a frame at least as late
// (progress). A reader stops holding the others back when it has finished, and in a live
// run when its link is quiet (it handed over on a timeout: whatever it reads next was
// captured later) or when it has handed over nothing for holdMax of wall time, which keeps
// the alert budget of a second whatever a reader does. A packet later than its own reader's
// progress (one frame with a wrong time) goes at once: waiting for it would stall its
// reader behind it. In a file run nothing depends on the wall clock, so the same sources
// give the same order on every run.
//
// merge belongs to the analysis goroutine; waiting is published for Snapshot.
type merge struct {
	streams []stream
	live    bool
	// feed hands one packet to the engine and the NTP log; advance moves the engine's clock
	// to the time of frames it was not given.
	feed    func(b *batch, i int)
	advance func(t time.Time)
	// held counts the batches handed over and not yet fed, which Snapshot reports.
	held int
	// tail is the latest time of frames the engine was not given (the end of a batch of
	// other traffic), waiting for the watermark to pass it; math.MinInt64 when none.
	tail int64
}

// holdMax is how long a live run waits for a reader that hands over nothing before it feeds
// the others' packets without it: a reader on a busy link hands over at least every batch
// age, on a quiet one at every timeout (50 ms), so only a stalled reader is left out.
const holdMax = 200 * time.Millisecond

// stream is one reader's batches in the merge.
type stream struct {
	free     chan *batch // where its fed batches go back to
	queue    []*batch    // handed over, oldest first; queue[0] is fed from off on
	off      int
	progress int64 // latest frame time handed over, Unix nanoseconds; valid when started
	started  bool
	quiet    bool      // its latest batch came from a quiet link
	done     bool      // its last batch came
	wall     time.Time // when it last handed a batch over (live)
}

// add takes a batch from a reader at wall time now.
func (m *merge) add(b *batch, now time.Time) {
	s := &m.streams[b.src]
	s.wall, s.quiet, s.done = now, b.quiet, b.final
	if !b.last.IsZero() {
		if t := b.last.UnixNano(); !s.started || t > s.progress {
			s.progress, s.started = t, true
		}
	}
	s.queue = append(s.queue, b)
	m.held++
}

// watermark is the packet time up to which every packet has been handed over, as far as
// the readers that can still hold one back tell: +inf when none can, -inf while one of them
// has said nothing yet.
func (m *merge) watermark(now time.Time) int64 {
	w := int64(math.MaxInt64)
	for i := range m.streams {
		s := &m.streams[i]
		switch {
		case s.done || m.live && (s.quiet || now.Sub(s.wall) > holdMax):
		case !s.started:
			return math.MinInt64
		default:
			w = min(w, s.progress)
		}
	}
	return w
}

// run feeds every packet the watermark allows, earliest first (ties to the lower reader),
// and gives the fed batches back to their readers; then it moves the engine's clock to the
// frames it was not given, as far as the watermark.
func (m *merge) run(now time.Time) {
	w := m.watermark(now)
	for {
		best, next := -1, -1 // the streams with the earliest and second earliest head
		var bt, nt int64
		for i := range m.streams {
			t, ok := m.head(i)
			switch {
			case !ok:
			case best < 0 || t < bt:
				next, nt = best, bt
				best, bt = i, t
			case next < 0 || t < nt:
				next, nt = i, t
			}
		}
		if best < 0 {
			break
		}
		s := &m.streams[best]
		if bt > w && bt <= s.progress {
			break // every head waits for a reader that is behind
		}
		// Feed a run of best's packets, the head first: up to the next stream's head (which
		// goes first on a tie when it is the lower reader) and up to the watermark.
		limit := w
		if next >= 0 {
			if next < best {
				nt--
			}
			limit = min(limit, nt)
		}
		b := s.queue[0]
		for first := true; s.off < b.n; first = false {
			if t := b.pkts[s.off].Time.UnixNano(); !first && t > limit && t <= s.progress {
				break
			}
			m.feed(b, s.off)
			s.off++
		}
		if s.off == b.n {
			m.release(s)
		}
	}
	if m.tail != math.MinInt64 && m.tail <= w {
		m.advance(time.Unix(0, m.tail))
		m.tail = math.MinInt64
	}
}

// head is the time of stream i's next packet to feed, when it has one. Batches without a
// packet at the front of its queue (a quiet link, other traffic only) go back first.
func (m *merge) head(i int) (int64, bool) {
	s := &m.streams[i]
	for len(s.queue) > 0 && s.queue[0].n == 0 {
		m.release(s)
	}
	if len(s.queue) == 0 {
		return 0, false
	}
	return s.queue[0].pkts[s.off].Time.UnixNano(), true
}

// release gives s's first batch, fed, back to its reader, and notes the time of the frames
// at its end that the engine was not given.
func (m *merge) release(s *stream) {
	b := s.queue[0]
	if b.tail {
		m.tail = max(m.tail, b.last.UnixNano())
	}
	s.queue[0] = nil
	s.queue = s.queue[1:]
	s.off = 0
	m.held--
	s.free <- b
}
