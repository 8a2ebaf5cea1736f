package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"

	"github.com/ntpwatch/ntpwatch/decode"
	"github.com/ntpwatch/ntpwatch/internal/config"
	"github.com/ntpwatch/ntpwatch/internal/pipeline"
	"github.com/ntpwatch/ntpwatch/internal/setting"
	"github.com/ntpwatch/ntpwatch/sinks"
	"github.com/ntpwatch/ntpwatch/sinks/metrics"
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
	return startPipeline(ctx, cfg, e, pipeline.Config{Sources: sources, Flush: flush, Warn: warn})
}

// startPipeline is startAnalysis of the inputs, flush policy and warnings of pc, which may
// hold sources of observations (a flow collector's).
func startPipeline(ctx context.Context, cfg *config.Config, e env, pc pipeline.Config) (*analysis, error) {
	sources, warn := pc.Sources, pc.Warn
	closeSources := func() {
		closeSources(sources)
		for _, s := range pc.PacketSources {
			s.Close()
		}
	}
	out, err := openOutputs(ctx, cfg.Output, e)
	if err != nil {
		closeSources()
		return nil, err
	}
	pc.Detect, pc.Outputs = cfg.Detect, out
	pc.Detect.Sensor, pc.Detect.Evidence = cfg.Sensor, cfg.Fleet.Evidence()
	if topic := cfg.Fleet.EvidenceTopic; topic != "" {
		if pc.Evidence, err = sinks.OpenEvidence(ctx, cfg.Output.Kafka, topic); err != nil {
			closeSources()
			closeOutputs(ctx, out, e.stderr)
			return nil, err
		}
	}
	switch {
	case sinks.IsStdout(cfg.NTPLog):
		lines := e.out.Lines()
		pc.NTPLog = pipeline.NewAuxWriter("--ntp-log "+cfg.NTPLog, lines, lines, warn)
	case cfg.NTPLog != "":
		f, err := os.OpenFile(cfg.NTPLog, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
		if err != nil {
			closeSources()
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
	// Evidence lost is a warning, not a failure: the sensor's own alerts are out.
	if ev := res.Evidence; ev != nil && (!a.cfg.Quiet || ev.Lost > 0) {
		fmt.Fprintf(a.e.stderr, "ntpwatch: %s to %s\n", ev, a.cfg.Fleet.EvidenceTopic)
	}
	return res, err
}

// listenMetrics binds the address of --metrics-listen, before anything else starts, so that
// a port taken is a usage error; nil when addr is empty.
func listenMetrics(addr string) (net.Listener, error) {
	if addr == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, usagef("--metrics-listen: %w", err)
	}
	return ln, nil
}

// closeListener closes the metrics listener of a run that did not start; nil is none.
func closeListener(ln net.Listener) {
	if ln != nil {
		ln.Close()
	}
}

// serveMetrics serves the run's metrics on ln when it is set, and says where; the function
// returned stops the server and closes ln.
func (a *analysis) serveMetrics(ln net.Listener, cmd string, say func(format string, args ...any)) (stop func()) {
	if ln == nil {
		return func() {}
	}
	stopServer := metrics.Serve(ln, a.p.Snapshot, nil)
	say("ntpwatch %s: metrics on http://%s/metrics\n", cmd, ln.Addr())
	return func() {
		stopServer()
		ln.Close()
	}
}

// sayer prints a command's progress lines on stderr; nothing with --quiet.
func sayer(cfg *config.Config, e env) func(format string, args ...any) {
	return func(format string, args ...any) {
		if !cfg.Quiet {
			fmt.Fprintf(e.stderr, format, args...)
		}
	}
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
