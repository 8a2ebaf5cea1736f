//go:build !unix

package decode

import (
	"context"
	"io"
	"os"
)

// interruptible returns f unchanged: outside Unix a read of stdin is not interrupted.
func interruptible(_ context.Context, f *os.File) (io.Reader, func() bool) {
	return f, func() bool { return true }
}
