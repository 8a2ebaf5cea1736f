package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/ntpwatch/ntpwatch/decode"
	"github.com/ntpwatch/ntpwatch/decode/flow"
	"github.com/ntpwatch/ntpwatch/internal/buildinfo"
	"github.com/ntpwatch/ntpwatch/internal/config"
	"github.com/ntpwatch/ntpwatch/internal/pipeline"
	"github.com/ntpwatch/ntpwatch/sinks"
	"github.com/ntpwatch/ntpwatch/sinks/report"
)

// readOptions are the read flags for what is read and for what the analyst gets besides
// alerts. They belong to one run, not to the configuration, so they live outside Config and
// its YAML file.
type readOptions struct {
	summaryJSON string
	report      string
	files       []string // -r
	sel         decode.Selection
	flows       bool // the files hold sFlow, IPFIX or NetFlow datagrams
}

func (o *readOptions) flags(fs *flag.FlagSet, cfg *config.Config) {
	o.files = nil // the flags are parsed again over a --config file's values
	fs.StringVar(&o.summaryJSON, "summary-json", o.summaryJSON, "also write the end-of-run summary as JSON to `file` (- for stdout), for scripts")
	fs.StringVar(&o.report, "report", o.report, "write an HTML report (timeline per incident, incident table, top talkers) to `file` (- for stdout, if nothing else goes there)")
	fs.Func("r", "read capture `FILE`, as tcpdump -r (again for more files); the words after the flags are then a capture filter", func(s string) error {
		o.files = append(o.files, s)
		return nil
	})
	fs.StringVar(&o.sel.Filter, "bpf", o.sel.Filter, "capture filter `expression` (pcap-filter(7)): analyse only the frames it passes")
	fs.Uint64Var(&o.sel.Count, "c", o.sel.Count, "stop after `N` frames, counted after the filter and the time window, as tcpdump -c")
	fs.Var(config.Time{T: &o.sel.Start}, "start", "analyse the frames from this packet `time` on: 2026-03-14T09:00:00Z, '2026-03-14 09:00:00' (UTC) or Unix seconds")
	fs.Var(config.Time{T: &o.sel.End}, "end", "analyse the frames before this packet `time`")
	fs.BoolVar(&o.flows, "flows", o.flows, "the files are captures of the sFlow, IPFIX and NetFlow datagrams exporters sent to a collector, "+
		"on the ports of --sflow, --ipfix and --netflow (default 6343, 4739, 2055)")
	flowFlags(fs, cfg)
}

// readFlagOf names the flag of each decode.Selection key, for its errors.
var readFlagOf = map[string]string{"bpf": "--bpf", "end": "--end"}

// inputs returns the files to read, and takes the words of a capture filter: FILE... [--
// FILTER], or, as tcpdump reads its command line, -r FILE [FILTER].
func (o *readOptions) inputs(p parsed) ([]string, error) {
	files := p.pos
	if len(o.files) > 0 {
		files = o.files
		p.rest = append(p.pos, p.rest...)
	}
	filter, err := filterWords(p)
	if err != nil {
		return nil, err
	}
	if filter != "" {
		o.sel.Filter = filter
	}
	if len(files) == 0 {
		return nil, usagef("no capture file given (use - for stdin); 'ntpwatch read -h' for help")
	}
	return files, nil
}

// checkStdout refuses an HTML report on stdout when something else goes there: a page with
// JSON lines around it opens nowhere. JSON outputs share stdout line by line.
func (o *readOptions) checkStdout(cfg *config.Config) error {
	if !sinks.IsStdout(o.report) {
		return nil
	}
	var others []string
	for what, there := range map[string]bool{"the alerts": cfg.Output.WritesStdout(),
		"--ntp-log": sinks.IsStdout(cfg.NTPLog), "--summary-json": sinks.IsStdout(o.summaryJSON)} {
		if there {
			others = append(others, what)
		}
	}
	if len(others) == 0 {
		return nil
	}
	slices.Sort(others)
	return usagef("--report %s: stdout carries %s already, and an HTML page needs it alone; send the alerts elsewhere (--sink file --out FILE) or write the report to a file",
		o.report, strings.Join(others, " and "))
}

// clock is the wall clock of the elapsed time in the summary; tests stop it.
var clock = time.Now

func runRead(ctx context.Context, e env) error {
	var opts readOptions
	cfg, p, err := parseConfig("read", readUsage, e.args, e.stderr, packetFlags, opts.flags)
	if err != nil {
		return err
	}
	files, err := opts.inputs(p)
	if err != nil {
		return err
	}
	if err := opts.checkStdout(cfg); err != nil {
		return err
	}
	for _, f := range []string{"sflow", "ipfix", "netflow", "default-sampling-rate"} {
		if p.set[f] && !opts.flows {
			return usagef("--%s applies to captures of flow datagrams: add --flows", f)
		}
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
	var bad decode.Failures
	src, err := decode.OpenFiles(ctx, files, func(err error) {
		bad.Add(err)
		warn(err)
	})
	if err != nil {
		return usageError{err}
	}
	// The analyst's files are created now, so that a path that cannot be written is found
	// before an hour of reading, not after.
	aux, err := report.CreateFiles(opts.summaryJSON, opts.report, sinks.IsStdout)
	if err != nil {
		src.Close()
		return usageError{err}
	}
	defer aux.Discard()
	var sel *decode.Selected
	if !opts.sel.IsZero() {
		if sel, err = decode.Select(src, opts.sel); err != nil {
			src.Close()
			return usageError{err}
		}
		src = sel
	}
	// The files are one timeline whatever their order on the command line, so the alerts
	// name them in one order too: a rotated set given out of order gives the same alerts.
	cfg.Detect.Source = strings.Join(slices.Sorted(slices.Values(files)), ",")
	pc := pipeline.Config{Sources: []decode.Source{src}, Flush: pipeline.FileFlush, Warn: warn}
	if opts.flows {
		col := flow.NewCollector(cfg.Flow.Collector())
		pc.Sources, pc.PacketSources = nil, []decode.PacketSource{col.Capture(src, cfg.Flow.Ports())}
		pc.Flows = col.Stats
	}
	a, err := startPipeline(ctx, cfg, e, pc)
	if err != nil {
		return err
	}
	// The bar is drawn only where it cannot tear a line of stdout on the same terminal.
	var busy io.Writer
	if cfg.Output.WritesStdout() || sinks.IsStdout(cfg.NTPLog) {
		busy = e.stdout
	}
	prog = report.StartProgress(e.stderr, busy, cfg.Quiet, src, a.p.Frames)
	res, runErr := a.run(ctx)
	prog.Finish()
	// Ctrl-C ends a long read early, as it does tcpdump's: what was read is analysed to the
	// end (its incidents end, the outputs drain), the summary says so, and the status is 0.
	if res.Interrupted && !cfg.Quiet {
		fmt.Fprintf(e.stderr, "ntpwatch: interrupted: the alerts and the summary cover the %d frames read before\n", res.Decode.Frames)
	}
	if opts.flows && res.Flows.Empty() {
		warn(fmt.Errorf("--flows: no sFlow, NetFlow or IPFIX datagram to UDP port %s in the input; --sflow, --netflow and --ipfix say which ports the exports went to",
			cfg.Flow.Ports()))
	}
	s := report.Build(report.Input{
		Files: files, Decode: res.Decode, Engine: res.Engine, Outputs: res.Outputs,
		First: res.First, Last: res.Last, Seen: res.Seen, Elapsed: clock().Sub(started), Interrupted: res.Interrupted,
		FragmentCap: res.FragmentCap, Selection: opts.sel, Skipped: sel.Skipped(), Sensor: cfg.Sensor,
		Version: buildinfo.Read().String(), Flows: res.Flows,
	})
	if !cfg.Quiet {
		s.WriteText(e.stderr)
	}
	errs := []error{runErr, aux.Write(e.out, &s)}
	if err := bad.Err(len(files)); err != nil {
		errs = append(errs, usageError{err})
	}
	return errors.Join(errs...)
}
