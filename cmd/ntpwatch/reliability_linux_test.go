package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// pipeBuffered returns the bytes written to a pipe and not read yet (FIONREAD), or skips
// the test where that cannot be asked.
func pipeBuffered(t *testing.T, w *os.File) int {
	t.Helper()
	sc, err := w.SyscallConn()
	if err != nil {
		t.Skip(err)
	}
	var n int32
	var errno syscall.Errno
	sc.Control(func(fd uintptr) {
		_, _, errno = syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TIOCINQ, uintptr(unsafe.Pointer(&n)))
	})
	if errno != 0 {
		t.Skipf("FIONREAD on a pipe: %v", errno)
	}
	return int(n)
}

// TestReadStdinSIGTERM runs `ntpwatch read -` on a pipe that stays open and quiet after a
// few hundred frames: SIGTERM must end the run at once (before, it waited for the writer to
// write or close) with the alerts and the summary of what was read, and exit status 0.
func TestReadStdinSIGTERM(t *testing.T) {
	bin := builtNtpwatch(t)
	repoRoot(t)
	frames := sampleFrames(t, "pcaps/reflection.pcap")
	head := filepath.Join(t.TempDir(), "head.pcap")
	writeCapture(t, head, frames[:500])
	data, _ := os.ReadFile(head)

	cmd := exec.Command(bin, "read", "--sensor", "test", "-")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	var stdout, stderr bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = r, &stdout, &stderr
	err = cmd.Start()
	r.Close()
	if err != nil {
		t.Fatal(err)
	}
	killAtCleanup(t, cmd)
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	// Once ntpwatch has read the pipe empty, its signal handler is in place (main installs
	// it before anything is read) and it waits for more; the deadline is a hang guard.
	for deadline := time.Now().Add(hangGuard); pipeBuffered(t, w) > 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("ntpwatch never read its stdin")
		}
	}
	t.Logf("SIGTERM to exit: %s", terminate(t, cmd, &stderr))
	if !strings.Contains(stderr.String(), "interrupted") || !strings.Contains(stderr.String(), "ntpwatch summary") {
		t.Errorf("stderr does not say the run was interrupted, or has no summary:\n%s", stderr.String())
	}
	if !bytes.Contains(stdout.Bytes(), []byte(`"kind":"exposed_amplifier","state":"end"`)) {
		t.Errorf("the incidents of the frames read were not ended:\n%s", stdout.String())
	}
}
