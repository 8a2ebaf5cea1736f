package sinks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ntpwatch/ntpwatch/detect"
)

// message is one formatted alert on its way to the sinks. Its bytes are shared by all sinks and
// never written to after Send.
type message struct {
	key   []byte // the alert's subject address: the Kafka message key
	value []byte // the formatted alert, without a newline
	// meta is what the Kafka sink puts in the message's headers and timestamp, so that a
	// consumer routes or filters without parsing the value.
	meta messageMeta
}

// messageMeta is the alert's schema (the format's: SchemaFor), kind, state and severity, and
// its time.
type messageMeta struct {
	schema, kind, state, severity string
	ts                            time.Time
}

// destination is the part of a sink that differs between stdout, file and Kafka.
type destination interface {
	// run consumes q until it is closed, accounting each message in c. ctx is cancelled when
	// Close runs out of time: run must then stop waiting on the outside world and account for
	// what remains.
	run(ctx context.Context, q <-chan message, c *counters)
	// close releases the destination's resources once run has returned.
	close() error
}

// counters are a sink's running totals. Every message given to a sink ends in exactly one of
// delivered, spooled or lost: dropped (queue full) and failed writes are both lost.
type counters struct {
	enqueued  atomic.Uint64 // accepted into the queue
	dropped   atomic.Uint64 // refused because the queue was full
	delivered atomic.Uint64 // of this run's messages, written or acknowledged
	spooled   atomic.Uint64 // of this run's messages, in the spool now
	replayed  atomic.Uint64 // from an earlier run's spool, delivered by this run
	backlog   atomic.Uint64 // from an earlier run's spool, not delivered yet
	failures  atomic.Uint64 // failed write attempts (a retried message may fail several times)
	given     atomic.Uint64 // messages given up on: neither delivered nor spooled, for Settle

	mu      sync.Mutex
	lastErr error
	openErr error // what Open found (unreadable spool lines), shown whatever follows
}

func (c *counters) fail(err error) {
	c.failures.Add(1)
	c.mu.Lock()
	// A write cut short by a stop says no more than "context canceled": the error met
	// before it, if any, is the one to report.
	if c.lastErr == nil || !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		c.lastErr = err
	}
	c.mu.Unlock()
}

func (c *counters) err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.openErr != nil {
		return errors.Join(c.openErr, c.lastErr)
	}
	return c.lastErr
}

type worker struct {
	name string
	q    chan message
	dest destination
	c    counters
	done chan struct{}
}

// Output fans alerts out to the configured sinks. Send never blocks; Close drains the queues.
type Output struct {
	format func([]byte, *detect.Alert) []byte
	schema string    // of the format, for the messages' headers
	file   *lineSink // the file sink, for Reopen; nil without one

	mu      sync.RWMutex // guards closed against Send on closed queues
	closed  bool
	workers []*worker

	stop    context.CancelFunc // cancels the sinks' context when Close runs out of time
	stopCtx context.Context
}

// Open validates cfg and starts its sinks. stdout is where the stdout sink writes, and a file
// sink whose file is "-" (IsStdout): a *Stdout when other outputs share it. With a kafka
// sink it checks within Kafka.DialTimeout that a broker answers, and first delivers what an
// earlier run spooled. Errors are one line naming the flag to fix.
func Open(ctx context.Context, cfg Config, stdout io.Writer) (*Output, error) {
	if err := cfg.Validate(); err != nil {
		return nil, settingError{err}
	}
	cfg = cfg.withDefaults()
	o := &Output{format: AppendJSON, schema: SchemaFor(cfg.Format)}
	switch cfg.Format {
	case "eve":
		o.format = newEVEFormatter().append
	case "ecs":
		o.format = newECSFormatter().append
	}
	o.stopCtx, o.stop = context.WithCancel(context.Background())
	for _, name := range cfg.Sinks {
		var dest destination
		var err error
		switch name {
		case SinkStdout:
			dest = &lineSink{w: stdout}
		case SinkFile:
			if IsStdout(cfg.File) {
				dest = &lineSink{w: stdout}
				break
			}
			if o.file, err = openLineSink(cfg.File); err != nil {
				err = settingError{err}
			}
			dest = o.file
		case SinkKafka:
			dest, err = openKafka(ctx, cfg.Kafka)
		}
		if err != nil {
			o.abort()
			return nil, err
		}
		o.workers = append(o.workers, &worker{
			name: name, q: make(chan message, cfg.QueueSize), dest: dest, done: make(chan struct{}),
		})
	}
	for _, w := range o.workers {
		if r, ok := w.dest.(interface {
			opened() (backlog, lost uint64, err error)
		}); ok {
			backlog, lost, err := r.opened()
			w.c.backlog.Store(backlog)
			w.c.dropped.Add(lost)
			w.c.openErr = err
		}
		go func() {
			defer close(w.done)
			w.dest.run(o.stopCtx, w.q, &w.c)
		}()
	}
	return o, nil
}

// abort closes the destinations opened so far when a later one fails to open.
func (o *Output) abort() {
	o.stop()
	if o.file != nil {
		o.file.close()
	}
	for _, w := range o.workers {
		w.dest.close()
	}
}

// newMessage is the message of a formatted alert: keyed by its subject, with the meta of
// its headers.
func newMessage(value []byte, schema string, a *detect.Alert) message {
	m := message{value: value, meta: messageMeta{schema: schema, kind: string(a.Kind), state: string(a.State),
		severity: string(a.Severity), ts: a.TS}}
	if s := a.Subject(); s.IsValid() {
		m.key = s.AppendTo(nil)
	}
	return m
}

// SchemaFor names the layout of the alerts of a format: the native schema, ntpwatch.alert/v1,
// or, for EVE and ECS, that schema inside their envelope ("ntpwatch.alert/v1+eve"). The
// Kafka sink puts it in each message's schema header.
func SchemaFor(format string) string {
	switch format {
	case "eve", "ecs":
		return SchemaV1 + "+" + format
	}
	return SchemaV1
}

// Send formats a and queues it for every sink. It never blocks: when a sink's queue is full the
// alert is counted as lost for that sink. Send after Close counts as lost too.
func (o *Output) Send(a *detect.Alert) {
	m := newMessage(o.format(nil, a), o.schema, a)
	o.mu.RLock()
	defer o.mu.RUnlock()
	for _, w := range o.workers {
		if o.closed {
			w.c.dropped.Add(1)
			continue
		}
		select {
		case w.q <- m:
			w.c.enqueued.Add(1)
		default:
			w.c.dropped.Add(1)
		}
	}
}

// Settle waits until every alert sent so far has been delivered, spooled or given up on by
// every sink, or until ctx ends, and reports whether they all were: the fleet aggregator
// commits its progress only once the alerts it emitted before are out.
func (o *Output) Settle(ctx context.Context) bool {
	for {
		settled := true
		for _, w := range o.workers {
			c := &w.c
			if c.delivered.Load()+c.spooled.Load()+c.given.Load() < c.enqueued.Load() {
				settled = false
			}
		}
		if settled {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(settlePoll):
		}
	}
}

// settlePoll is how often Settle looks at the sinks' counts.
const settlePoll = 2 * time.Millisecond

// Reopen closes and reopens the file sink's file, so that after a log rotation renamed it the
// alerts go to a new file of the same name. Without a file sink it does nothing.
func (o *Output) Reopen() error {
	if o.file == nil {
		return nil
	}
	return o.file.reopen()
}

// Close stops accepting alerts and waits until every sink has delivered, spooled or given up on
// what it holds. When ctx ends first, the sinks stop retrying: Kafka spools what remains, and
// whatever is still unaccounted for is reported as lost. A second Close returns an empty Report.
func (o *Output) Close(ctx context.Context) Report {
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		return Report{}
	}
	o.closed = true
	for _, w := range o.workers {
		close(w.q)
	}
	o.mu.Unlock()

	stopOnDeadline := context.AfterFunc(ctx, o.stop)
	defer stopOnDeadline()
	// The sinks had their context cancelled with ctx; they get one grace period together
	// to account for what they hold (Kafka spools it), but Close never hangs on a writer
	// blocked in the kernel (a stdout nobody reads).
	var grace <-chan time.Time
	var r Report
	for _, w := range o.workers {
		finished := true
		select {
		case <-w.done:
		case <-ctx.Done():
			if grace == nil {
				grace = time.After(closeGrace)
			}
			select {
			case <-w.done:
			case <-grace:
				finished = false
			}
		}
		var cerr error
		if finished {
			cerr = w.dest.close()
		}
		r.add(w.report(cerr, finished))
	}
	o.stop()
	return r
}

// Stats returns the running totals of every sink, for metrics. Unlike kafka-go's Stats, the
// values are cumulative.
func (o *Output) Stats() Stats {
	var s Stats
	for _, w := range o.workers {
		s.Sinks = append(s.Sinks, SinkStats{
			Name:       w.name,
			Delivered:  w.c.delivered.Load(),
			Spooled:    w.c.spooled.Load(),
			Replayed:   w.c.replayed.Load(),
			Dropped:    w.c.dropped.Load(),
			Failures:   w.c.failures.Load(),
			QueueDepth: len(w.q),
			QueueSize:  cap(w.q),
		})
	}
	return s
}

// Stats are the cumulative counts of each sink.
type Stats struct {
	Sinks []SinkStats
}

// SinkStats are one sink's cumulative counts.
type SinkStats struct {
	Name       string
	Delivered  uint64 // alerts of this run delivered
	Spooled    uint64 // alerts of this run in the spool now
	Replayed   uint64 // alerts of earlier runs delivered from the spool
	Dropped    uint64 // alerts refused because the queue was full
	Failures   uint64 // failed write attempts, retried or not
	QueueDepth int    // alerts waiting in the queue now
	QueueSize  int    // capacity of the queue
}

// Report is the outcome of a run: every alert given to a sink was delivered, spooled or lost.
// With several sinks an alert counts once per sink.
type Report struct {
	Delivered uint64 // alerts delivered
	Spooled   uint64 // alerts left in the spool for the next run
	Lost      uint64 // alerts neither delivered nor spooled
	Replayed  uint64 // alerts of an earlier run delivered from the spool
	Backlog   uint64 // alerts of an earlier run still in the spool, for the next run
	Sinks     []SinkReport
	// Broken counts the sinks that failed to close or to finish in time: a file that may not
	// hold what was written, a spool whose delivered alerts the next run would send again.
	Broken int
}

// SinkReport is one sink's part of a Report.
type SinkReport struct {
	Name                                        string
	Delivered, Spooled, Lost, Replayed, Backlog uint64
	Err                                         error // the last error the sink met, if any
	Broken                                      bool  // it failed to close or to finish in time
}

// Failed tells whether any alert was lost or a sink broke: the run must then exit with
// status 1.
func (r Report) Failed() bool { return r.Lost > 0 || r.Broken > 0 }

// String summarises r in one line for stderr, sink by sink (each sink accounts for every
// alert), naming what went wrong where alerts were spooled or lost.
func (r Report) String() string {
	parts := make([]string, 0, len(r.Sinks))
	for _, s := range r.Sinks {
		p := fmt.Sprintf("%s: %d delivered, %d spooled, %d lost", s.Name, s.Delivered, s.Spooled, s.Lost)
		if s.Replayed > 0 {
			p += fmt.Sprintf(", %d replayed from the spool", s.Replayed)
		}
		if s.Backlog > 0 {
			p += fmt.Sprintf(", %d of earlier runs still in the spool", s.Backlog)
		}
		if s.Err != nil && (s.Lost > 0 || s.Spooled > 0 || s.Backlog > 0 || s.Broken) {
			p += " (" + strings.ReplaceAll(s.Err.Error(), "\n", "; ") + ")"
		}
		parts = append(parts, p)
	}
	return "alerts: " + strings.Join(parts, "; ")
}

func (r *Report) add(s SinkReport) {
	r.Delivered += s.Delivered
	r.Spooled += s.Spooled
	r.Lost += s.Lost
	r.Replayed += s.Replayed
	r.Backlog += s.Backlog
	if s.Broken {
		r.Broken++
	}
	r.Sinks = append(r.Sinks, s)
}

// report accounts for every message of w. A message enqueued but neither delivered nor spooled
// is lost, whether its write failed or the sink never got to it.
func (w *worker) report(closeErr error, finished bool) SinkReport {
	s := SinkReport{
		Name:      w.name,
		Delivered: w.c.delivered.Load(),
		Spooled:   w.c.spooled.Load(),
		Replayed:  w.c.replayed.Load(),
		Backlog:   w.c.backlog.Load(),
		Err:       w.c.err(),
	}
	accounted := s.Delivered + s.Spooled
	if enq := w.c.enqueued.Load(); enq > accounted {
		s.Lost = enq - accounted
	}
	s.Lost += w.c.dropped.Load()
	if !finished {
		s.Err = errors.Join(s.Err, fmt.Errorf("%s sink did not finish in time", w.name))
	}
	if closeErr != nil {
		s.Err = errors.Join(s.Err, closeErr)
	}
	s.Broken = !finished || closeErr != nil
	return s
}

// closeGrace bounds how long Close waits for the sinks after their context was cancelled:
// with pipeline.CloseTimeout it keeps a stop within 5 s.
const closeGrace = 500 * time.Millisecond
