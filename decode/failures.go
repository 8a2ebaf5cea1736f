package decode

import (
	"errors"
	"fmt"
	"sync"
)

// Failures collects the errors of the files of OpenFiles that could be read only in part
// (truncations excepted, which are warnings only). Add may be called from the reader's
// goroutine, Err after the run.
type Failures struct {
	mu   sync.Mutex
	errs []error
}

// Add notes one file's failure.
func (f *Failures) Add(err error) {
	if errors.Is(err, ErrTruncated) {
		return
	}
	f.mu.Lock()
	f.errs = append(f.errs, err)
	f.mu.Unlock()
}

// Err is nil when every file was read to its end, or else one line: the count and the first
// file's error (the warnings named each as it came).
func (f *Failures) Err(files int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch len(f.errs) {
	case 0:
		return nil
	case 1:
		return fmt.Errorf("%w; the alerts and the summary cover what was read", f.errs[0])
	}
	return fmt.Errorf("%d of %d files could not be read to the end (the first: %w); the alerts and the summary cover what was read",
		len(f.errs), files, f.errs[0])
}
