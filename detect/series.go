package detect

import "time"

// maxSeriesPoints bounds a role's timeline: at most this many buckets, whose width doubles
// whenever one more would be needed, plus the average before the series began. Ten thousand
// open incidents then hold about 10 MB of timelines.
const maxSeriesPoints = 64

// series is a role's traffic over time from its first incident on, in buckets of width
// seconds from start: the wire bytes of the requests and the replies of the role. pre holds
// what came before the series began, from the role's first packet.
type series struct {
	preFrom, preTo int64 // Unix nanoseconds
	preReq, preRes uint64
	start, width   int64 // Unix seconds, seconds
	n              int   // buckets in use
	req, resp      [maxSeriesPoints]uint64
}

// newSeries begins the timeline of r now, its first incident starting, with buckets from
// now's second on. What r carried before becomes the first, averaged, point up to that second
// (the part of it within that second, too), or the first bucket when it all lies within it.
func newSeries(r *role, now int64) *series {
	s := &series{start: floorSecond(now), width: 1}
	req, resp := r.reqWire, r.wire-r.reqWire
	if r.first >= s.start*1e9 {
		s.req[0], s.resp[0], s.n = req, resp, 1
		return s
	}
	s.preFrom, s.preTo, s.preReq, s.preRes = r.first, s.start*1e9, req, resp
	return s
}

// add counts wire bytes at packet time t (Unix nanoseconds). A packet older than the series
// (a capture whose clock stepped back) counts in the first bucket.
func (s *series) add(t int64, isReq bool, wire uint64) {
	i := max(0, (floorSecond(t)-s.start)/s.width)
	for i >= maxSeriesPoints {
		s.compact()
		i = (floorSecond(t) - s.start) / s.width
	}
	if isReq {
		s.req[i] += wire
	} else {
		s.resp[i] += wire
	}
	s.n = max(s.n, int(i)+1)
}

// compact halves the resolution, summing adjacent buckets.
func (s *series) compact() {
	n := (s.n + 1) / 2
	for j := range n {
		s.req[j], s.resp[j] = s.req[2*j], s.resp[2*j]
		if 2*j+1 < s.n {
			s.req[j] += s.req[2*j+1]
			s.resp[j] += s.resp[2*j+1]
		}
	}
	clear(s.req[n:])
	clear(s.resp[n:])
	s.n = n
	s.width *= 2
}

// points returns the timeline: the average before the series began, when there was traffic
// then, and the buckets.
func (s *series) points() []Point {
	out := make([]Point, 0, s.n+1)
	if s.preReq+s.preRes > 0 && s.preTo > s.preFrom {
		out = append(out, Point{From: time.Unix(0, s.preFrom).UTC(), To: time.Unix(0, s.preTo).UTC(),
			RequestBytes: s.preReq, ResponseBytes: s.preRes})
	}
	for i := range s.n {
		from := s.start + int64(i)*s.width
		out = append(out, Point{From: time.Unix(from, 0).UTC(), To: time.Unix(from+s.width, 0).UTC(),
			RequestBytes: s.req[i], ResponseBytes: s.resp[i]})
	}
	return out
}

// floorSecond is the Unix second of t (nanoseconds), rounded down also before 1970.
func floorSecond(t int64) int64 {
	s := t / 1e9
	if t < 0 && t%1e9 != 0 {
		s--
	}
	return s
}
