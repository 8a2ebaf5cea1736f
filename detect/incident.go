package detect

import (
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math"
	"net/netip"
	"slices"
	"time"
)

// kind indexes the incident kinds. New kinds go at the end, so that the order of Kinds
// stays what outputs have shown.
type kind uint8

const (
	kExposed kind = iota
	kReflection
	kVictimFlood
	kScan
	kSpoofed
	kRequestFlood
	numKinds
)

// kindNames are the kinds' names, in the order of the kind indexes: Kinds lists them.
var kindNames = [numKinds]Kind{KindExposedAmplifier, KindReflection, KindVictimFlood, KindScan,
	KindSpoofedEgress, KindRequestFlood}

// Kinds lists every kind of incident the engine raises, in a fixed order: for metrics and
// outputs that enumerate them.
func Kinds() []Kind { return kindNames[:] }

// client reports whether k is about a host as a client (requests sent, responses received)
// rather than as a server.
func (k kind) client() bool { return k == kVictimFlood || k == kScan || k == kSpoofed }

// role is the accounting an incident of kind k reports.
func (h *host) role(k kind) *role {
	if k.client() {
		return &h.cli
	}
	return &h.srv
}

// incident is one open alert id. Its host is pinned until it ends, so the counters it
// reports are the host's role counters, read when an event is emitted.
type incident struct {
	id         string
	kind       kind
	h          *host
	first      int64
	seq        uint64 // start order
	idx        int    // position in Engine.open
	detected   int64  // TS of the start event
	lastEmit   int64  // TS of the latest event
	seenAtEmit int64  // the role's last packet at the latest event
}

// legacyProtocol is the protocol ntpwatch began with: its incident ids hash without the
// protocol's name, so that they stay what they were before there were other protocols.
const legacyProtocol = "ntp"

// incidentID derives the stable id from kind, protocol, subject and first packet time.
func incidentID(k kind, h *host, first int64) string {
	return idOf("", kindNames[k], h.name, h.key.addr, first)
}

// FleetIncidentID is the id of a fleet incident (detect/fleet): a hash of its kind, protocol,
// subject and the start of the window its episode began in, which every member of the
// aggregators' group derives alike from the evidence, so that a partition taken over by
// another member goes on with the same incidents. Its "fleet/" prefix keeps it apart from
// any sensor's id.
func FleetIncidentID(k Kind, protocol string, subject netip.Addr, window time.Time) string {
	return idOf("fleet/", k, protocol, subject, window.UnixNano())
}

// idOf hashes what names an incident. NTP, the protocol ntpwatch began with, adds no name,
// so that its ids stay what they were before there were other protocols.
func idOf(scope string, k Kind, protocol string, addr netip.Addr, first int64) string {
	var buf [8 + 32 + 1 + 32 + 16 + 8]byte // the longest kind name is 17 bytes; protocol names are short
	b := append(append(buf[:0], scope...), k...)
	if protocol != legacyProtocol {
		b = append(append(b, '/'), protocol[:min(len(protocol), 32)]...)
	}
	a16 := addr.As16()
	b = binary.BigEndian.AppendUint64(append(b, a16[:]...), uint64(first))
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

func (e *Engine) checkReflection(s *host, t int64) {
	r := &s.srv
	if s.inc[kReflection] != nil {
		return
	}
	f := Figures{Requests: r.req, Responses: r.resp, Samples: r.samples, WindowResponseBytes: r.win.sum(t, e.window)}
	if e.cfg.crosses(kReflection, &f, s.lim) {
		e.start(s, kReflection, t)
	}
}

func (e *Engine) checkExposed(s *host, t int64) {
	if s.exposedDone || !e.sampledEnough(&s.srv) || s.exposedWin.sum(t, e.window) < s.lim.ExposedAmplifier.MinResponses {
		return
	}
	s.exposedDone = true
	if _, ok := e.exposed[s.key]; ok {
		return // reported before this host was last evicted: once per host
	}
	if !e.start(s, kExposed, t) {
		return
	}
	if len(e.exposed) < e.exposedT.Cap {
		e.exposed[s.key] = struct{}{}
	} else {
		e.exposedT.Refusals++
	}
}

func (e *Engine) checkVictimFlood(c *host, t int64) {
	r := &c.cli
	if c.inc[kVictimFlood] != nil || int(r.respPeers) < c.lim.VictimFlood.MinReflectors {
		return
	}
	f := Figures{Requests: r.req, Responses: r.resp, Samples: r.samples, ResponsePeers: int(r.respPeers),
		WindowResponseBytes: r.win.sum(t, e.window)}
	if e.cfg.crosses(kVictimFlood, &f, c.lim) {
		e.start(c, kVictimFlood, t)
	}
}

// checkRequestFlood starts request_flood when a server receives min_requests amplifying
// requests within a window from at least min_sources sources, whether or not it answers.
func (e *Engine) checkRequestFlood(s *host, t int64) {
	r := &s.srv
	if s.inc[kRequestFlood] != nil {
		return
	}
	f := Figures{Samples: r.samples, RequestPeers: int(r.reqPeers), WindowRequests: r.reqWin.sum(t, e.window)}
	if e.cfg.crosses(kRequestFlood, &f, s.lim) {
		e.start(s, kRequestFlood, t)
	}
}

func (e *Engine) checkScan(c *host, t int64) {
	r := &c.cli
	if c.inc[kScan] != nil {
		return
	}
	f := Figures{Samples: r.samples, RequestPeers: int(r.reqPeers)}
	if e.cfg.crosses(kScan, &f, c.lim) {
		e.start(c, kScan, t)
	}
}

// spoofedRequest counts an amplifying request whose source and destination both lie outside
// the home net: seen on the tap, it left from inside with a forged source.
func (e *Engine) spoofedRequest(c *host, pr *pair, t int64, w, pay uint64) {
	c.spoof.add(w, pay)
	c.spoofWin.add(t, e.window, w)
	if pr != nil && pr.did[sideCli]&didEgress == 0 {
		pr.did[sideCli] |= didEgress
		c.spoofPeers++
	}
	if c.inc[kSpoofed] == nil && e.sampledEnough(&c.cli) && c.spoofWin.sum(t, e.window) >= c.lim.SpoofedEgress.MinRequests {
		e.start(c, kSpoofed, t)
	}
}

// sampledEnough reports whether a role's figures may make an incident: always from full
// packets, and from sampled input once sampling.min_samples samples back its estimates
// (detect/config.go says why).
func (e *Engine) sampledEnough(r *role) bool {
	return r.samples == 0 || r.samples >= e.cfg.Sampling.MinSamples
}

// start opens an incident of kind k about h and emits its start event. It refuses, once per
// episode, when max_incidents are open.
func (e *Engine) start(h *host, k kind, t int64) bool {
	r := h.role(k)
	if r.refused&(1<<k) != 0 {
		return false
	}
	if len(e.open) >= e.incT.Cap {
		r.refused |= 1 << k
		e.incT.Refusals++
		return false
	}
	e.seq++
	in := &incident{id: incidentID(k, h, r.first), kind: k, h: h, first: r.first, seq: e.seq, idx: len(e.open)}
	in.detected = t
	if r.series == nil {
		r.series = newSeries(r, t)
	}
	h.inc[k] = in
	h.pins++
	e.open = append(e.open, in)
	if len(e.open) > e.incT.Peak {
		e.incT.Peak = len(e.open)
	}
	e.counters.Kinds[k].Incidents++
	e.emitEvent(in, StateStart, t)
	e.nextSweep = min(e.nextSweep, in.lastEmit+e.update, r.last+e.idle)
	return true
}

// end emits the end event of in at ts and closes it.
func (e *Engine) end(in *incident, ts int64) {
	e.emitEvent(in, StateEnd, ts)
	last := e.open[len(e.open)-1]
	e.open[in.idx] = last
	last.idx = in.idx
	e.open = e.open[:len(e.open)-1]
	in.h.inc[in.kind] = nil
	in.h.pins--
	e.history.add(e.summary(in, false))
}

// endRole ends the incidents of one role of h, in kind order, at ts.
func (e *Engine) endRole(h *host, cli bool, ts int64) {
	for k := kExposed; k < numKinds; k++ {
		if k.client() == cli && h.inc[k] != nil {
			e.end(h.inc[k], ts)
		}
	}
}

// sortedOpen returns the open incidents in start order, which is deterministic.
func (e *Engine) sortedOpen() []*incident {
	e.sortBuf = append(e.sortBuf[:0], e.open...)
	slices.SortFunc(e.sortBuf, func(a, b *incident) int { return cmp.Compare(a.seq, b.seq) })
	return e.sortBuf
}

// sweep emits the updates that are due and ends the incidents that went idle, then
// schedules the next sweep: no sooner than one second of packet time later, so that a storm
// of incidents costs at most one pass a second.
func (e *Engine) sweep() {
	now := e.now
	next := int64(math.MaxInt64)
	for _, in := range e.sortedOpen() {
		r := in.h.role(in.kind)
		if now-r.last >= e.idle {
			e.end(in, r.last+e.idle)
			r.closed = true
			continue
		}
		if now-in.lastEmit >= e.update && r.last > in.seenAtEmit {
			e.emitEvent(in, StateUpdate, now)
		}
		next = min(next, in.lastEmit+e.update, r.last+e.idle)
	}
	if next != math.MaxInt64 && next < now+int64(time.Second) {
		next = now + int64(time.Second)
	}
	e.nextSweep = next
}

// emitEvent builds the alert of in's current state into the reused Alert and emits it.
func (e *Engine) emitEvent(in *incident, st State, ts int64) {
	h, k := in.h, in.kind
	r := h.role(k)
	in.lastEmit, in.seenAtEmit = ts, r.last
	e.counters.Kinds[k].Events++

	a := &e.alert
	*a = Alert{
		ID:        in.id,
		Kind:      kindNames[k],
		State:     st,
		TS:        time.Unix(0, ts).UTC(),
		FirstSeen: time.Unix(0, r.first).UTC(),
		LastSeen:  time.Unix(0, r.last).UTC(),
		Sensor:    e.cfg.Sensor,
		Source:    e.cfg.Source,
	}
	f := r.totals()
	e.cfg.describe(a, k, &f, &Service{h.proto, h.name, h.port, h.lim}, e.hasHome)
	var from, to netip.Addr // the attack traffic's direction, for Direction
	switch k {
	case kExposed, kReflection:
		a.Reflector = h.key.addr
		a.Victims = HostList{Count: int(r.peers), Top: e.top(h, sideSrv, r.ep, pairResponses)}
		if k == kReflection && len(a.Victims.Top) > 0 {
			a.Victim = a.Victims.Top[0].Addr
		}
		from, to = h.key.addr, topAddr(a.Victims.Top)
	case kRequestFlood:
		// The requests' sources are the victims the server would flood if it amplified:
		// forged, as the replies go to them.
		a.Reflector = h.key.addr
		a.Victims = HostList{Count: int(r.reqPeers), Top: e.top(h, sideSrv, r.ep, pairRequests)}
		a.Victim = topAddr(a.Victims.Top)
		from, to = a.Victim, h.key.addr
	case kVictimFlood:
		a.Victim = h.key.addr
		a.Reflectors = HostList{Count: int(r.respPeers), Top: e.top(h, sideCli, r.ep, pairResponses)}
		from, to = topAddr(a.Reflectors.Top), h.key.addr
	case kScan:
		a.Scanner = h.key.addr
		a.Targets = Targets{Count: int(r.reqPeers), Responders: e.responders(h, r.ep)}
		from = h.key.addr
		if len(a.Targets.Responders) > 0 {
			to = a.Targets.Responders[0].Addr
		} else if p := h.pairs[sideCli]; p != nil {
			to = p.key.srv
		}
	case kSpoofed:
		// The requests forged with the victim's address that left, not all of its role's.
		a.Victim = h.key.addr
		a.Requests = h.spoof
		a.amplify()
		a.Reflectors = HostList{Count: int(h.spoofPeers), Top: e.top(h, sideCli, r.ep, pairEgress)}
		from, to = h.key.addr, topAddr(a.Reflectors.Top)
	}
	if e.hasHome {
		a.Direction = e.cfg.Direction(from, to)
	}
	e.emit(a)
}

func topAddr(top []HostStat) netip.Addr {
	if len(top) == 0 {
		return netip.Addr{}
	}
	return top[0].Addr
}

// pairResponses, pairRequests and pairEgress choose what a top list ranks a pair by; ok is false for a
// pair that does not belong in the list.
// Both count within the episode of the list owner's role (side).
func pairResponses(p *pair, side int) (c Counter, ok bool) {
	v := &p.view[side]
	return v.resp, v.resp.Packets > 0
}
func pairRequests(p *pair, side int) (c Counter, ok bool) {
	v := &p.view[side]
	return v.req, v.req.Packets > 0
}
func pairEgress(p *pair, side int) (c Counter, ok bool) {
	return p.view[side].req, p.did[side]&didEgress != 0
}

// top builds the top_n list of a host's pairs of its role's episode ep, ranked by rank:
// bytes, then packets, then address, so that ties are deterministic. side says which of h's
// lists: its clients (sideSrv) or its servers (sideCli).
func (e *Engine) top(h *host, side int, ep uint64, rank func(*pair, int) (Counter, bool)) []HostStat {
	n := e.cfg.TopN
	top := e.topBuf[:0]
	for p := h.pairs[side]; p != nil; p = p.side[side].next {
		peer := p.key.srv
		if side == sideSrv {
			peer = p.key.cli
		}
		if c, ok := rank(p, side); ok && p.ep[side] == ep {
			top = insertTop(top, n, HostStat{Addr: peer, Packets: c.Packets, Bytes: c.Bytes})
		}
	}
	e.topBuf = top
	return top
}

func betterStat(a, b HostStat) bool {
	if a.Bytes != b.Bytes {
		return a.Bytes > b.Bytes
	}
	if a.Packets != b.Packets {
		return a.Packets > b.Packets
	}
	return a.Addr.Less(b.Addr)
}

// insertTop adds s to top, kept sorted best first and at most n long.
func insertTop(top []HostStat, n int, s HostStat) []HostStat {
	if len(top) == n && !betterStat(s, top[n-1]) {
		return top
	}
	i := len(top)
	for i > 0 && betterStat(s, top[i-1]) {
		i--
	}
	if len(top) < n {
		top = append(top, HostStat{})
	}
	copy(top[i+1:], top[i:len(top)-1])
	top[i] = s
	return top
}

// responders lists a scanner's targets that answered in its role's episode ep, best first.
func (e *Engine) responders(h *host, ep uint64) []Responder {
	top := e.top(h, sideCli, ep, pairResponses)
	out := e.respBuf[:0]
	for _, s := range top {
		p := e.pairs.get(pairKey{s.Addr, h.key.addr, h.key.proto, h.key.port})
		out = append(out, Responder{Addr: s.Addr, Amplifier: p != nil && p.did[sideCli]&didData != 0,
			Packets: s.Packets, Bytes: s.Bytes})
	}
	e.respBuf = out
	return out
}
