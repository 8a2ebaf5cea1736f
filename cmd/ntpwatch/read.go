package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/ntpwatch/ntpwatch/decode"
)

const readUsage = `usage: ntpwatch read [flags] FILE|- ...

Analyses capture files (pcap or pcapng, gzip-compressed or not; - reads stdin) and writes
alerts for NTP reflection/amplification attacks.

examples:
  ntpwatch read pcaps/reflection.pcap
  tcpdump -i eth0 -w - 'udp port 123' | ntpwatch read -
  ntpwatch read --home-net 198.51.100.0/24 --ntp-log ntp.jsonl dump-*.pcap.gz

flags:
`

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
	defer func() {
		for _, s := range sources {
			s.Close()
		}
	}()
	for _, name := range files {
		src, err := decode.Open(name)
		if err != nil {
			return usageError{err}
		}
		sources = append(sources, src)
	}
	// The files are one timeline whatever their order on the command line, so the alerts
	// name them in one order too: a rotated set given out of order gives the same alerts.
	cfg.Detect.Source = strings.Join(slices.Sorted(slices.Values(files)), ",")
	p, err := newPipeline(ctx, cfg, e)
	if err != nil {
		return err
	}
	p.startView(&opts)
	var prog *progress
	p.warn = func(err error) { prog.warn(err) }
	// One file needs no merge: the reader sees its truncation itself (p.warn), and every
	// frame saves a call through the merge.
	src := sources[0]
	if len(sources) > 1 {
		src = decode.Merge(sources, p.warn)
	}
	prog = startProgress(e.stderr, cfg.Quiet, src, &p.view.published)
	runErr := p.run(ctx, []decode.Source{src})
	prog.finish()
	// Ctrl-C ends a long read early, as it does tcpdump's: what was read is analysed to the
	// end (its incidents end, the outputs drain), the summary says so, and the status is 0.
	interrupted := errors.Is(runErr, context.Canceled) && ctx.Err() != nil
	if interrupted {
		runErr = nil
	}
	if err := p.close(ctx); err != nil {
		return errors.Join(runErr, err)
	}
	if runErr != nil {
		return runErr
	}
	if interrupted {
		fmt.Fprintf(e.stderr, "ntpwatch: interrupted: the alerts and the summary cover the %d frames read before\n", p.dec.Stats().Frames)
	}
	return p.writeSummaries(e.stderr, files, &opts)
}
