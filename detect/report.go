package detect

import (
	"cmp"
	"net/netip"
	"slices"
	"time"
)

// Counters are the engine's running totals: a plain value that costs nothing to take, so the
// metrics may read it as often as they like.
type Counters struct {
	Packets    uint64 // every packet observed
	Messages   uint64 // messages of the protocol table (decode.KindMessage)
	Amplifying uint64 // amplifying requests and replies: the messages the tables account
	Malformed  uint64 // decode.KindMalformed packets
	Fragments  uint64 // decode.KindFragment packets
	Other      uint64 // decode.KindOther packets
	// ClockOutliers counts packets whose time lay more than idle_timeout from the clock
	// while the next packet's did not: accounted at the clock's time. ClockSteps counts the
	// steps back of the capture's clock, after which time went on from the clock (clock.go).
	ClockOutliers uint64
	ClockSteps    uint64

	// Kinds counts incidents and events by kind, in the order of Kinds().
	Kinds [numKinds]KindCount
	// Tables are hosts, pairs, exposed_amplifiers and incidents, in that order.
	Tables [numTables]TableStats
	// Evidence counts what was published to the fleet (PublishEvidence).
	Evidence EvidenceStats
}

// The tables of Counters.Tables.
const (
	TableHosts = iota
	TablePairs
	TableExposed
	TableIncidents
	numTables
)

// TableStats describes one capped table.
type TableStats struct {
	Name      string
	Len       int    // entries now
	Cap       int    // the configured cap
	Peak      int    // most entries at any time
	Evictions uint64 // entries dropped to make room
	Refusals  uint64 // entries not created because nothing could be evicted
	Deferred  uint64 // hosts not created at the cap because it was their first packet
}

// KindCount counts the incidents and events of one kind.
type KindCount struct {
	Kind      Kind
	Incidents uint64 // incidents started
	Events    uint64 // start, update and end events emitted
}

// Counters returns the running totals. It allocates nothing.
func (e *Engine) Counters() Counters {
	c := e.counters
	for k := range c.Kinds {
		c.Kinds[k].Kind = kindNames[k]
	}
	hosts, pairs, exposed, inc := e.hosts.stat, e.pairs.stat, e.exposedT, e.incT
	hosts.Len, pairs.Len, exposed.Len, inc.Len = e.hosts.len(), e.pairs.len(), len(e.exposed), len(e.open)
	exposed.Peak = max(exposed.Peak, len(e.exposed))
	c.Tables = [numTables]TableStats{hosts, pairs, exposed, inc}
	return c
}

// IncidentSummary is an incident as its latest event showed it, with its timeline.
type IncidentSummary struct {
	ID        string
	Kind      Kind
	Severity  Severity
	Protocol  string
	Vector    string
	Subject   netip.Addr
	Open      bool
	FirstSeen time.Time
	LastSeen  time.Time
	Detected  time.Time // the start event: when the condition first held
	Requests  Counter
	Responses Counter
	// Amplification is Responses.Bytes / Requests.Bytes when HasAmplification.
	Amplification    float64
	HasAmplification bool
	WireBytes        uint64
	PeakBPS          float64
	// Peers counts the victims, reflectors or targets; Top lists the largest of them.
	Peers int
	Top   []HostStat
	// Remediation is the alert's text for exposed_amplifier and reflection.
	Remediation string
	// Sampling is the alert's: how its figures were estimated from sampled input.
	Sampling Sampling
	// Timeline is the subject's traffic in this role over time (see Point).
	Timeline []Point
}

// Point is one span of an incident's timeline: the wire bytes of the requests and the
// replies its subject sent or received in [From, To). The first point may be wider than the
// others: it covers the traffic from the first packet to the span where the engine began
// keeping the timeline (the subject's first incident), as one average.
type Point struct {
	From, To                    time.Time
	RequestBytes, ResponseBytes uint64
}

// Talker is one entry of a report's top list: a host, the traffic of its incidents in one
// role, their amplification and time span.
type Talker struct {
	Addr     netip.Addr
	Protocol string
	Packets  uint64
	Bytes    uint64
	// Amplification is the response/request byte ratio of those incidents when
	// HasAmplification (requests were seen).
	Amplification    float64
	HasAmplification bool
	First, Last      time.Time
}

// Report is everything the engine knows of a run, for the summary, its JSON and the HTML
// report. Taking it allocates: it is for the end of a run, not for every scrape.
type Report struct {
	Counters
	// Incidents holds the ended incidents kept (the largest tables.max_history by wire
	// bytes, in the order they ended) and then the open ones, in start order.
	// IncidentsDropped counts the ended ones left out.
	Incidents        []IncidentSummary
	IncidentsDropped uint64

	// TopReflectors ranks the subjects of reflection and exposed_amplifier incidents by
	// response bytes; TopVictims the victims of reflection, victim_flood and spoofed_egress
	// incidents by the bytes aimed at them; TopScanners the scanners by request bytes.
	TopReflectors, TopVictims, TopScanners []Talker
}

// Report returns the full account of the run so far. It does not disturb the engine.
func (e *Engine) Report() Report {
	r := Report{Counters: e.Counters()}
	r.Incidents = e.history.sorted()
	for _, in := range e.sortedOpen() {
		r.Incidents = append(r.Incidents, e.summary(in, true))
	}
	r.IncidentsDropped = e.history.dropped
	r.TopReflectors, r.TopVictims, r.TopScanners = talkers(r.Incidents, e.cfg.TopN)
	return r
}

// summary records in's figures as its latest event showed them.
func (e *Engine) summary(in *incident, open bool) IncidentSummary {
	h, r := in.h, in.h.role(in.kind)
	s := IncidentSummary{
		ID: in.id, Kind: kindNames[in.kind], Protocol: h.name, Subject: h.key.addr, Open: open,
		FirstSeen: time.Unix(0, r.first).UTC(), LastSeen: time.Unix(0, r.last).UTC(),
		Detected: time.Unix(0, in.detected).UTC(),
	}
	// Rebuild the alert without emitting it: the same figures an event would carry.
	emit := e.emit
	var a Alert
	e.emit = func(x *Alert) { a = *x }
	lastEmit, seen, events := in.lastEmit, in.seenAtEmit, e.counters.Kinds[in.kind].Events
	e.emitEvent(in, StateUpdate, e.now)
	in.lastEmit, in.seenAtEmit, e.counters.Kinds[in.kind].Events = lastEmit, seen, events
	e.emit = emit

	s.Severity, s.Vector, s.Remediation = a.Severity, a.Vector, a.Remediation
	s.Requests, s.Responses = a.Requests, a.Responses
	s.Amplification, s.HasAmplification = a.Amplification, a.HasAmplification
	s.WireBytes, s.PeakBPS, s.Sampling = a.WireBytes, a.PeakBPS, a.Sampling
	switch in.kind {
	case kExposed, kReflection, kRequestFlood:
		s.Peers, s.Top = a.Victims.Count, slices.Clone(a.Victims.Top)
	case kVictimFlood, kSpoofed:
		s.Peers, s.Top = a.Reflectors.Count, slices.Clone(a.Reflectors.Top)
	case kScan:
		s.Peers = a.Targets.Count
		for _, r := range a.Targets.Responders {
			s.Top = append(s.Top, HostStat{Addr: r.Addr, Packets: r.Packets, Bytes: r.Bytes})
		}
	}
	if r.series != nil {
		s.Timeline = r.series.points()
	}
	return s
}

// history keeps the ended incidents for the report: all of them up to max, then the largest
// by wire bytes, so that a run with many small incidents still reports its big ones.
type history struct {
	max     int
	kept    []keptIncident
	seq     uint64
	dropped uint64
}

type keptIncident struct {
	seq uint64 // end order
	s   IncidentSummary
}

func (h *history) add(s IncidentSummary) {
	h.seq++
	if len(h.kept) < h.max {
		h.kept = append(h.kept, keptIncident{h.seq, s})
		return
	}
	h.dropped++
	if len(h.kept) == 0 {
		return
	}
	least := 0
	for i := range h.kept {
		if h.kept[i].s.WireBytes < h.kept[least].s.WireBytes {
			least = i
		}
	}
	if s.WireBytes > h.kept[least].s.WireBytes {
		h.kept[least] = keptIncident{h.seq, s}
	}
}

// sorted returns the kept incidents in the order they ended.
func (h *history) sorted() []IncidentSummary {
	k := slices.Clone(h.kept)
	slices.SortFunc(k, func(a, b keptIncident) int { return cmp.Compare(a.seq, b.seq) })
	out := make([]IncidentSummary, len(k))
	for i := range k {
		out[i] = k[i].s
	}
	return out
}

// talkers aggregates incident summaries into the top reflectors, victims and scanners, each
// host ranked by the traffic aimed at it or sent by it in that role: a reflector by its
// replies (a server's exposed_amplifier and reflection incidents of one episode report the
// same role counters, so an episode counts once, at its largest), a victim by the replies
// reflected at it and the requests forged in its name, a scanner by its requests. The figures
// shown are those of the kind of incident that carried the most (summing the kinds would count
// the same replies twice), with that kind's amplification; the time span covers them all.
func talkers(incs []IncidentSummary, n int) (reflectors, victims, scanners []Talker) {
	type sums struct{ c, req, resp Counter }
	type agg struct {
		rank        Counter
		kinds       [numKinds]sums
		first, last time.Time
	}
	type key struct {
		addr     netip.Addr
		protocol string
	}
	refl, vict, scan := map[key]*agg{}, map[key]*agg{}, map[key]*agg{}
	// add counts c (ranked by rank) for k in role m, from incident in of kind kd.
	add := func(m map[key]*agg, k key, rank, c Counter, in *IncidentSummary, kd kind) {
		a := m[k]
		if a == nil {
			a = &agg{first: in.FirstSeen, last: in.LastSeen}
			m[k] = a
		}
		a.rank.add(rank.Packets, rank.Bytes)
		s := &a.kinds[kd]
		s.c.add(c.Packets, c.Bytes)
		s.req.add(in.Requests.Packets, in.Requests.Bytes)
		s.resp.add(in.Responses.Packets, in.Responses.Bytes)
		a.first = minTime(a.first, in.FirstSeen)
		a.last = maxTime(a.last, in.LastSeen)
	}
	type episode struct {
		key
		first int64
	}
	served := map[episode]Counter{}
	none := Counter{}
	for i := range incs {
		in := &incs[i]
		k := key{in.Subject, in.Protocol}
		kd := kindIndex(in.Kind)
		switch in.Kind {
		case KindReflection, KindExposedAmplifier:
			ep := episode{k, in.FirstSeen.UnixNano()}
			if c := served[ep]; in.Responses.Bytes > c.Bytes || c.Packets == 0 {
				served[ep] = in.Responses
			}
			add(refl, k, none, in.Responses, in, kd)
			if in.Kind == KindReflection {
				for _, v := range in.Top {
					c := Counter{v.Packets, v.Bytes}
					add(vict, key{v.Addr, in.Protocol}, c, c, in, kd)
				}
			}
		case KindVictimFlood:
			add(vict, k, in.Responses, in.Responses, in, kd)
		case KindSpoofedEgress:
			add(vict, k, in.Requests, in.Requests, in, kd)
		case KindScan:
			add(scan, k, in.Requests, in.Requests, in, kd)
		}
	}
	for ep, c := range served {
		refl[ep.key].rank.add(c.Packets, c.Bytes)
	}
	sorted := func(m map[key]*agg) []Talker {
		keys := make([]key, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, func(x, y key) int {
			a, b := m[x].rank, m[y].rank
			switch {
			case a.Bytes != b.Bytes:
				return cmp.Compare(b.Bytes, a.Bytes)
			case a.Packets != b.Packets:
				return cmp.Compare(b.Packets, a.Packets)
			}
			return cmp.Or(x.addr.Compare(y.addr), cmp.Compare(x.protocol, y.protocol))
		})
		out := make([]Talker, 0, min(n, len(keys)))
		for _, k := range keys[:min(n, len(keys))] {
			a := m[k]
			var best sums
			for _, s := range a.kinds {
				if s.c.Bytes > best.c.Bytes || s.c.Bytes == best.c.Bytes && s.req.Bytes > best.req.Bytes {
					best = s
				}
			}
			t := Talker{Addr: k.addr, Protocol: k.protocol, Packets: best.c.Packets, Bytes: best.c.Bytes, First: a.first, Last: a.last}
			if best.req.Bytes > 0 {
				t.Amplification, t.HasAmplification = float64(best.resp.Bytes)/float64(best.req.Bytes), true
			}
			out = append(out, t)
		}
		return out
	}
	return sorted(refl), sorted(vict), sorted(scan)
}

// kindIndex is the index of a kind's name.
func kindIndex(k Kind) kind {
	return kind(slices.Index(kindNames[:], k))
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
