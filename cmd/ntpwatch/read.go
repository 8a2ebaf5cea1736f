package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ntpwatch/ntpwatch/decode"
	"github.com/ntpwatch/ntpwatch/internal/config"
	"github.com/ntpwatch/ntpwatch/internal/pipeline"
	"github.com/ntpwatch/ntpwatch/sinks/report"
)

const readUsage = `usage: ntpwatch read [flags] FILE|- ...

Analyses capture files (pcap or pcapng, gzip-compressed or not; - reads stdin) and writes
alerts for UDP reflection/amplification attacks.

examples:
  ntpwatch read pcaps/reflection.pcap
  tcpdump -i eth0 -w - 'udp port 123' | ntpwatch read -
  ntpwatch read --home-net 198.51.100.0/24 --ntp-log ntp.jsonl dump-*.pcap.gz

flags:
`

// analystOptions are the read flags for what the analyst gets besides alerts. They are
// outputs of one run, not configuration, so they live outside Config and its YAML file.
type analystOptions struct {
	summaryJSON string
	report      string
}

func (o *analystOptions) flags(fs *flag.FlagSet, _ *config.Config) {
	fs.StringVar(&o.summaryJSON, "summary-json", o.summaryJSON, "also write the end-of-run summary as JSON to `file`, for scripts")
	fs.StringVar(&o.report, "report", o.report, "write an HTML report (timeline per incident, incident table, top talkers) to `file`")
}

// clock is the wall clock of the elapsed time in the summary; tests stop it.
var clock = time.Now

func runRead(ctx context.Context, e env) error {
	var opts analystOptions
	cfg, files, err := parseConfig("read", readUsage, e.args, e.stderr, opts.flags)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return usagef("no capture file given (use - for stdin); 'ntpwatch read -h' for help")
	}
	started := clock()
	// Warnings wait while the progress bar is drawn, so that a line never tears it.
	var prog *report.Progress
	warn := func(err error) {
		if prog == nil {
			stderrWarn(e)(err)
			return
		}
		prog.Warn(err)
	}
	// A file that fails while it is read ends there, the others are read on, and the run
	// ends with exit status 2 once its alerts and summary are out.
	var bad badFiles
	src, err := decode.OpenFiles(ctx, files, func(err error) {
		bad.add(err)
		warn(err)
	})
	if err != nil {
		return usageError{err}
	}
	// The analyst's files are created now, so that a path that cannot be written is found
	// before an hour of reading, not after.
	aux, err := opts.create()
	if err != nil {
		src.Close()
		return err
	}
	defer aux.discard()
	// The files are one timeline whatever their order on the command line, so the alerts
	// name them in one order too: a rotated set given out of order gives the same alerts.
	cfg.Detect.Source = strings.Join(slices.Sorted(slices.Values(files)), ",")
	a, err := startAnalysis(ctx, cfg, e, []decode.Source{src}, pipeline.FileFlush, warn)
	if err != nil {
		return err
	}
	prog = report.StartProgress(e.stderr, cfg.Quiet, src, a.p.Frames)
	res, runErr := a.run(ctx)
	prog.Finish()
	// Ctrl-C ends a long read early, as it does tcpdump's: what was read is analysed to the
	// end (its incidents end, the outputs drain), the summary says so, and the status is 0.
	if res.Interrupted {
		fmt.Fprintf(e.stderr, "ntpwatch: interrupted: the alerts and the summary cover the %d frames read before\n", res.Decode.Frames)
	}
	s := report.Build(report.Input{
		Files: files, Decode: res.Decode, Engine: res.Engine, Outputs: res.Outputs,
		First: res.First, Last: res.Last, Seen: res.Seen, Elapsed: clock().Sub(started), Interrupted: res.Interrupted,
		FragmentCap: res.FragmentCap,
	})
	s.WriteText(e.stderr)
	errs := []error{runErr, aux.write(s), bad.err(len(files))}
	return errors.Join(errs...)
}

// analystFiles are the --summary-json and --report files of a run, created at its start.
type analystFiles struct {
	summaryJSON, report     *os.File
	summaryPath, reportPath string
}

// create creates the files of o, or returns an error (exit status 2) naming the flag.
func (o *analystOptions) create() (*analystFiles, error) {
	a := &analystFiles{summaryPath: o.summaryJSON, reportPath: o.report}
	var err error
	if o.summaryJSON != "" {
		if a.summaryJSON, err = os.Create(o.summaryJSON); err != nil {
			return nil, usagef("--summary-json: %w", err)
		}
	}
	if o.report != "" {
		if a.report, err = os.Create(o.report); err != nil {
			a.discard()
			return nil, usagef("--report: %w", err)
		}
	}
	return a, nil
}

// write writes the summary into the files and closes them. A failure is reported for each
// file, once, and never stops the other.
func (a *analystFiles) write(s report.Summary) error {
	var errs []error
	if a.summaryJSON != nil {
		errs = append(errs, writeFile("--summary-json", a.summaryPath, a.summaryJSON, s.WriteJSON))
		a.summaryJSON = nil
	}
	if a.report != nil {
		errs = append(errs, writeFile("--report", a.reportPath, a.report, s.WriteHTML))
		a.report = nil
	}
	return errors.Join(errs...)
}

// discard removes the files that were not written: the run stopped before its summary.
func (a *analystFiles) discard() {
	for _, f := range []*os.File{a.summaryJSON, a.report} {
		if f != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}
}

// writeFile writes the file of an output flag with write and closes it.
func writeFile(flagName, path string, f *os.File, write func(w io.Writer) error) error {
	err := write(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("%s %s: %w", flagName, path, err)
	}
	return nil
}

// badFiles collects the failures of files read in part (truncations excepted, which are
// warnings only). add is called from the reader's goroutine, err after the run.
type badFiles struct {
	mu   sync.Mutex
	errs []error
}

func (b *badFiles) add(err error) {
	if errors.Is(err, decode.ErrTruncated) {
		return
	}
	b.mu.Lock()
	b.errs = append(b.errs, err)
	b.mu.Unlock()
}

// err is the run's bad input (exit status 2), or nil: a count and the first file's error,
// on one line; the warnings above named each.
func (b *badFiles) err(files int) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch len(b.errs) {
	case 0:
		return nil
	case 1:
		return usageError{fmt.Errorf("%w; the alerts and the summary cover what was read", b.errs[0])}
	}
	return usageError{fmt.Errorf("%d of %d files could not be read to the end (the first: %w); the alerts and the summary cover what was read",
		len(b.errs), files, b.errs[0])}
}
