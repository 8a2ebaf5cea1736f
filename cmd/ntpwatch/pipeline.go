package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/ntpwatch/ntpwatch/decode"
	"github.com/ntpwatch/ntpwatch/detect"
	"github.com/ntpwatch/ntpwatch/sinks"
)

// pipeline carries frames from sources through the decoder and the detection engine to the
// outputs. It belongs to one goroutine.
type pipeline struct {
	dec    *decode.Decoder
	eng    *detect.Engine
	out    *sinks.Output
	pkt    decode.Packet
	stderr io.Writer

	ntpLog    *bufio.Writer
	ntpLogF   *os.File
	ntpLogBuf []byte

	frames  uint64
	alerts  uint64
	started time.Time
}

func newPipeline(ctx context.Context, cfg *Config, e env) (*pipeline, error) {
	out, err := sinks.Open(ctx, cfg.Output, e.stdout)
	if err != nil {
		return nil, err
	}
	p := &pipeline{dec: decode.NewDecoder(), out: out, stderr: e.stderr, started: time.Now()}
	cfg.Detect.Sensor = cfg.Sensor
	p.eng = detect.NewEngine(cfg.Detect, p.emit)
	if cfg.NTPLog != "" {
		f, err := os.OpenFile(cfg.NTPLog, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
		if err != nil {
			out.Close(ctx)
			return nil, usagef("--ntp-log: %w", err)
		}
		p.ntpLogF, p.ntpLog = f, bufio.NewWriterSize(f, 1<<16)
	}
	return p, nil
}

func (p *pipeline) emit(a *detect.Alert) {
	p.alerts++
	p.out.Send(a)
}

// feed analyses every frame of src. A source cut short in a record is a warning, not an
// error: everything before the cut has been analysed.
func (p *pipeline) feed(ctx context.Context, src decode.Source) error {
	for {
		data, ci, link, err := src.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			if errors.Is(err, decode.ErrTruncated) {
				fmt.Fprintf(p.stderr, "ntpwatch: warning: %v\n", err)
				return nil
			}
			return err
		}
		p.frames++
		if p.frames&0xffff == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		if p.dec.Decode(data, ci, link, &p.pkt) == decode.KindNTP && p.ntpLog != nil {
			p.ntpLogBuf = append(decode.AppendNTPLog(p.ntpLogBuf[:0], &p.pkt), '\n')
			if _, err := p.ntpLog.Write(p.ntpLogBuf); err != nil {
				return fmt.Errorf("--ntp-log: %w", err)
			}
		}
		p.eng.Observe(&p.pkt)
	}
}

// close ends every open incident, drains the outputs and closes the NTP log. It returns an
// error when an alert could be neither delivered nor spooled.
func (p *pipeline) close(ctx context.Context) error {
	p.eng.Close()
	var errs []error
	if p.ntpLog != nil {
		if err := p.ntpLog.Flush(); err != nil {
			errs = append(errs, fmt.Errorf("--ntp-log: %w", err))
		}
		if err := p.ntpLogF.Close(); err != nil {
			errs = append(errs, fmt.Errorf("--ntp-log: %w", err))
		}
	}
	rep := p.out.Close(ctx)
	if rep.Failed() {
		errs = append(errs, fmt.Errorf("%d alert(s) could be neither delivered nor spooled", rep.Lost))
	}
	return errors.Join(errs...)
}

// printSummary writes a short account of the run on stderr.
func (p *pipeline) printSummary(w io.Writer) {
	el := time.Since(p.started)
	st := p.dec.Stats()
	_ = st
	fmt.Fprintf(w, "ntpwatch: %d frames, %d alerts in %.2fs\n", p.frames, p.alerts, el.Seconds())
}
