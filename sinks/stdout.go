package sinks

import (
	"bytes"
	"io"
	"sync"
)

// IsStdout tells whether an output's file name means the standard output: "-", as tcpdump
// and tshark read it, or /dev/stdout, which a separate open would write through a second
// file offset, losing lines when stdout is a file.
func IsStdout(name string) bool { return name == "-" || name == "/dev/stdout" }

// Stdout is the one writer of the process's standard output. Every output sent there (the
// stdout sink, a file sink or the NTP log named "-", the summary JSON and the report) writes
// through it, whole lines at a time under one lock, so that the lines of two outputs never
// interleave: stdout is one stream however many outputs share it.
type Stdout struct {
	mu sync.Mutex
	w  io.Writer
}

// NewStdout makes w, the process's standard output, the writer of the outputs sent there.
func NewStdout(w io.Writer) *Stdout { return &Stdout{w: w} }

// Write writes p whole before any other output's write: p must hold whole lines, or one
// whole document.
func (s *Stdout) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// Lines returns a writer for one output that writes to s only whole lines: what follows the
// last newline of a write waits for the rest of its line, or for Close. It belongs to one
// goroutine.
func (s *Stdout) Lines() *LineWriter { return &LineWriter{s: s} }

// LineWriter passes whole lines to a Stdout. See Stdout.Lines.
type LineWriter struct {
	s    *Stdout
	tail []byte // the start of a line whose newline has not come yet
}

// Write writes the whole lines of the tail and p, and keeps the start of the last line.
func (l *LineWriter) Write(p []byte) (int, error) {
	end := bytes.LastIndexByte(p, '\n')
	if end < 0 {
		l.tail = append(l.tail, p...)
		return len(p), nil
	}
	out := p[:end+1]
	if len(l.tail) > 0 {
		out = append(l.tail, out...)
	}
	_, err := l.s.Write(out)
	l.tail = append(l.tail[:0], p[end+1:]...)
	if err != nil {
		return 0, err
	}
	return len(p), nil
}

// Close writes what is left of a last line without a newline. It leaves stdout open.
func (l *LineWriter) Close() error {
	if len(l.tail) == 0 {
		return nil
	}
	_, err := l.s.Write(l.tail)
	l.tail = nil
	return err
}
