package report

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"

	"github.com/ntpwatch/ntpwatch/decode"
	"golang.org/x/sys/unix"
)

// TestNoBarOnAFile: a stderr redirected to a file gets no bar, only the warnings.
func TestNoBarOnAFile(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if p := StartProgress(f, nil, false, nil, nil); p.bar != nil {
		t.Error("StartProgress drew a bar on a file")
	}
}

// pseudoTerminal opens a new pseudo-terminal and returns its terminal side; what is written
// there is read and dropped.
func pseudoTerminal(t *testing.T) *os.File {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("the pseudo-terminal of this test is Linux's /dev/ptmx")
	}
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	go io.Copy(io.Discard, m)
	t.Cleanup(func() { s.Close(); m.Close() })
	return s
}

// progressSource is a source that knows how far it is.
type progressSource struct{ decode.Source }

func (progressSource) Progress() (done, total int64) { return 1, 2 }

// TestBarOnlyWithoutStdout draws the bar on a real terminal only when the alert lines of
// stdout cannot land on that same terminal.
func TestBarOnlyWithoutStdout(t *testing.T) {
	tty := pseudoTerminal(t)
	sameTTY, err := os.OpenFile(tty.Name(), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer sameTTY.Close()
	file, err := os.Create(filepath.Join(t.TempDir(), "alerts.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	cases := []struct {
		name   string
		stdout io.Writer
		bar    bool
	}{
		{"nothing on stdout", nil, true},
		{"stdout redirected to a file", file, true},
		{"stdout on another terminal", pseudoTerminal(t), true},
		{"stdout on the same terminal", sameTTY, false},
		{"stdout is stderr", tty, false},
	}
	for _, tc := range cases {
		p := StartProgress(tty, tc.stdout, false, progressSource{}, func() uint64 { return 0 })
		if got := p.bar != nil; got != tc.bar {
			t.Errorf("%s: bar drawn %v, want %v", tc.name, got, tc.bar)
		}
		p.Finish()
	}
	if p := StartProgress(tty, nil, true, progressSource{}, func() uint64 { return 0 }); p.bar != nil {
		t.Error("--quiet: a bar was drawn")
	}
}
