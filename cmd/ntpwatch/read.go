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
	sources := make([]decode.Source, 0, len(files))
	for _, name := range files {
		src, err := decode.Open(name)
		if err != nil {
			closeSources(sources)
			return usageError{err}
		}
		sources = append(sources, src)
	}
	// The files are one timeline whatever their order on the command line, so the alerts
	// name them in one order too: a rotated set given out of order gives the same alerts.
	cfg.Detect.Source = strings.Join(slices.Sorted(slices.Values(files)), ",")
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
	// One file needs no merge: the reader sees its truncation itself, and every frame saves
	// a call through the merge.
	src := sources[0]
	if len(sources) > 1 {
		src = decode.Merge(sources, warn)
	}
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
	errs := []error{runErr}
	if opts.summaryJSON != "" {
		errs = append(errs, writeFile("--summary-json", opts.summaryJSON, s.WriteJSON))
	}
	if opts.report != "" {
		errs = append(errs, writeFile("--report", opts.report, s.WriteHTML))
	}
	return errors.Join(errs...)
}

// writeFile writes a file of an output flag with write.
func writeFile(flagName, path string, write func(w io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("%s: %w", flagName, err)
	}
	err = write(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("%s %s: %w", flagName, path, err)
	}
	return nil
}
