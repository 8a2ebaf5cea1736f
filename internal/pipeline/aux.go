package pipeline

import (
	"bufio"
	"fmt"
	"io"

	"github.com/ntpwatch/ntpwatch/decode"
)

// AuxWriter is an auxiliary output of the analysis goroutine, such as the NTP log. Its first
// failure is reported at once (warn) and ends the output; detection goes on regardless, and
// Close returns the failure so that the run's exit status tells of it. It belongs to the
// analysis goroutine.
type AuxWriter struct {
	name string
	w    *bufio.Writer
	c    io.Closer // closed by Close; nil to leave w's destination open (stdout)
	warn func(error)
	line []byte
	err  error
}

// NewAuxWriter writes to w, buffered, and closes c (when not nil) at the end. name is what
// errors call it ("--ntp-log ntp.jsonl"). warn receives the first failure at once.
func NewAuxWriter(name string, w io.Writer, c io.Closer, warn func(error)) *AuxWriter {
	return &AuxWriter{name: name, w: bufio.NewWriterSize(w, 1<<16), c: c, warn: warn}
}

// WriteNTP appends one NTP log line for p. After a failure it does nothing.
func (a *AuxWriter) WriteNTP(p *decode.Packet) {
	if a.err != nil {
		return
	}
	a.line = append(decode.AppendNTPLog(a.line[:0], p), '\n')
	if _, err := a.w.Write(a.line); err != nil {
		a.fail(err)
	}
}

func (a *AuxWriter) fail(err error) {
	a.err = err
	if a.warn != nil {
		a.warn(fmt.Errorf("%s: %w; detection goes on without it", a.name, err))
	}
}

// Close flushes and closes the output and returns its failure, if any.
func (a *AuxWriter) Close() error {
	if a.err == nil {
		if err := a.w.Flush(); err != nil {
			a.fail(err)
		}
	}
	if a.c != nil {
		if err := a.c.Close(); err != nil && a.err == nil {
			a.fail(err)
		}
	}
	if a.err != nil {
		return fmt.Errorf("%s: %w", a.name, a.err)
	}
	return nil
}
