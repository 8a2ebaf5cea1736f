package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/ntpwatch/ntpwatch/decode"
	"github.com/ntpwatch/ntpwatch/internal/config"
	"github.com/ntpwatch/ntpwatch/internal/pipeline"
	"github.com/ntpwatch/ntpwatch/internal/setting"
	"github.com/ntpwatch/ntpwatch/sinks"
)

// analysis is the pipeline of a command, wired from its configuration: outputs and NTP log
// opened, sources given, the command's flush policy.
type analysis struct {
	p   *pipeline.Pipeline
	out *sinks.Output
	cfg *config.Config
	e   env
}

// startAnalysis opens the outputs and the NTP log and prepares the pipeline over sources.
// warn receives the run's warnings (a file cut short, a failing NTP log). On error it closes
// the sources and whatever it opened.
func startAnalysis(ctx context.Context, cfg *config.Config, e env, sources []decode.Source, flush pipeline.Flush, warn func(error)) (*analysis, error) {
	out, err := openOutputs(ctx, cfg.Output, e)
	if err != nil {
		closeSources(sources)
		return nil, err
	}
	pc := pipeline.Config{Sources: sources, Flush: flush, Detect: cfg.Detect, Outputs: out, Warn: warn}
	pc.Detect.Sensor = cfg.Sensor
	switch {
	case sinks.IsStdout(cfg.NTPLog):
		lines := e.out.Lines()
		pc.NTPLog = pipeline.NewAuxWriter("--ntp-log "+cfg.NTPLog, lines, lines, warn)
	case cfg.NTPLog != "":
		f, err := os.OpenFile(cfg.NTPLog, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
		if err != nil {
			closeSources(sources)
			closeOutputs(ctx, out, e.stderr)
			return nil, usagef("--ntp-log: %w", err)
		}
		pc.NTPLog = pipeline.NewAuxWriter("--ntp-log "+cfg.NTPLog, f, f, warn)
	}
	return &analysis{p: pipeline.New(pc), out: out, cfg: cfg, e: e}, nil
}

// run runs the pipeline to its end, reopening the file sink on SIGHUP meanwhile.
func (a *analysis) run(ctx context.Context) (pipeline.Result, error) {
	stopHangups := watchHangups(a.out, a.cfg.Output, a.e)
	res, err := a.p.Run(ctx)
	stopHangups()
	if o := res.Outputs; !a.cfg.Quiet && !o.Failed() && (o.Spooled > 0 || o.Replayed > 0 || o.Backlog > 0) {
		fmt.Fprintf(a.e.stderr, "ntpwatch: %v\n", setting.Rename(errors.New(res.Outputs.String()), flagOf()))
	}
	return res, err
}

func closeSources(srcs []decode.Source) {
	for _, s := range srcs {
		s.Close()
	}
}

// stderrWarn prints a warning on stderr.
func stderrWarn(e env) func(error) {
	return func(err error) { fmt.Fprintf(e.stderr, "ntpwatch: warning: %v\n", setting.Rename(err, flagOf())) }
}
