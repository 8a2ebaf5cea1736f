package main

import (
	"net/netip"
	"time"

	"github.com/ntpwatch/ntpwatch/decode"
	"github.com/ntpwatch/ntpwatch/detect"
)

// Bounds of the timelines kept for --report. A forged-address flood must not grow them: at
// most maxTimelineHosts hosts (plus maxTimelinePins incident subjects that arrive once the
// table is full) of at most maxTimelinePoints buckets of two counters: about 17 MB at worst.
const (
	maxTimelineHosts  = 2048
	maxTimelinePins   = 256
	maxTimelinePoints = 512
	// timelineIdle is how long a host that is no incident's subject is kept without traffic:
	// long enough to outlast detect's window and idle timeout (60 s each by default), so a
	// host whose incident starts late still has its timeline from its first packet.
	timelineIdle  = 300 // seconds
	timelineSweep = 60  // seconds of packet time between sweeps
	maxDetected   = 10000
)

// timelines keeps, for --report, per-second wire bytes of mode 6 and mode 7 requests and
// replies for every host that sends or receives them, so that an incident's chart can show
// the traffic from its first packet, before the threshold was crossed. Each endpoint of a
// message counts it: the reflector's requests are those sent to it, the victim's requests
// are those forged in its name. It belongs to the analysis goroutine.
type timelines struct {
	hosts     map[netip.Addr]*series
	pins      int
	refused   uint64 // hosts not tracked because the table was full
	evicted   uint64 // idle hosts dropped by a sweep
	nextSweep int64
	detected  map[string]time.Time // incident id -> packet time of its start event

	// recent caches the series of the last two addresses seen: an attack repeats one
	// reflector-victim pair packet after packet, and a comparison is cheaper than a lookup.
	recent [2]struct {
		addr netip.Addr
		s    *series
	}
}

func newTimelines() *timelines {
	return &timelines{hosts: map[netip.Addr]*series{}, detected: map[string]time.Time{}}
}

// series is one host's traffic in buckets of width seconds from start; the width doubles
// (adjacent buckets summed) whenever the series would grow past maxTimelinePoints.
type series struct {
	start, width int64 // Unix seconds, seconds
	req, resp    []uint64
	last         int64 // the latest second with traffic
	pinned       bool  // an incident's subject: never swept
}

// packet accounts one decoded frame at packet time t (Unix nanoseconds).
func (tl *timelines) packet(p *decode.Packet, t int64) {
	var isReq bool
	switch p.Kind {
	case decode.KindNTP:
		switch p.NTP.Mode {
		case 6:
			isReq = !p.NTP.Ctl.Response
		case 7:
			isReq = !p.NTP.Priv.Response
		default:
			return
		}
	case decode.KindFragment:
		// Non-first fragments carry no NTP header: the server side is the one on port 123.
		isReq = p.DstPort == 123 && p.SrcPort != 123
	default:
		return
	}
	sec := t / int64(time.Second)
	if sec >= tl.nextSweep {
		tl.sweep(sec)
	}
	tl.add(p.Src, sec, isReq, uint64(p.WireLen))
	tl.add(p.Dst, sec, isReq, uint64(p.WireLen))
}

func (tl *timelines) add(a netip.Addr, sec int64, isReq bool, wire uint64) {
	var s *series
	switch {
	case tl.recent[0].s != nil && tl.recent[0].addr == a:
		s = tl.recent[0].s
	case tl.recent[1].s != nil && tl.recent[1].addr == a:
		s = tl.recent[1].s
	default:
		s = tl.lookup(a, sec)
		if s == nil {
			return
		}
		tl.recent[1] = tl.recent[0]
		tl.recent[0].addr, tl.recent[0].s = a, s
	}
	i := s.bucket(sec)
	if isReq {
		s.req[i] += wire
	} else {
		s.resp[i] += wire
	}
	s.last = max(s.last, sec)
}

// lookup returns a's series, made when there is room; nil when there is none.
func (tl *timelines) lookup(a netip.Addr, sec int64) *series {
	s := tl.hosts[a]
	if s == nil {
		if len(tl.hosts) >= maxTimelineHosts {
			tl.refused++
			return nil
		}
		s = &series{start: sec, width: 1}
		tl.hosts[a] = s
	}
	return s
}

// bucket returns the index of sec's bucket, growing or compacting the series for it. Times
// before the start (a capture whose clock stepped back) count in the first bucket.
func (s *series) bucket(sec int64) int {
	i := max(0, (sec-s.start)/s.width)
	for i >= maxTimelinePoints {
		s.compact()
		i = (sec - s.start) / s.width
	}
	for int64(len(s.req)) <= i {
		s.req = append(s.req, 0)
		s.resp = append(s.resp, 0)
	}
	return int(i)
}

// compact halves the series' resolution.
func (s *series) compact() {
	n := (len(s.req) + 1) / 2
	for j := range n {
		s.req[j], s.resp[j] = s.req[2*j], s.resp[2*j]
		if 2*j+1 < len(s.req) {
			s.req[j] += s.req[2*j+1]
			s.resp[j] += s.resp[2*j+1]
		}
	}
	s.req, s.resp = s.req[:n], s.resp[:n]
	s.width *= 2
}

// sweep drops the hosts idle for timelineIdle that are no incident's subject.
func (tl *timelines) sweep(sec int64) {
	tl.nextSweep = sec + timelineSweep
	tl.recent = [2]struct {
		addr netip.Addr
		s    *series
	}{}
	for a, s := range tl.hosts {
		if !s.pinned && s.last < sec-timelineIdle {
			delete(tl.hosts, a)
			tl.evicted++
		}
	}
}

// alert pins the subject of a starting incident so its timeline is kept, and notes when the
// incident was detected, for the chart's marker.
func (tl *timelines) alert(a *detect.Alert) {
	if a.State != detect.StateStart {
		return
	}
	if len(tl.detected) < maxDetected {
		tl.detected[a.ID] = a.TS
	}
	subj := a.Subject()
	s := tl.hosts[subj]
	if s == nil {
		if tl.pins >= maxTimelinePins {
			return
		}
		// The table was full when the subject first appeared: its timeline starts now.
		s = &series{start: a.TS.Unix(), width: 1, last: a.TS.Unix()}
		tl.hosts[subj] = s
	}
	if !s.pinned {
		s.pinned = true
		tl.pins++
	}
}

// rates returns the request and reply bit rates of a's buckets within [from, to] (Unix
// seconds), the Unix second where the first returned bucket starts, and the bucket width.
func (s *series) rates(from, to int64) (req, resp []float64, start, width int64) {
	lo := max(0, (from-s.start)/s.width)
	hi := min(int64(len(s.req))-1, (to-s.start)/s.width)
	for i := lo; i <= hi; i++ {
		req = append(req, float64(s.req[i]*8)/float64(s.width))
		resp = append(resp, float64(s.resp[i]*8)/float64(s.width))
	}
	return req, resp, s.start + lo*s.width, s.width
}
