package decode

import (
	"errors"
	"io"
	"strings"
)

// Merge returns a Source that yields the frames of srcs as one timeline in timestamp order,
// so that a rotated set such as dump-*.pcap, given in any order, reads as the single capture
// it was cut from. Frames with equal timestamps come in the order of srcs, which keeps the
// result deterministic: first the member whose first frame is older (so where a rotated
// set was cut between two frames of the same time they keep their order, whatever the order
// of the arguments), then the order of srcs. Within one member the order of the file is kept
// even where its timestamps go backwards: the merge never reorders a file, it interleaves.
//
// A member cut short in a record (ErrTruncated) is passed to warn, which must not be nil, and
// the merge goes on with the others; any other error of a member ends the merge with that
// error. Closing the merge closes every member. The merge implements Progresser: the sum of
// its members' progress, with an unknown total when any member's is unknown.
//
// Sources are zero-copy, so the merge holds one pending frame per member and calls a member's
// Next again only when the caller asks for the frame after the one it took from that member:
// data stays valid exactly as long as the Source contract promises.
func Merge(srcs []Source, warn func(error)) Source {
	if len(srcs) == 1 {
		// One member needs no heap: the common case costs one call more than the file.
		return &single{srcs[0], warn}
	}
	return &mergeSource{srcs: srcs, warn: warn}
}

// single is the merge of one source: it only turns a truncation into a warning.
type single struct {
	Source
	warn func(error)
}

func (s *single) Next(f *Frame) error {
	err := s.Source.Next(f)
	if err != nil && errors.Is(err, ErrTruncated) {
		s.warn(err)
		err = io.EOF
	}
	return err
}

// Progress is the member's, or unknown.
func (s *single) Progress() (done, total int64) {
	if p, ok := s.Source.(Progresser); ok {
		return p.Progress()
	}
	return 0, -1
}

// pending is the frame a member offers next.
type pending struct {
	src   int   // index in mergeSource.srcs: the last tie-breaker for equal timestamps
	t     int64 // the frame's time, Unix nanoseconds
	begin int64 // the time of the member's first frame: the first tie-breaker
	frame Frame
}

// mergeSource is the Source of Merge. heap is a binary min-heap of the members that have a
// pending frame, ordered by (t, begin, src).
type mergeSource struct {
	srcs    []Source
	warn    func(error)
	heap    []pending
	started bool
	taken   bool // the root's frame was returned: its member is advanced at the next call
}

// Next returns the earliest pending frame. See Source.
func (m *mergeSource) Next(f *Frame) error {
	if !m.started {
		m.started = true
		for i := range m.srcs {
			if err := m.fill(i); err != nil {
				return err
			}
		}
	} else if m.taken {
		// The caller is done with the root's frame: only now may its member overwrite it.
		m.taken = false
		if err := m.advance(); err != nil {
			return err
		}
	}
	if len(m.heap) == 0 {
		return io.EOF
	}
	*f = m.heap[0].frame
	m.taken = true
	return nil
}

// read asks member p.src for its next frame, into p. ok is false at the member's end,
// including a truncated end, which is reported to warn.
func (m *mergeSource) read(p *pending) (ok bool, err error) {
	err = m.srcs[p.src].Next(&p.frame)
	switch {
	case err == nil:
		p.t = p.frame.Time.UnixNano()
		if p.begin == noBegin {
			p.begin = p.t
		}
		return true, nil
	case errors.Is(err, io.EOF):
		return false, nil
	case errors.Is(err, ErrTruncated):
		m.warn(err)
		return false, nil
	}
	return false, err
}

// noBegin marks a member whose first frame is still to be read.
const noBegin = -1 << 63

// fill pushes member i's first frame onto the heap.
func (m *mergeSource) fill(i int) error {
	p := pending{src: i, begin: noBegin}
	ok, err := m.read(&p)
	if ok {
		m.heap = append(m.heap, p)
		m.up(len(m.heap) - 1)
	}
	return err
}

// advance replaces the root by its member's next frame, or drops the member at its end.
func (m *mergeSource) advance() error {
	ok, err := m.read(&m.heap[0])
	if !ok {
		n := len(m.heap) - 1
		m.heap[0] = m.heap[n]
		m.heap = m.heap[:n]
	}
	if len(m.heap) > 0 {
		m.down(0)
	}
	return err
}

func (m *mergeSource) less(a, b int) bool {
	x, y := &m.heap[a], &m.heap[b]
	if x.t != y.t {
		return x.t < y.t
	}
	if x.begin != y.begin {
		return x.begin < y.begin
	}
	return x.src < y.src
}

func (m *mergeSource) up(j int) {
	for j > 0 {
		parent := (j - 1) / 2
		if !m.less(j, parent) {
			return
		}
		m.heap[j], m.heap[parent] = m.heap[parent], m.heap[j]
		j = parent
	}
}

func (m *mergeSource) down(j int) {
	n := len(m.heap)
	for {
		small := j
		if l := 2*j + 1; l < n && m.less(l, small) {
			small = l
		}
		if r := 2*j + 2; r < n && m.less(r, small) {
			small = r
		}
		if small == j {
			return
		}
		m.heap[j], m.heap[small] = m.heap[small], m.heap[j]
		j = small
	}
}

// Name joins the members' names with commas.
func (m *mergeSource) Name() string {
	names := make([]string, len(m.srcs))
	for i, s := range m.srcs {
		names[i] = s.Name()
	}
	return strings.Join(names, ",")
}

// Progress sums the members' progress; total is -1 when a member does not know its size.
// It is safe to call from another goroutine when the members' Progress methods are.
func (m *mergeSource) Progress() (done, total int64) {
	for _, s := range m.srcs {
		p, ok := s.(Progresser)
		if !ok {
			total = -1
			continue
		}
		d, t := p.Progress()
		done += d
		if t < 0 || total < 0 {
			total = -1
		} else {
			total += t
		}
	}
	return done, total
}

// Close closes every member and returns their errors joined.
func (m *mergeSource) Close() error {
	var errs []error
	for _, s := range m.srcs {
		errs = append(errs, s.Close())
	}
	return errors.Join(errs...)
}
