// Package testsrc holds decode.Source implementations for tests and benchmarks: frames held
// in memory, replayed as often as asked.
package testsrc

import (
	"errors"
	"io"
	"testing"
	"time"

	"github.com/ntpwatch/ntpwatch/decode"
)

// Memory replays frames held in memory. With Repeat set it replays them N frames in all,
// shifting their timestamps by the span of the recording at every pass so that packet time
// keeps moving forward, as in a long capture.
type Memory struct {
	Frames []decode.Frame
	// N is the number of frames to return in all; len(Frames) when 0 and Repeat is false.
	N      int
	Repeat bool

	i, done int
	shift   time.Duration
	span    time.Duration
	closed  bool
}

// Next returns the next frame. See decode.Source.
func (m *Memory) Next(f *decode.Frame) error {
	n := m.N
	if n == 0 && !m.Repeat {
		n = len(m.Frames)
	}
	if m.done >= n || len(m.Frames) == 0 {
		return io.EOF
	}
	if m.i == len(m.Frames) {
		if m.span == 0 {
			m.span = m.Frames[len(m.Frames)-1].Time.Sub(m.Frames[0].Time) + time.Second
		}
		m.i, m.shift = 0, m.shift+m.span
	}
	*f = m.Frames[m.i]
	f.Time = f.Time.Add(m.shift)
	m.i++
	m.done++
	return nil
}

// Name is "memory".
func (m *Memory) Name() string { return "memory" }

// Close marks the source closed.
func (m *Memory) Close() error { m.closed = true; return nil }

// Closed reports whether Close was called.
func (m *Memory) Closed() bool { return m.closed }

// Load reads every frame of a capture file into a Memory source, or skips the test when the
// file cannot be opened.
func Load(tb testing.TB, path string) *Memory {
	tb.Helper()
	src, err := decode.Open(path)
	if err != nil {
		tb.Skipf("%v (make pcaps writes the samples)", err)
	}
	defer src.Close()
	m := &Memory{}
	var f decode.Frame
	for {
		err := src.Next(&f)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			tb.Fatal(err)
		}
		f.Data = append([]byte(nil), f.Data...)
		m.Frames = append(m.Frames, f)
	}
	if len(m.Frames) == 0 {
		tb.Skipf("%s has no frames", path)
	}
	return m
}
