package detect

import (
	"math"
	"time"

	"github.com/ntpwatch/ntpwatch/decode"
	"github.com/ntpwatch/ntpwatch/decode/proto"
)

// clock is the engine's time: packet time, made robust to packets that arrive out of order
// and to capture clocks that jump. The rule (docs/detection.md, "Packet time"):
//
//   - The clock is the latest time accepted. A packet within idle_timeout of it, earlier or
//     later, is accounted at its own time: one that arrives late (capture workers handing
//     over batches out of order) counts in its episode like any other and moves nothing.
//   - A packet more than idle_timeout from the clock is a jump. It is held until the next
//     packet (or clock advance) judges it: when that next time lies within idle_timeout of
//     the jump, the capture's clock did move. Forward, time passed (a quiet spell): the
//     clock follows, and the incidents that went idle end. Back, the capture's clock was
//     stepped back: skew grows by the step, so that time goes on from the clock and the
//     packets after the step continue the episodes they belong to. Otherwise the jump was
//     a single frame with a wrong time (an outlier): it is accounted at the clock's time.
//   - At the end of the input a held packet that nothing confirmed is an outlier; a held
//     clock advance (the time of frames the engine does not see) is taken.
//
// Late packets and outliers thus never make a pair count as a new peer again, never begin a
// new episode, and one frame far in the future does not end every incident early.
type clock struct {
	started bool
	now     int64 // the clock, Unix nanoseconds of effective time (packet time + skew)
	skew    int64 // added to packet times: the steps back the capture's clock made

	held    heldKind
	heldT   int64         // the held jump's effective time
	heldPkt decode.Packet // the held packet, when held is heldPacket
}

// heldKind says what the clock holds while a jump waits for its judgement.
type heldKind uint8

const (
	heldNone   heldKind = iota
	heldPacket          // a packet more than idle_timeout from the clock
	heldTime            // an Advance more than idle_timeout ahead of the clock
)

// clockIn places p, at effective time t, on the clock when it is not simply near it (the
// common case, which Observe handles): the first packet, a packet after a held jump, a
// jump. It returns the effective time to account p at, or ok false when p is held as a jump
// for the next packet to judge.
func (e *Engine) clockIn(p *decode.Packet, t int64) (int64, bool) {
	if !e.started {
		e.started, e.now = true, t
		return t, true
	}
	if e.held != heldNone {
		e.judge(t)
		t = p.Time.UnixNano() + e.skew
	}
	if t > e.now+e.idle || t < e.now-e.idle {
		e.held, e.heldT, e.heldPkt = heldPacket, t, *p
		e.heldPkt.NTP = proto.NTP{} // the engine never reads it; it must not keep the decoder's buffers
		return 0, false
	}
	e.moveTo(t)
	return t, true
}

// judge decides the held jump by the effective time t that follows it, then accounts the
// held packet at the time the verdict gives it.
func (e *Engine) judge(t int64) {
	confirmed := t-e.heldT <= e.idle && e.heldT-t <= e.idle
	at := e.now
	switch {
	case confirmed && e.heldT > e.now: // time passed
		at = e.heldT
		e.moveTo(at)
	case confirmed: // the capture's clock was stepped back: time goes on from the clock
		e.skew += e.now - e.heldT
		e.counters.ClockSteps++
	default:
		e.counters.ClockOutliers++
	}
	e.release(at)
}

// release accounts the held packet, if any, at effective time at and clears the jump.
func (e *Engine) release(at int64) {
	held := e.held
	e.held = heldNone
	if held == heldPacket {
		e.observe(&e.heldPkt, at)
	}
}

// moveTo moves the clock forward to t and runs the sweep when it is due.
func (e *Engine) moveTo(t int64) {
	if t > e.now {
		e.now = t
	}
	if e.now >= e.nextSweep {
		e.sweep()
	}
	if e.ev != nil && e.now >= e.ev.next {
		e.exportEvidence()
	}
}

// Advance moves the clock to now without a packet: the time of frames the engine is not
// given, or the wall clock's on a quiet live link, so that updates and ends fire. A time
// before the clock is ignored; one more than idle_timeout ahead is a jump that the next
// packet judges, like a packet's.
func (e *Engine) Advance(now time.Time) {
	if !e.started {
		return
	}
	t := now.UnixNano() + e.skew
	if e.held != heldNone {
		e.judge(t)
		t = now.UnixNano() + e.skew
	}
	switch {
	case t <= e.now:
	case t > e.now+e.idle:
		e.held, e.heldT = heldTime, t
	default:
		e.moveTo(t)
	}
}

// Now is the engine's clock in packet time (before the skew of a stepped capture clock):
// the zero Time before the first packet.
func (e *Engine) Now() time.Time {
	if !e.started {
		return time.Time{}
	}
	return time.Unix(0, e.now-e.skew)
}

// Close ends every open incident at the end of the input, in a deterministic order.
func (e *Engine) Close() {
	if !e.started {
		return
	}
	switch e.held {
	case heldPacket:
		e.counters.ClockOutliers++
		e.release(e.now)
	case heldTime:
		e.moveTo(e.heldT)
		e.release(e.heldT)
	}
	e.sweep()
	for _, in := range e.sortedOpen() {
		e.end(in, e.now)
	}
	e.nextSweep = math.MaxInt64
	e.closeEvidence()
}
