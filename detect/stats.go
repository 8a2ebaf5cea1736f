package detect

import (
	"net/netip"
	"slices"
	"time"
)

// counters are the engine's running totals behind Stats.
type counters struct {
	packets, ntp, malformed, fragments, other uint64
	stdMessages, otherPrivate                 uint64
	byMode                                    [8]uint64
	byVector                                  [numVectors]VectorCount
	incidents, events                         [numKinds]uint64
}

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

// VectorCount counts the amplifying NTP messages of one vector.
type VectorCount struct {
	Vector              Vector
	Requests, Responses uint64
}

// KindCount counts the incidents and events of one kind.
type KindCount struct {
	Kind      Kind
	Incidents uint64 // incidents started
	Events    uint64 // start, update and end events emitted
}

// IncidentSummary is an incident as the summary shows it: its latest event's figures.
type IncidentSummary struct {
	ID        string
	Kind      Kind
	Severity  Severity
	Vector    Vector
	Subject   netip.Addr
	Open      bool
	FirstSeen time.Time
	LastSeen  time.Time
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
}

// Stats is the engine's accounting for the summary and the metrics.
type Stats struct {
	Packets     uint64 // every packet observed
	NTPMessages uint64 // KindNTP packets
	Malformed   uint64 // KindMalformed packets
	Fragments   uint64 // KindFragment packets
	Other       uint64 // KindOther packets

	ByMode       [8]uint64 // NTP messages by mode (index 0 unused: mode 0 is malformed)
	Standard     uint64    // modes 1-5: client, server, symmetric and broadcast traffic
	OtherPrivate uint64    // modes 6 and 7 that do not amplify, or not to/from port 123
	ByVector     []VectorCount

	Tables []TableStats // hosts, pairs, exposed_amplifiers, incidents
	Alerts []KindCount  // in the order of the kinds in alert.go

	// Incidents holds the ended incidents (the first tables.max_history of them) and then
	// the open ones, each in start order. IncidentsDropped counts ended ones left out.
	Incidents        []IncidentSummary
	IncidentsDropped uint64

	// TopReflectors ranks the subjects of reflection and exposed_amplifier incidents by
	// response bytes; TopVictims the victims of reflection, victim_flood and spoofed_egress
	// incidents by the bytes aimed at them; TopScanners the scanners by request bytes.
	TopReflectors, TopVictims, TopScanners []HostStat
}

// Stats returns a snapshot. It allocates and is meant for the end of a run or a metrics
// scrape, not for every packet.
func (e *Engine) Stats() Stats {
	c := &e.counters
	s := Stats{
		Packets: c.packets, NTPMessages: c.ntp, Malformed: c.malformed, Fragments: c.fragments,
		Other: c.other, ByMode: c.byMode, Standard: c.stdMessages, OtherPrivate: c.otherPrivate,
	}
	for v := range numVectors {
		vc := c.byVector[v]
		vc.Vector = vectorNames[v]
		s.ByVector = append(s.ByVector, vc)
	}
	hosts, pairs, exposed, inc := e.hosts.stat, e.pairs.stat, e.exposedT, e.incT
	hosts.Len, pairs.Len, exposed.Len, inc.Len = len(e.hosts.m), len(e.pairs.m), len(e.exposed), len(e.open)
	exposed.Peak = max(exposed.Peak, len(e.exposed))
	s.Tables = []TableStats{hosts, pairs, exposed, inc}
	for k := range numKinds {
		s.Alerts = append(s.Alerts, KindCount{Kind: kindNames[k], Incidents: c.incidents[k], Events: c.events[k]})
	}
	s.Incidents = slices.Clone(e.history)
	for _, in := range e.sortedOpen() {
		s.Incidents = append(s.Incidents, e.summary(in, true))
	}
	s.IncidentsDropped = e.dropped
	s.TopReflectors, s.TopVictims, s.TopScanners = ranks(s.Incidents, e.cfg.TopN)
	return s
}

// summary records in's figures as its latest event showed them.
func (e *Engine) summary(in *incident, open bool) IncidentSummary {
	h, r := in.h, in.h.role(in.kind)
	s := IncidentSummary{
		ID: in.id, Kind: kindNames[in.kind], Subject: h.addr, Open: open,
		FirstSeen: time.Unix(0, r.first).UTC(), LastSeen: time.Unix(0, r.last).UTC(),
	}
	// Rebuild the alert without emitting it: the same figures an event would carry.
	emit := e.emit
	var a Alert
	e.emit = func(x *Alert) { a = *x }
	lastEmit, seen, events := in.lastEmit, in.seenAtEmit, e.counters.events[in.kind]
	e.emitEvent(in, StateUpdate, e.now)
	in.lastEmit, in.seenAtEmit, e.counters.events[in.kind] = lastEmit, seen, events
	e.emit = emit

	s.Severity, s.Vector = a.Severity, a.Vector
	s.Requests, s.Responses = a.Requests, a.Responses
	s.Amplification, s.HasAmplification = a.Amplification, a.HasAmplification
	s.WireBytes, s.PeakBPS = a.WireBytes, a.PeakBPS
	switch in.kind {
	case kExposed, kReflection:
		s.Peers, s.Top = a.Victims.Count, slices.Clone(a.Victims.Top)
	case kVictimFlood, kSpoofed:
		s.Peers, s.Top = a.Reflectors.Count, slices.Clone(a.Reflectors.Top)
	case kScan:
		s.Peers = a.Targets.Count
		for _, r := range a.Targets.Responders {
			s.Top = append(s.Top, HostStat{Addr: r.Addr, Packets: r.Packets, Bytes: r.Bytes})
		}
	}
	return s
}

// ranks aggregates incident summaries into the top reflectors, victims and scanners.
func ranks(incs []IncidentSummary, n int) (reflectors, victims, scanners []HostStat) {
	type agg = map[netip.Addr]HostStat
	refl, vict, scan := agg{}, agg{}, agg{}
	add := func(m agg, a netip.Addr, pkts, bytes uint64) {
		s := m[a]
		s.Addr = a
		s.Packets += pkts
		s.Bytes += bytes
		m[a] = s
	}
	// A server's exposed_amplifier and reflection incidents of one episode report the same
	// role counters: count each episode (subject and first packet) once, at its largest.
	type episode struct {
		addr  netip.Addr
		first int64
	}
	served := map[episode]Counter{}
	for _, in := range incs {
		switch in.Kind {
		case KindReflection, KindExposedAmplifier:
			k := episode{in.Subject, in.FirstSeen.UnixNano()}
			if c := served[k]; in.Responses.Bytes > c.Bytes || c.Packets == 0 {
				served[k] = in.Responses
			}
			if in.Kind == KindReflection {
				for _, v := range in.Top {
					add(vict, v.Addr, v.Packets, v.Bytes)
				}
			}
		case KindVictimFlood:
			add(vict, in.Subject, in.Responses.Packets, in.Responses.Bytes)
		case KindSpoofedEgress:
			add(vict, in.Subject, in.Requests.Packets, in.Requests.Bytes)
		case KindScan:
			add(scan, in.Subject, in.Requests.Packets, in.Requests.Bytes)
		}
	}
	for k, c := range served {
		add(refl, k.addr, c.Packets, c.Bytes)
	}
	sorted := func(m agg) []HostStat {
		var top []HostStat
		for _, s := range m {
			top = insertTop(top, n, s)
		}
		return top
	}
	return sorted(refl), sorted(vict), sorted(scan)
}
