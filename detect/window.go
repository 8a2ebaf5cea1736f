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

func (w *window) add(t, size int64, v uint64) {
	w.roll(t, size)
	w.cur += v
}

// sum is the estimate at t, which must not be before the last add.
func (w *window) sum(t, size int64) uint64 {
	w.roll(t, size)
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
// being aligned on the Unix epoch so that every run cuts the same seconds.
type meter struct {
	sec, end            int64 // the current second: [sec, end) in nanoseconds
	bytes, pkts         uint64
	peakBytes, peakPkts uint64
}

// add counts pkts packets of wire bytes at t.
func (m *meter) add(t int64, pkts, wire uint64) {
	if t >= m.end || t < m.sec { // a new second; the division is paid once a second only
		s := floorSecond(t)
		m.sec, m.end = s*1e9, s*1e9+1e9
		m.bytes, m.pkts = 0, 0
	}
	m.bytes += wire
	m.pkts += pkts
	m.peakBytes = max(m.peakBytes, m.bytes)
	m.peakPkts = max(m.peakPkts, m.pkts)
}
