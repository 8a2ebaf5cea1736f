// Package fleet is the aggregator of `ntpwatch aggregate`: it joins the evidence of many
// sensors (detect.Evidence: a record per subject role and window, and a heartbeat ending each
// window) into fleet incidents, judged by the same thresholds and graded by the same rules as
// a sensor's (detect.Config's Crosses and Describe), with scope fleet and the sensors that saw
// them (docs/fleet.md).
//
// It knows windows, sensors, partitions and offsets, not Kafka: the consumer hands it the
// records of the partitions this member owns, each partition in offset order, and commits
// what Commits returns once the alerts before it are out. A partition's windows close when
// every sensor heard of on it has ended them (its heartbeat), after Settle, so that a sensor
// whose records come a moment later is not left out; a sensor that has not ended a window
// Grace after another did is silent, and the window closes without it. A record of a window
// already closed is late: its rates are not judged again, but its cumulative figures and
// peers still count.
//
// Threading: an Aggregator belongs to one goroutine.
package fleet

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"slices"
	"time"

	"github.com/ntpwatch/ntpwatch/decode/proto"
	"github.com/ntpwatch/ntpwatch/detect"
)

// Config is what an aggregator member is told.
type Config struct {
	// Detect holds the thresholds (applied to the fleet's totals), the window the sensors cut
	// (they must use the same), update_interval, idle_timeout, top_n and the home net;
	// Sensor and Source name the aggregator in its alerts.
	Detect detect.Config
	// Groups maps a sensor to its group: sensors tapping the same link, whose figures are
	// the largest of theirs, not the sum. A sensor in no group is a group of its own.
	Groups map[string]string
	// Settle is how long a window that every sensor heard of has ended waits for records of
	// sensors not heard of yet; Grace how long one that some sensor has ended waits for the
	// others before it closes without them.
	Settle, Grace time.Duration
	// MaxSubjects caps the subjects a member keeps (attackers choose them); more are refused
	// and counted. MaxPending caps the windows a partition holds open for slow sensors.
	MaxSubjects, MaxPending int
	// Table names the protocols of the evidence; proto.Default when nil.
	Table *proto.Table
	// Notice receives one line when a sensor falls silent or comes back, or when evidence is
	// refused; nil drops them.
	Notice func(string)
}

// Defaults of Config.
const (
	DefaultSettle      = time.Second
	DefaultGrace       = 30 * time.Second
	DefaultMaxSubjects = 20_000
	DefaultMaxPending  = 8
)

// Stats count what an aggregator member did.
type Stats struct {
	Records, Heartbeats uint64 // evidence read
	// Late counts records of windows already closed; Replaced those of a sensor whose later
	// record of the same window came first (at-least-once delivery's duplicates among them);
	// Foreign those refused: another window length, an unknown protocol.
	Late, Replaced, Foreign uint64
	Windows                 uint64 // windows closed
	Silent                  uint64 // times a sensor was found silent
	Refused                 uint64 // subjects refused at MaxSubjects
	// Unresumable counts the open incidents a commit could not carry (resume.go).
	Unresumable uint64
	Subjects    int // subjects kept now
	// Partitions are those this member owns now, Sensors the sensors heard of on them.
	Partitions, Sensors int
	Incidents, Events   uint64 // fleet incidents started and their events
}

// Commit is a partition's progress to store with the consumer group: the offset to resume
// from and the state a member that takes the partition over needs (resume.go).
type Commit struct {
	Partition int
	Offset    int64
	Metadata  string
}

// Aggregator joins evidence into fleet incidents. See the package comment.
type Aggregator struct {
	cfg                  Config
	emit                 func(*detect.Alert)
	window, idle, update int64 // nanoseconds
	hasHome              bool
	parts                map[int]*partition
	services             map[string]*detect.Service // by alert protocol name, resolved once
	stats                Stats
}

// service resolves an alert's protocol name (ntp, udp/427) with its thresholds; nil when the
// aggregator's table has no such protocol.
func (a *Aggregator) service(name string) *detect.Service {
	if s, ok := a.services[name]; ok {
		return s
	}
	s, ok := a.cfg.Detect.Service(a.cfg.Table, name)
	if !ok {
		return nil // not cached: a name sent by a broken sensor must not grow the map
	}
	a.services[name] = &s
	return &s
}

// New returns an aggregator that hands emit every alert event; the Alert is valid only
// during the call. cfg.Detect must have passed Validate.
func New(cfg Config, emit func(*detect.Alert)) *Aggregator {
	if cfg.Table == nil {
		cfg.Table = proto.Default
	}
	if cfg.Settle <= 0 {
		cfg.Settle = DefaultSettle
	}
	if cfg.Grace <= 0 {
		cfg.Grace = DefaultGrace
	}
	if cfg.MaxSubjects <= 0 {
		cfg.MaxSubjects = DefaultMaxSubjects
	}
	if cfg.MaxPending <= 0 {
		cfg.MaxPending = DefaultMaxPending
	}
	return &Aggregator{cfg: cfg, emit: emit, window: int64(cfg.Detect.Window), idle: int64(cfg.Detect.IdleTimeout),
		update: int64(cfg.Detect.UpdateInterval), hasHome: len(cfg.Detect.HomeNet) > 0, parts: map[int]*partition{},
		services: map[string]*detect.Service{}}
}

// partition is what a member keeps of one partition it owns.
type partition struct {
	id       int
	closed   int64 // the end of the last window closed: records of windows ending before are late
	next     int64 // the offset after the last record read; -1 before the first
	dirty    bool  // progress to commit
	sensors  map[string]*sensor
	pending  map[int64]*pending // windows not closed yet, by start
	subjects map[subjectKey]*subject
}

// sensor is a sensor heard of on a partition.
type sensor struct {
	run    uint64
	done   int64 // windows ending at or before done are complete from it (its heartbeats)
	final  bool  // its input ended
	silent bool  // it did not end a window others had ended within Grace
}

// pending is a window not closed yet and its records.
type pending struct {
	start   int64
	recs    []item
	ready   time.Time // when every live sensor had ended it (Settle counts from then)
	someone time.Time // when the first sensor ended it (Grace counts from then)
}

// item is a record and its offset.
type item struct {
	off int64
	ev  *detect.Evidence
}

// Assign starts keeping partition p, from the metadata of its last commit ("" for none).
// Metadata that cannot be read is reported (Notice) and the partition starts afresh.
func (a *Aggregator) Assign(p int, metadata string) {
	pt := &partition{id: p, next: -1, sensors: map[string]*sensor{}, pending: map[int64]*pending{},
		subjects: map[subjectKey]*subject{}}
	a.parts[p] = pt
	if err := a.resume(pt, metadata); err != nil {
		a.notice(fmt.Sprintf("partition %d: the last commit's state is unreadable, starting afresh: %v", p, err))
		*pt = partition{id: p, next: -1, sensors: map[string]*sensor{}, pending: map[int64]*pending{},
			subjects: map[subjectKey]*subject{}}
	}
}

// Revoke forgets partition p, which another member now owns: its open windows and incidents
// are that member's, from the last commit on.
func (a *Aggregator) Revoke(p int) {
	if pt := a.parts[p]; pt != nil {
		a.stats.Subjects -= len(pt.subjects)
		delete(a.parts, p)
	}
}

// Add takes a record read from partition p at offset off, at wall time now. The aggregator
// keeps ev.
func (a *Aggregator) Add(p int, off int64, ev *detect.Evidence, now time.Time) {
	pt := a.parts[p]
	if pt == nil {
		a.Assign(p, "")
		pt = a.parts[p]
	}
	pt.next = off + 1
	start, end := ev.WindowStart.UnixNano(), ev.WindowEnd.UnixNano()
	if end%a.window != 0 || (!ev.Heartbeat && end-start != a.window) {
		a.stats.Foreign++
		a.notice(fmt.Sprintf("sensor %s: evidence of a %v window, the aggregator's is %v: refused (the sensors' and the aggregator's detect.window must agree)",
			ev.Sensor, ev.WindowEnd.Sub(ev.WindowStart), a.cfg.Detect.Window))
		return
	}
	s := pt.sensors[ev.Sensor]
	if s == nil {
		s = &sensor{run: ev.Run, done: pt.closed}
		pt.sensors[ev.Sensor] = s
	}
	switch {
	case ev.Run < s.run:
		a.stats.Replaced++ // an earlier run's, delivered again: the later run replaced it
		return
	case ev.Run > s.run:
		// A new run: until it ends a window, it has ended none.
		*s = sensor{run: ev.Run, done: min(s.done, start)}
	}
	if s.silent {
		s.silent = false
		a.notice(fmt.Sprintf("sensor %s: heard from again on partition %d", ev.Sensor, p))
	}
	if ev.Heartbeat {
		a.stats.Heartbeats++
		s.done, s.final = max(s.done, end), ev.Final
		a.settle(pt, now)
		return
	}
	a.stats.Records++
	if end <= pt.closed {
		a.stats.Late++
		a.apply(pt, off, ev)
		return
	}
	w := pt.pending[start]
	if w == nil {
		w = &pending{start: start}
		pt.pending[start] = w
	}
	w.recs = append(w.recs, item{off, ev})
}

// Tick closes the windows whose Settle or Grace ran out by wall time now.
func (a *Aggregator) Tick(now time.Time) {
	for _, p := range slices.Sorted(maps.Keys(a.parts)) {
		a.settle(a.parts[p], now)
	}
}

// settle closes pt's windows that are ready: ended by every live sensor (after Settle), or
// by some sensor Grace ago, the others then being silent.
func (a *Aggregator) settle(pt *partition, now time.Time) {
	for {
		upTo, live := int64(math.MaxInt64), 0 // the windows every live sensor has ended
		for _, s := range pt.sensors {
			if !s.final && !s.silent {
				upTo, live = min(upTo, s.done), live+1
			}
		}
		// Settle and Grace count for each window from when it became ready or was first
		// ended, whatever holds the windows before it.
		for _, w := range pt.pending {
			end := w.start + a.window
			switch {
			case upTo >= end:
				if w.ready.IsZero() {
					w.ready = now
				}
			default:
				w.ready = time.Time{}
				if w.someone.IsZero() && pt.endedBySome(end) {
					w.someone = now
				}
			}
		}
		w := pt.oldest()
		if w == nil {
			if upTo != math.MaxInt64 && upTo > pt.closed {
				a.advance(pt, upTo) // empty windows: incidents may have gone idle
			}
			if live == 0 && len(pt.sensors) > 0 && a.allFinal(pt) {
				a.endAll(pt) // every sensor's input ended: nothing more will come
			}
			return
		}
		if upTo > pt.closed && upTo <= w.start {
			a.advance(pt, upTo)
		}
		switch {
		case !w.ready.IsZero() && now.Sub(w.ready) >= a.cfg.Settle:
			a.close(pt, w)
			continue
		case !w.ready.IsZero(), w.someone.IsZero():
			return // settling, or no sensor has ended it yet
		case now.Sub(w.someone) < a.cfg.Grace && len(pt.pending) <= a.cfg.MaxPending:
			return
		}
		end := w.start + a.window
		for _, name := range slices.Sorted(maps.Keys(pt.sensors)) {
			if s := pt.sensors[name]; !s.final && !s.silent && s.done < end {
				s.silent = true
				a.stats.Silent++
				a.notice(fmt.Sprintf("sensor %s: silent, no heartbeat for the window ending %s on partition %d: closing it without that sensor",
					name, time.Unix(0, end).UTC().Format(time.RFC3339), pt.id))
			}
		}
		w.ready = now.Add(-a.cfg.Settle) // its sensors waited for Grace already
	}
}

func (pt *partition) oldest() *pending {
	var w *pending
	for _, x := range pt.pending {
		if w == nil || x.start < w.start {
			w = x
		}
	}
	return w
}

// endedBySome reports whether a sensor has ended the window ending at end, or all of its
// windows.
func (pt *partition) endedBySome(end int64) bool {
	for _, s := range pt.sensors {
		if !s.silent && (s.final || s.done >= end) {
			return true
		}
	}
	return false
}

func (a *Aggregator) allFinal(pt *partition) bool {
	for _, s := range pt.sensors {
		if !s.final {
			return false
		}
	}
	return true
}

// close closes window w: its records count, in offset order, then its subjects are judged.
func (a *Aggregator) close(pt *partition, w *pending) {
	delete(pt.pending, w.start)
	slices.SortFunc(w.recs, func(x, y item) int { return cmp.Compare(x.off, y.off) })
	for _, it := range w.recs {
		a.apply(pt, it.off, it.ev)
	}
	a.stats.Windows++
	a.advance(pt, w.start+a.window)
}

// advance moves pt's closed windows up to end, judging the subjects of the window that ends
// there and ending the incidents gone idle.
func (a *Aggregator) advance(pt *partition, end int64) {
	pt.closed, pt.dirty = end, true
	keys := make([]subjectKey, 0, len(pt.subjects))
	for k := range pt.subjects {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, subjectKey.compare)
	for _, k := range keys {
		sj := pt.subjects[k]
		a.judge(sj, end)
		if sj.last+a.idle <= end {
			a.endSubject(sj, sj.last+a.idle)
			a.drop(pt, k)
		}
	}
}

// endAll ends every incident of pt at the end of its subjects' traffic, the inputs of every
// sensor having ended, and forgets the subjects.
func (a *Aggregator) endAll(pt *partition) {
	keys := slices.SortedFunc(maps.Keys(pt.subjects), subjectKey.compare)
	for _, k := range keys {
		sj := pt.subjects[k]
		a.endSubject(sj, sj.last+a.idle)
		a.drop(pt, k)
	}
	if len(keys) > 0 {
		pt.dirty = true
	}
}

func (a *Aggregator) drop(pt *partition, k subjectKey) {
	delete(pt.subjects, k)
	a.stats.Subjects--
}

// Commits returns the progress of every partition whose windows moved since the last call,
// in partition order: the offset to resume from (the first record still needed: those of
// open windows, and the latest of each sensor about a subject with an open incident) and
// the state to resume with.
func (a *Aggregator) Commits() []Commit {
	var cs []Commit
	for _, p := range slices.Sorted(maps.Keys(a.parts)) {
		pt := a.parts[p]
		if !pt.dirty || pt.next < 0 {
			continue
		}
		pt.dirty = false
		off := pt.next
		for _, w := range pt.pending {
			for _, it := range w.recs {
				off = min(off, it.off)
			}
		}
		for _, sj := range pt.subjects {
			if !sj.open() {
				continue
			}
			for _, c := range sj.contrib {
				if c.last+a.idle > pt.closed { // a sensor still part of it
					off = min(off, c.off)
				}
			}
		}
		cs = append(cs, Commit{Partition: p, Offset: off, Metadata: a.metadata(pt)})
	}
	return cs
}

// Stats returns the running totals.
func (a *Aggregator) Stats() Stats {
	s := a.stats
	s.Partitions = len(a.parts)
	for _, pt := range a.parts {
		s.Sensors += len(pt.sensors)
	}
	return s
}

func (a *Aggregator) notice(s string) {
	if a.cfg.Notice != nil {
		a.cfg.Notice(s)
	}
}
