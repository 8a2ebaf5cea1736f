package decode

import (
	"cmp"
	"context"
	"errors"
	"io"
	"math"
	"slices"
	"strings"
	"sync"
)

// OpenFiles opens capture files (and "-", stdin, once at most) as one timeline in timestamp
// order: Merge over files that are opened only when the timeline reaches them and closed at
// their end, so that a rotated set of thousands of files, such as a day of per-minute
// captures, reads with a few open at a time and the memory of a few. Each file is opened
// first to check that it is a capture and to read its first frame's time, then closed; an
// error then (a missing file, one that is not a capture) is returned, before anything is
// read, naming the file. Files whose times overlap are open together while they overlap, as
// the merge needs a frame of each.
//
// Once reading, a file that fails (a corrupt record, a bad gzip checksum, a read error, a
// file gone since) ends there: the error, naming the file and the count of packets read, is
// passed to warn, and the others are read on. A file cut short in a record is passed to
// warn too, as an error matching ErrTruncated. Only ctx's end, when it interrupts a read of
// stdin, ends the whole source with an error (matching ctx.Err()). warn must not be nil; it
// is called from the goroutine that calls Next.
func OpenFiles(ctx context.Context, names []string, warn func(error)) (Source, error) {
	if len(names) == 1 {
		src, err := OpenContext(ctx, names[0])
		if err != nil {
			return nil, err
		}
		return &single{src, warn}, nil
	}
	members := make([]*member, 0, len(names))
	fail := func(err error) (Source, error) {
		for _, m := range members {
			if m.src != nil {
				m.src.Close()
			}
		}
		return nil, err
	}
	for _, name := range names {
		src, err := OpenContext(ctx, name)
		if err != nil {
			return fail(err)
		}
		m := &member{name: src.Name(), begin: noBegin, size: -1}
		members = append(members, m)
		if name == "-" {
			m.src = src // stdin cannot be read twice: it stays open, and is read first
			continue
		}
		var f Frame
		switch err := src.Next(&f); {
		case err == nil:
			m.begin = f.Time.UnixNano()
		case err == io.EOF:
			m.empty = true
		case interrupted(err):
			src.Close()
			return fail(err)
		}
		// A first frame that could not be read leaves begin unknown: the file is opened
		// at the start, where its error is met again and reported.
		done, size := src.(Progresser).Progress()
		m.size = size
		if m.empty {
			m.done = done
		}
		src.Close()
		m.open = func() (Source, error) { return OpenContext(ctx, name) }
	}
	return newMerge(members, warn), nil
}

// Merge returns a Source that yields the frames of srcs as one timeline in timestamp order,
// so that a rotated set such as dump-*.pcap, given in any order, reads as the single capture
// it was cut from. Frames with equal timestamps come in the order of srcs, which keeps the
// result deterministic: first the member whose first frame is older (so where a rotated
// set was cut between two frames of the same time they keep their order, whatever the order
// of the arguments), then the order of srcs. Within one member the order of the file is kept
// even where its timestamps go backwards: the merge never reorders a file, it interleaves.
//
// A member that fails (any error but an interruption by a context, see OpenFiles), or is
// cut short in a record (ErrTruncated), is passed to warn, which must not be nil, closed,
// and the merge goes on with the others. Closing the merge closes every member still open.
// The merge implements Progresser: the sum of its members' progress, with an unknown total
// when any member's is unknown.
//
// Sources are zero-copy, so the merge holds one pending frame per member and calls a member's
// Next again only when the caller asks for the frame after the one it took from that member:
// data stays valid exactly as long as the Source contract promises.
func Merge(srcs []Source, warn func(error)) Source {
	if len(srcs) == 1 {
		// One member needs no heap: the common case costs one call more than the file.
		return &single{srcs[0], warn}
	}
	members := make([]*member, len(srcs))
	for i, s := range srcs {
		members[i] = &member{name: s.Name(), src: s, begin: noBegin, size: -1}
	}
	return newMerge(members, warn)
}

// interrupted tells whether err is a context's end, which stops a read rather than
// failing it.
func interrupted(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// single is the merge of one source: it turns a failure or a truncation into a warning.
type single struct {
	Source
	warn func(error)
}

func (s *single) Next(f *Frame) error {
	err := s.Source.Next(f)
	if err != nil && err != io.EOF && !interrupted(err) {
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

// member is one input of a merge.
type member struct {
	name string
	// open opens the member's file again; nil for a source given open.
	open func() (Source, error)
	// src is the member while it is open; nil before and after.
	src Source
	// begin is the time of the first frame, as the look at the file found it, or noBegin
	// when unknown: such a member is opened at the start.
	begin int64
	empty bool // the look found no frame: the member is never opened again
	// size is the size of the file, -1 when unknown; done the bytes read when it closed.
	size, done int64
}

// progress returns what the member read and its size.
func (m *member) progress() (done, total int64) {
	if m.src != nil {
		if p, ok := m.src.(Progresser); ok {
			return p.Progress()
		}
		return 0, -1
	}
	return m.done, m.size
}

// pending is the frame a member offers next.
type pending struct {
	src   int   // index in mergeSource.members: the last tie-breaker for equal timestamps
	t     int64 // the frame's time, Unix nanoseconds
	begin int64 // the time of the member's first frame: the first tie-breaker
	frame Frame
}

// mergeSource is the Source of Merge and OpenFiles. heap is a binary min-heap of the open
// members' pending frames, ordered by (t, begin, src); waiting holds the members not opened
// yet, by (begin, index), each opened when its first frame would be the heap's next.
type mergeSource struct {
	members []*member
	warn    func(error)
	heap    []pending
	waiting []int
	started bool
	taken   bool // the root's frame was returned: its member is advanced at the next call

	mu sync.Mutex // guards the members' src, done and size against Progress
}

func newMerge(members []*member, warn func(error)) *mergeSource {
	m := &mergeSource{members: members, warn: warn}
	for i, mb := range members {
		if mb.begin != noBegin && !mb.empty {
			m.waiting = append(m.waiting, i)
		}
	}
	slices.SortStableFunc(m.waiting, func(a, b int) int {
		return cmp.Compare(members[a].begin, members[b].begin)
	})
	return m
}

// Next returns the earliest pending frame. See Source.
func (m *mergeSource) Next(f *Frame) error {
	if !m.started {
		m.started = true
		for i, mb := range m.members {
			if mb.begin == noBegin && !mb.empty {
				if err := m.fill(i); err != nil {
					return err
				}
			}
		}
	} else if m.taken {
		// The caller is done with the root's frame: only now may its member overwrite it.
		m.taken = false
		if err := m.advance(); err != nil {
			return err
		}
	}
	if err := m.admit(); err != nil {
		return err
	}
	if len(m.heap) == 0 {
		return io.EOF
	}
	*f = m.heap[0].frame
	m.taken = true
	return nil
}

// admit opens the waiting members whose first frame comes before the heap's root.
func (m *mergeSource) admit() error {
	for len(m.waiting) > 0 {
		i := m.waiting[0]
		b := m.members[i].begin
		if len(m.heap) > 0 && !m.before(&pending{src: i, t: b, begin: b}, &m.heap[0]) {
			return nil
		}
		m.waiting = m.waiting[1:]
		if err := m.fill(i); err != nil {
			return err
		}
	}
	return nil
}

// read asks member p.src for its next frame, into p. ok is false at the member's end,
// which closes it; a failure or a truncation is reported to warn. err is an interruption.
func (m *mergeSource) read(p *pending) (ok bool, err error) {
	mb := m.members[p.src]
	err = mb.src.Next(&p.frame)
	switch {
	case err == nil:
		p.t = p.frame.Time.UnixNano()
		if p.begin == noBegin {
			p.begin = p.t
		}
		return true, nil
	case interrupted(err):
		return false, err
	case !errors.Is(err, io.EOF):
		m.warn(err)
	}
	m.close(mb)
	return false, nil
}

// close closes a member at its end, keeping its progress.
func (m *mergeSource) close(mb *member) {
	m.mu.Lock()
	defer m.mu.Unlock()
	mb.done, mb.size = mb.progress()
	mb.src.Close()
	mb.src = nil
}

// noBegin marks a member whose first frame's time is unknown.
const noBegin = math.MinInt64

// fill opens member i if need be and pushes its first frame onto the heap. A file that
// cannot be opened again is reported to warn and left out.
func (m *mergeSource) fill(i int) error {
	mb := m.members[i]
	if mb.src == nil {
		src, err := mb.open()
		if err != nil {
			if interrupted(err) {
				return err
			}
			m.warn(err)
			return nil
		}
		m.mu.Lock()
		mb.src = src
		m.mu.Unlock()
	}
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

// before orders pending frames by (t, begin, src).
func (m *mergeSource) before(x, y *pending) bool {
	if x.t != y.t {
		return x.t < y.t
	}
	if x.begin != y.begin {
		return x.begin < y.begin
	}
	return x.src < y.src
}

func (m *mergeSource) less(a, b int) bool { return m.before(&m.heap[a], &m.heap[b]) }

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
	names := make([]string, len(m.members))
	for i, mb := range m.members {
		names[i] = mb.name
	}
	return strings.Join(names, ",")
}

// Progress sums the members' progress; total is -1 when a member does not know its size.
// It is safe to call from another goroutine when the members' Progress methods are.
func (m *mergeSource) Progress() (done, total int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, mb := range m.members {
		d, t := mb.progress()
		done += d
		if t < 0 || total < 0 {
			total = -1
		} else {
			total += t
		}
	}
	return done, total
}

// Close closes every member still open and returns their errors joined.
func (m *mergeSource) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	var errs []error
	for _, mb := range m.members {
		if mb.src != nil {
			errs = append(errs, mb.src.Close())
			mb.src = nil
		}
	}
	return errors.Join(errs...)
}
