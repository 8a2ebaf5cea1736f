package decode

import (
	"io"
	"strconv"
	"time"

	"github.com/ntpwatch/ntpwatch/internal/setting"
)

// Selection picks the frames of a source that a run analyses, as an analyst narrows a capture
// with tcpdump's filter expression and -c, or editcap's -A and -B. The zero value passes
// every frame.
type Selection struct {
	// Filter is a capture filter in pcap-filter(7) syntax, compiled by libpcap for each link
	// type met and run on each frame as tcpdump -r runs it; "" passes every frame.
	Filter string
	// Count ends the source after this many frames passed (tcpdump -c); 0 for no limit.
	Count uint64
	// Start and End bound the packet times passed to [Start, End); a zero time leaves that
	// side open. Frames outside are skipped, not taken as the end: a capture's timestamps
	// are not always in order.
	Start, End time.Time
}

// IsZero tells whether s passes every frame.
func (s Selection) IsZero() bool {
	return s.Filter == "" && s.Count == 0 && s.Start.IsZero() && s.End.IsZero()
}

// Selected is a Source that hands over the frames of another that its Selection passes.
// Like every Source it belongs to one goroutine; Skipped may be read once Next has returned
// for the last time.
type Selected struct {
	src     Source
	sel     Selection
	filters map[LinkType]*frameFilter
	passed  uint64
	skipped uint64
}

// Select wraps src so that only the frames sel passes come out of it. The filter is compiled
// at once for Ethernet, so that an expression libpcap cannot read is an error here, before
// anything is read: a *setting.Error keyed "bpf". An error leaves src open.
func Select(src Source, sel Selection) (*Selected, error) {
	s := &Selected{src: src, sel: sel, filters: map[LinkType]*frameFilter{}}
	if sel.Filter != "" {
		ff, err := compileFilter(sel.Filter, LinkTypeEthernet)
		if err != nil {
			return nil, setting.Errorf("bpf", strconv.Quote(sel.Filter), "%w", err)
		}
		s.filters[LinkTypeEthernet] = ff
	}
	if !sel.Start.IsZero() && !sel.End.IsZero() && !sel.End.After(sel.Start) {
		return nil, setting.Errorf("end", sel.End.UTC().Format(time.RFC3339Nano), "must be after the start, %s",
			sel.Start.UTC().Format(time.RFC3339Nano))
	}
	return s, nil
}

// Next returns the next frame the selection passes, and io.EOF once Count frames passed.
func (s *Selected) Next(f *Frame) error {
	if s.sel.Count > 0 && s.passed >= s.sel.Count {
		return io.EOF
	}
	for {
		if err := s.src.Next(f); err != nil {
			return err
		}
		ok, err := s.passes(f)
		if err != nil {
			return err
		}
		if ok {
			s.passed++
			return nil
		}
		s.skipped++
	}
}

func (s *Selected) passes(f *Frame) (bool, error) {
	if !s.sel.Start.IsZero() && f.Time.Before(s.sel.Start) || !s.sel.End.IsZero() && !f.Time.Before(s.sel.End) {
		return false, nil
	}
	if s.sel.Filter == "" {
		return true, nil
	}
	ff, err := s.filter(f.Link)
	if err != nil {
		return false, err
	}
	return ff.matches(f), nil
}

// filter returns the filter compiled for link, compiling it on first use.
func (s *Selected) filter(link LinkType) (*frameFilter, error) {
	if ff, ok := s.filters[link]; ok {
		return ff, nil
	}
	ff, err := compileFilter(s.sel.Filter, link)
	if err != nil {
		return nil, setting.Errorf("bpf", strconv.Quote(s.sel.Filter), "%s frames: %w", link, err)
	}
	s.filters[link] = ff
	return ff, nil
}

// Skipped is the count of frames read but not passed: outside the window or refused by the
// filter; 0 for a nil Selected, which passes everything.
func (s *Selected) Skipped() uint64 {
	if s == nil {
		return 0
	}
	return s.skipped
}

// Name is the wrapped source's.
func (s *Selected) Name() string { return s.src.Name() }

// Close closes the wrapped source.
func (s *Selected) Close() error { return s.src.Close() }

// Progress is the wrapped source's, or unknown (-1) when it does not know.
func (s *Selected) Progress() (done, total int64) {
	if p, ok := s.src.(Progresser); ok {
		return p.Progress()
	}
	return 0, -1
}
