package detect

import (
	"math"
	"net/netip"

	"github.com/ntpwatch/ntpwatch/decode"
	"github.com/ntpwatch/ntpwatch/decode/proto"
)

// Engine turns packets into alerts. See the package comment for its threading rule.
type Engine struct {
	cfg  Config
	emit func(*Alert)

	window, idle, update int64 // nanoseconds
	hasHome              bool

	clock
	nextSweep int64
	episodes  uint64 // episodes begun: the last role.ep given

	hosts    hostTable
	pairs    pairTable
	lastPair *pair // the pair of the previous amplifying packet: attack streams repeat it
	door     doorkeeper
	ev       *exporter // the evidence published to the fleet; nil when it is not

	// lims are the thresholds of each protocol seen, portNames the names of the fallback's
	// services ("udp/427"): both resolved once.
	lims      map[*proto.Protocol]*Thresholds
	portNames map[uint16]string

	exposed  map[hostKey]struct{} // hosts that had their exposed_amplifier incident
	exposedT TableStats

	open     []*incident
	incT     TableStats
	seq      uint64
	history  history
	alert    Alert // reused for every event: emit's argument is valid only during the call
	topBuf   []HostStat
	respBuf  []Responder
	sortBuf  []*incident
	counters Counters
}

// NewEngine returns an engine that calls emit for every alert event. cfg must have passed
// Validate.
func NewEngine(cfg Config, emit func(*Alert)) *Engine {
	e := &Engine{
		cfg:     cfg,
		emit:    emit,
		window:  int64(cfg.Window),
		idle:    int64(cfg.IdleTimeout),
		update:  int64(cfg.UpdateInterval),
		hasHome: len(cfg.HomeNet) > 0,
		exposed: make(map[hostKey]struct{}),

		lims:      make(map[*proto.Protocol]*Thresholds),
		portNames: make(map[uint16]string),
	}
	e.hosts = newTable[hostKey, hostSlot, host]("hosts", cfg.Tables.MaxHosts)
	e.pairs = newTable[pairKey, pairSlot, pair]("pairs", cfg.Tables.MaxPairs)
	e.exposedT = TableStats{Name: "exposed_amplifiers", Cap: cfg.Tables.MaxHosts}
	e.incT = TableStats{Name: "incidents", Cap: cfg.Tables.MaxIncidents}
	e.history.max = cfg.Tables.MaxHistory
	e.nextSweep = math.MaxInt64
	e.door = newDoorkeeper()
	return e
}

// Observe accounts one packet. Every packet should be passed, whatever its Kind, so that
// the counters are complete; only amplifying requests and replies reach the tables.
func (e *Engine) Observe(p *decode.Packet) {
	e.counters.Packets++
	t := p.Time.UnixNano() + e.skew
	if e.held != heldNone || t-e.now > e.idle || e.now-t > e.idle || !e.started {
		var ok bool
		if t, ok = e.clockIn(p, t); !ok {
			return
		}
	} else {
		e.moveTo(t) // near the clock with nothing held: the common case of clock.go's rule
	}
	e.observe(p, t)
}

// observe accounts p at t, its time on the engine's clock (clock.go).
func (e *Engine) observe(p *decode.Packet, t int64) {
	c := &e.counters
	switch p.Kind {
	case decode.KindMessage:
	case decode.KindMalformed:
		c.Malformed++
		return
	case decode.KindFragment:
		c.Fragments++
		if p.Dir != proto.DirNone && p.Vector >= 0 {
			e.accountFragment(p, t)
		}
		return
	default:
		c.Other++
		return
	}
	c.Messages++
	if p.Dir == proto.DirNone || p.Vector < 0 {
		return
	}
	c.Amplifying++
	e.account(p, t)
}

// account updates the server, the client and their pair for one amplifying message, then
// runs the detectors whose inputs changed.
func (e *Engine) account(p *decode.Packet, t int64) {
	isReq, data := p.Dir == proto.DirRequest, p.Data
	sa, ca := p.Src, p.Dst
	if isReq {
		sa, ca = p.Dst, p.Src
	}
	id, port := p.Proto.ID, servicePort(p)
	var s, c *host
	var sDeferred, cDeferred bool
	pr := e.lastPair
	if pr != nil && pr.key.srv == sa && pr.key.cli == ca && pr.key.proto == id && pr.key.port == port {
		s, c = pr.hosts[sideSrv], pr.hosts[sideCli]
	} else {
		// A storm from ever new sources repeats the server of the previous pair: its host
		// needs no lookup.
		if pr != nil && pr.key.srv == sa && pr.key.proto == id && pr.key.port == port {
			s = pr.hosts[sideSrv]
		} else {
			s, sDeferred = e.host(hostKey{sa, id, port}, p.Proto)
		}
		// The server is pinned while the client enters: at the cap, the client's insertion
		// must not evict the server of the same packet and take over its entry, which would
		// make a pair of one host, {X, X}.
		if s != nil {
			s.pins++
		}
		c, cDeferred = e.host(hostKey{ca, id, port}, p.Proto)
		if s != nil {
			s.pins--
		}
		if s != nil && c != nil {
			pr = e.pair(s, c)
			e.lastPair = pr
		} else {
			pr = nil
		}
	}
	if s == nil && c == nil {
		return
	}
	w := uint64(p.Weight)
	pay, wire := uint64(p.PayloadLen)*w, uint64(p.WireLen)*w
	vec := int(p.Vector)
	if s != nil {
		s.lru.seen = t
		e.begin(s, false, t)
		s.srv.add(t, e.window, vec, isReq, w, pay, wire)
		s.srv.samples += uint64(p.Samples)
	}
	if c != nil {
		c.lru.seen = t
		e.begin(c, true, t)
		c.cli.add(t, e.window, vec, isReq, w, pay, wire)
		c.cli.samples += uint64(p.Samples)
	}
	switch {
	case pr != nil:
		pr.lru.seen = t
		e.accountPair(pr, isReq, data, w, pay)
	case cDeferred && s != nil:
		// A forged source's first packet at the cap: its host waits for a second one, but
		// it is a peer of the server now (a victim of a storm from ever new addresses).
		countDeferred(&s.srv, ca, isReq, data)
	case sDeferred && c != nil:
		countDeferred(&c.cli, sa, isReq, data)
	}

	if p.Proto.Fallback {
		// Of the fallback's traffic, whose bytes nothing reads, only a flood of replies at a
		// victim tells anything: victim_flood alone.
		if !isReq && c != nil {
			e.checkVictimFlood(c, t)
		}
		return
	}
	if isReq {
		if s != nil {
			e.checkRequestFlood(s, t)
		}
		if c == nil {
			return
		}
		if e.hasHome && e.cfg.outside(ca) && e.cfg.outside(sa) {
			e.spoofedRequest(c, pr, t, w, pay)
		}
		e.checkScan(c, t)
		return
	}
	if s != nil {
		if data && (!e.hasHome || e.cfg.outside(ca)) {
			s.exposedWin.add(t, e.window, w)
			e.checkExposed(s, t)
		}
		e.checkReflection(s, t)
	}
	if c != nil {
		e.checkVictimFlood(c, t)
	}
}

// accountFragment adds the bytes a non-first fragment carries to the roles and the pair its
// datagram was accounted to with its first fragment: bytes only, for the datagram was counted
// as one packet, and its peers, then. Hosts and pairs are looked up, never made: a datagram
// whose first fragment found no room leaves its fragments out too, and so does a role whose
// episode ended since.
func (e *Engine) accountFragment(p *decode.Packet, t int64) {
	isReq := p.Dir == proto.DirRequest
	sa, ca := p.Src, p.Dst
	if isReq {
		sa, ca = p.Dst, p.Src
	}
	id, port := p.Proto.ID, servicePort(p)
	s, c := e.hosts.get(hostKey{sa, id, port}), e.hosts.get(hostKey{ca, id, port})
	w := uint64(p.Weight)
	pay, wire := uint64(p.PayloadLen)*w, uint64(p.WireLen)*w
	live := func(r *role) bool { return r.active && !r.closed && t-r.last < e.idle }
	sLive, cLive := s != nil && live(&s.srv), c != nil && live(&c.cli)
	if sLive {
		s.srv.add(t, e.window, int(p.Vector), isReq, 0, pay, wire)
	}
	if cLive {
		c.cli.add(t, e.window, int(p.Vector), isReq, 0, pay, wire)
	}
	if pr := e.pairs.get(pairKey{sa, ca, id, port}); pr != nil {
		for side, r := range [2]*role{&pr.hosts[sideSrv].srv, &pr.hosts[sideCli].cli} {
			if pr.ep[side] != r.ep {
				continue // the pair's view is of an earlier episode of that role
			}
			if isReq {
				pr.view[side].req.add(0, pay)
			} else {
				pr.view[side].resp.add(0, pay)
			}
		}
	}
	if !isReq {
		if sLive && !p.Proto.Fallback {
			e.checkReflection(s, t)
		}
		if cLive {
			e.checkVictimFlood(c, t)
		}
	}
}

// servicePort is the part of a host's key that tells the fallback's services apart: the
// service port of p for the fallback, 0 for a protocol of the table, which is one service.
func servicePort(p *decode.Packet) uint16 {
	if !p.Proto.Fallback {
		return 0
	}
	return proto.ServerPort(p.Dir, p.SrcPort, p.DstPort)
}

// countDeferred counts, in role r, a peer whose host the doorkeeper turned away: once, as
// it is turned away only on its first packet; when it comes back, its first pair does not
// count it again (host.returning).
func countDeferred(r *role, peer netip.Addr, isReq, data bool) {
	did := didOf(isReq, data)
	r.countPeer(did)
	r.ev.add(peer, did)
}

// didOf is what one message does for the peer counts.
func didOf(isReq, data bool) pairDid {
	switch {
	case isReq:
		return didAny | didReq
	case data:
		return didAny | didResp | didData
	}
	return didAny | didResp
}

// countPeer counts a peer in the counts of did: the first time in this episode that the
// peer did each of those things.
func (r *role) countPeer(did pairDid) {
	if did&didAny != 0 {
		r.peers++
	}
	if did&didReq != 0 {
		r.reqPeers++
	}
	if did&didResp != 0 {
		r.respPeers++
	}
	if did&didData != 0 {
		r.dataPeers++
	}
}

// begin starts a new episode of h's server or client role when it was idle for the idle
// timeout (or the clock ended its incidents), ending the incidents of the old one first (at
// the moment they went idle). A packet older than the episode's first widens it backwards:
// it arrived late, and belongs to the episode all the same.
func (e *Engine) begin(h *host, cli bool, t int64) {
	r := &h.srv
	if cli {
		r = &h.cli
	}
	if r.active && (r.closed || t-r.last >= e.idle) {
		e.endRole(h, cli, r.last+e.idle)
		e.dropEvidence(r)
		*r = role{}
		if cli {
			h.spoof, h.spoofWin, h.spoofPeers = Counter{}, window{}, 0
		} else {
			h.exposedWin = window{}
		}
	}
	switch {
	case !r.active:
		e.episodes++
		r.active, r.ep, r.first, r.last = true, e.episodes, t, t
	case t > r.last:
		r.last = t
	case t < r.first:
		r.first = t
	}
}

// accountPair updates a pair's detail and counts it as a new peer of each side whose
// episode it had not taken part in yet, in this way (a request, a response, one with data).
// It compares episodes, not times, so that a packet arriving late counts no peer twice.
func (e *Engine) accountPair(pr *pair, isReq, data bool, w, pay uint64) {
	did := didOf(isReq, data)
	fresh := pr.ep == [2]uint64{}
	for side, r := range [2]*role{&pr.hosts[sideSrv].srv, &pr.hosts[sideCli].cli} {
		if pr.ep[side] != r.ep {
			pr.ep[side], pr.did[side], pr.view[side] = r.ep, 0, pairView{}
		}
		// A host back after being turned away or evicted was counted by the other side
		// then: its first pair does not count it again there.
		if n := did &^ pr.did[side]; n != 0 {
			if !(fresh && pr.hosts[1-side].returning) {
				r.countPeer(n)
			}
			r.ev.add(pr.peer(side), n)
		}
		pr.did[side] |= did
		if isReq {
			pr.view[side].req.add(w, pay)
		} else {
			pr.view[side].resp.add(w, pay)
		}
	}
	if fresh {
		pr.hosts[sideSrv].returning, pr.hosts[sideCli].returning = false, false
	}
}

// add counts packets packets of bytes bytes.
func (c *Counter) add(packets, bytes uint64) {
	c.Packets += packets
	c.Bytes += bytes
}

// add counts one message standing for w packets in a role.
func (r *role) add(t, window int64, vec int, isReq bool, w, pay, wire uint64) {
	if isReq {
		r.req.add(w, pay)
		r.reqWire += wire
		r.reqWin.add(t, window, w)
	} else {
		r.resp.add(w, pay)
		r.win.add(t, window, pay)
	}
	r.wire += wire
	r.vecBytes[vec] += pay
	r.meter.add(t, w, wire)
	if r.series != nil {
		r.series.add(t, isReq, wire)
	}
}

// hostKey names a host's accounting: an address in one protocol. A server that answers NTP
// and DNS is two hosts, each with its own roles, peers and incidents. For the fallback, port
// is the service port, so that udp/19 and udp/427 are two protocols; it is 0 for the others.
type hostKey struct {
	addr  netip.Addr
	proto uint8
	port  uint16
}
