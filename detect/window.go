package detect

// window estimates a sum over the last size nanoseconds of packet time from two fixed
// buckets, the way rate limiters do: the previous bucket is weighted by how much of it still
// lies inside the sliding window. Two integers per counter keep hosts small.
type window struct {
	start     int64 // start of the current bucket; 0 before the first add
	cur, prev uint64
}

// roll moves the buckets forward so that t falls into the current one.
func (w *window) roll(t, size int64) {
	if w.start == 0 && w.cur == 0 && w.prev == 0 {
		w.start = t
		return
	}
	if t < w.start+size {
		return
	}
	if t < w.start+2*size {
		w.prev, w.cur = w.cur, 0
		w.start += size
		return
	}
	w.prev, w.cur = 0, 0
	w.start = t
}

// add counts v at t. A late packet, older than the current bucket, counts in the previous
// one, or nowhere when it is older than both: it lies outside the window already.
func (w *window) add(t, size int64, v uint64) {
	w.roll(t, size)
	switch {
	case t >= w.start:
		w.cur += v
	case t >= w.start-size:
		w.prev += v
	}
}

// sum is the estimate at t; a t before the current bucket (a late packet) reads it at the
// bucket's start.
func (w *window) sum(t, size int64) uint64 {
	w.roll(t, size)
	t = max(t, w.start)
	if w.prev == 0 {
		return w.cur
	}
	left := size - (t - w.start) // the part of the previous bucket still inside the window
	if left <= 0 {
		return w.cur
	}
	return w.cur + uint64(float64(w.prev)*float64(left)/float64(size))
}

// meter finds the highest packet and wire byte count in one second of packet time, seconds
// being aligned on the Unix epoch so that every run cuts the same seconds. It keeps the
// second before the current one too, so that the peak is exact whatever the order of
// packets that arrive up to a second late; a packet later than that counts in the totals
// but not in the peak.
type meter struct {
	sec, end            int64 // the current second: [sec, end) in nanoseconds; end 0 before the first add
	bytes, pkts         uint64
	prevBytes, prevPkts uint64 // the second [sec-1e9, sec)
	peakBytes, peakPkts uint64
}

// add counts pkts packets of wire bytes at t.
func (m *meter) add(t int64, pkts, wire uint64) {
	switch {
	case t >= m.sec && t < m.end:
	case t >= m.end || m.end == 0: // a new second; the division is paid once a second only
		if t < m.end+1e9 && m.end != 0 {
			m.prevBytes, m.prevPkts = m.bytes, m.pkts
		} else {
			m.prevBytes, m.prevPkts = 0, 0
		}
		s := floorSecond(t)
		m.sec, m.end = s*1e9, s*1e9+1e9
		m.bytes, m.pkts = 0, 0
	case t >= m.sec-1e9: // late, from the second before
		m.prevBytes += wire
		m.prevPkts += pkts
		m.peakBytes = max(m.peakBytes, m.prevBytes)
		m.peakPkts = max(m.peakPkts, m.prevPkts)
		return
	default:
		return
	}
	m.bytes += wire
	m.pkts += pkts
	m.peakBytes = max(m.peakBytes, m.bytes)
	m.peakPkts = max(m.peakPkts, m.pkts)
}
