//go:build unix

package decode

import (
	"context"
	"io"
	"os"
	"sync"
	"syscall"
	"time"
)

// interruptible returns f as a reader whose reads end when ctx does, with the function that
// stops watching ctx. That needs a file the runtime polls: a pipe from os.Pipe is one, but
// the standard input a process inherits is in blocking mode, and a read of it on a quiet
// pipe would hold a stop until the writer writes or closes. A pipe, FIFO or socket is then
// put in non-blocking mode and wrapped in a file the runtime polls, whose read deadline ctx
// sets. Anything else (a regular file, a terminal) is returned as it is.
func interruptible(ctx context.Context, f *os.File) (io.Reader, func() bool) {
	p := pollable(f)
	if p == nil {
		return f, func() bool { return true }
	}
	return p, context.AfterFunc(ctx, func() { p.SetReadDeadline(time.Unix(1, 0)) })
}

var (
	pollMu sync.Mutex
	// polled keeps the pollable files made of inherited descriptors for the life of the
	// process: a garbage-collected *os.File closes its descriptor, here the standard input.
	polled = map[uintptr]*os.File{}
)

// pollable returns f, or a pollable file over f's descriptor, or nil when there is none.
func pollable(f *os.File) *os.File {
	if f.SetReadDeadline(time.Time{}) == nil {
		return f
	}
	fi, err := f.Stat()
	if err != nil || fi.Mode()&(os.ModeNamedPipe|os.ModeSocket) == 0 {
		return nil
	}
	fd := f.Fd()
	pollMu.Lock()
	defer pollMu.Unlock()
	if p, ok := polled[fd]; ok {
		return p
	}
	if err := syscall.SetNonblock(int(fd), true); err != nil {
		return nil
	}
	p := os.NewFile(fd, f.Name()) // pollable, as the descriptor is now non-blocking
	polled[fd] = p
	if p.SetReadDeadline(time.Time{}) != nil {
		syscall.SetNonblock(int(fd), false)
		return nil
	}
	return p
}
