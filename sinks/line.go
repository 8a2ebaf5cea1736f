package sinks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"syscall"

	"github.com/ntpwatch/ntpwatch/internal/setting"
)

// maxLineBatch bounds how many bytes of queued alerts a line sink gathers into one write.
const maxLineBatch = 64 << 10

// lineSink writes one alert per line to stdout or to a file. Alerts already queued are
// gathered into one write, so a burst costs one system call, not one per alert.
type lineSink struct {
	mu   sync.Mutex // guards w and f against Reopen
	w    io.Writer
	f    *os.File // nil for stdout
	path string
}

// openLineSink opens path for appending, creating it with mode 0644.
func openLineSink(path string) (*lineSink, error) {
	f, err := openAppend(path)
	if err != nil {
		return nil, err
	}
	return &lineSink{w: f, f: f, path: path}, nil
}

func openAppend(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, &setting.Error{Key: "file", Err: err}
	}
	return f, nil
}

func (s *lineSink) run(_ context.Context, q <-chan message, c *counters) {
	var buf []byte
	broken := false
	for m := range q {
		if broken {
			c.given.Add(1) // lost: counted by their absence from delivered
			continue
		}
		buf = append(append(buf[:0], m.value...), '\n')
		n := uint64(1)
	gather:
		for len(buf) < maxLineBatch {
			select {
			case m, ok := <-q:
				if !ok {
					break gather
				}
				buf = append(append(buf, m.value...), '\n')
				n++
			default:
				break gather
			}
		}
		if err := s.write(buf); err != nil {
			c.fail(err)
			c.given.Add(n)
			// Nobody reads a closed pipe again (`ntpwatch read ... | head -1`): the
			// remaining alerts are lost for this sink only, without a write each.
			broken = errors.Is(err, syscall.EPIPE)
			continue
		}
		c.delivered.Add(n)
	}
}

// write writes buf whole. A short write is an error (io.Writer's contract), so the alerts of
// buf are then counted as lost even if some of their lines made it out.
func (s *lineSink) write(buf []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.w.Write(buf); err != nil {
		if s.f != nil {
			return fmt.Errorf("write %s: %w", s.path, err)
		}
		return fmt.Errorf("write stdout: %w", err)
	}
	return nil
}

// reopen swaps the file for a freshly opened one of the same name. When the open fails the old
// file is kept, so alerts keep flowing to the renamed file rather than nowhere.
func (s *lineSink) reopen() error {
	f, err := openAppend(s.path)
	if err != nil {
		return err
	}
	s.mu.Lock()
	old := s.f
	s.w, s.f = f, f
	s.mu.Unlock()
	if err := old.Close(); err != nil {
		return fmt.Errorf("close %s: %w", s.path, err)
	}
	return nil
}

func (s *lineSink) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f = nil
	if err != nil {
		return fmt.Errorf("close %s: %w", s.path, err)
	}
	return nil
}
