package main

import (
	"context"
	"errors"
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
	cfg, files, err := parseConfig("read", readUsage, e.args, e.stderr)
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
	cfg.Detect.Source = strings.Join(files, ",")
	p, err := newPipeline(ctx, cfg, e)
	if err != nil {
		return err
	}
	runErr := p.run(ctx, sources)
	if err := p.close(ctx); err != nil {
		return errors.Join(runErr, err)
	}
	if runErr != nil {
		return runErr
	}
	p.printSummary(e.stderr)
	return nil
}
