package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
)

// runPeakRSS runs a command and reports its peak resident memory on stderr, for the memory
// figures of docs/reliability.md and their test:
//
//	ntpgen peakrss [-nofile N] -- COMMAND [ARG...]
//
// The figure is the command's own: a process started by a large one (a test binary) through
// vfork, as Go starts processes, is charged at its exec with the peak of the memory it
// shared, so the command is measured from this small process. -nofile lowers the command's
// limit of open files, soft and hard, as ulimit -n does.
func runPeakRSS(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("peakrss", flag.ContinueOnError)
	nofile := fs.Uint64("nofile", 0, "limit the command's open files to `N` (ulimit -n); 0 leaves the limit")
	// The command's own arguments follow: parse up to them only.
	var argv []string
	for i, a := range args {
		if a == "--" {
			args, argv = args[:i], args[i+1:]
			break
		}
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	if len(argv) == 0 {
		return fmt.Errorf("%w: no command given: ntpgen peakrss [-nofile N] -- COMMAND [ARG...]", errUsage)
	}
	if *nofile > 0 {
		var lim syscall.Rlimit
		if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			return err
		}
		// Both limits, as ulimit -n sets them: a Go program raises its soft limit to the
		// hard one when it starts.
		lim.Cur = min(*nofile, lim.Max)
		lim.Max = lim.Cur
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			return err
		}
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, stdout, os.Stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		return err
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		fmt.Fprintf(os.Stderr, "ntpgen peakrss: peak RSS %d KiB, exit status %d\n", maxrssBytes(ru.Maxrss)>>10, cmd.ProcessState.ExitCode())
	}
	return err
}
