package detect

import (
	"math"
	"net/netip"
	"time"

	"github.com/ntpwatch/ntpwatch/decode"
	"github.com/ntpwatch/ntpwatch/decode/proto"
)

// Engine turns packets into alerts. See the package comment for its threading rule.
type Engine struct {
	cfg  Config
	emit func(*Alert)

	window, idle, update int64 // nanoseconds
	hasHome              bool

	started   bool
	now       int64 // the latest packet or Advance time, Unix nanoseconds
	nextSweep int64

	hosts    hostTable
	pairs    pairTable
	lastPair *pair // the pair of the previous amplifying packet: attack streams repeat it
	door     doorkeeper

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
	}
	e.hosts = newTable[hostKey, host]("hosts", cfg.Tables.MaxHosts)
	e.pairs = newTable[pairKey, pair]("pairs", cfg.Tables.MaxPairs)
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
	c := &e.counters
	c.Packets++
	t := p.Time.UnixNano()
	if !e.started || t > e.now {
		e.started = true
		e.now = t
	}
	if e.now >= e.nextSweep {
		e.sweep()
	}
	switch p.Kind {
	case decode.KindMessage:
	case decode.KindMalformed:
		c.Malformed++
		return
	case decode.KindFragment:
		c.Fragments++
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
	id := p.Proto.ID
	var s, c *host
	var sDeferred, cDeferred bool
	pr := e.lastPair
	if pr != nil && pr.key.srv == sa && pr.key.cli == ca && pr.key.proto == id {
		s, c = pr.hosts[sideSrv], pr.hosts[sideCli]
	} else {
		// A storm from ever new sources repeats the server of the previous pair: its host
		// needs no lookup.
		if pr != nil && pr.key.srv == sa && pr.key.proto == id {
			s = pr.hosts[sideSrv]
		} else {
			s, sDeferred = e.host(hostKey{sa, id}, p.Proto)
		}
		// The server is pinned while the client enters: at the cap, the client's insertion
		// must not evict the server of the same packet and take over its entry, which would
		// make a pair of one host, {X, X}.
		if s != nil {
			s.pins++
		}
		c, cDeferred = e.host(hostKey{ca, id}, p.Proto)
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
	}
	if c != nil {
		c.lru.seen = t
		e.begin(c, true, t)
		c.cli.add(t, e.window, vec, isReq, w, pay, wire)
	}
	switch {
	case pr != nil:
		pr.lru.seen = t
		e.accountPair(pr, t, isReq, data, w, pay)
	case cDeferred && s != nil:
		// A forged source's first packet at the cap: its host waits for a second one, but
		// it is a peer of the server now (a victim of a storm from ever new addresses).
		countDeferred(&s.srv, isReq, data)
	case sDeferred && c != nil:
		countDeferred(&c.cli, isReq, data)
	}

	if isReq {
		if c == nil {
			return
		}
		if e.hasHome && !e.cfg.inHome(ca) && !e.cfg.inHome(sa) {
			e.spoofedRequest(c, pr, t, w, pay)
		}
		e.checkScan(c, t)
		return
	}
	if s != nil {
		if data && (!e.hasHome || !e.cfg.inHome(ca)) {
			s.exposedWin.add(t, e.window, w)
			e.checkExposed(s, t)
		}
		e.checkReflection(s, t)
	}
	if c != nil {
		e.checkVictimFlood(c, t)
	}
}

// countDeferred counts, in role r, a peer whose host the doorkeeper turned away: once, as
// it is turned away only on its first packet; when it comes back, its first pair does not
// count it again (host.returning).
func countDeferred(r *role, isReq, data bool) {
	r.peers++
	if isReq {
		r.reqPeers++
		return
	}
	r.respPeers++
	if data {
		r.dataPeers++
	}
}

// begin starts a new episode of h's server or client role when it was idle for the idle
// timeout, ending the incidents of the old one first (at the moment they went idle).
func (e *Engine) begin(h *host, cli bool, t int64) {
	r := &h.srv
	if cli {
		r = &h.cli
	}
	if r.active && t-r.last >= e.idle {
		e.endRole(h, cli, r.last+e.idle)
		*r = role{}
		if cli {
			h.spoof, h.spoofWin, h.spoofPeers = Counter{}, window{}, 0
		} else {
			h.exposedWin = window{}
		}
	}
	if !r.active {
		r.active, r.first, r.last = true, t, t
	} else if t > r.last {
		r.last = t
	}
}

// accountPair updates a pair's detail and counts it as a new peer of each side whose
// episode it had not taken part in yet.
func (e *Engine) accountPair(pr *pair, t int64, isReq, data bool, w, pay uint64) {
	s, c := &pr.hosts[sideSrv].srv, &pr.hosts[sideCli].cli
	used := pr.req.Packets+pr.resp.Packets > 0
	if used && pr.last < s.first && pr.last < c.first {
		*pr = pair{key: pr.key, hosts: pr.hosts, lru: pr.lru, side: pr.side}
		used = false
	}
	// A host back after being turned away or evicted was counted by the other side then:
	// its first pair does not count it again there.
	var skip [2]bool
	if !used {
		srvH, cliH := pr.hosts[sideSrv], pr.hosts[sideCli]
		skip = [2]bool{cliH.returning, srvH.returning}
		srvH.returning, cliH.returning = false, false
	}
	countPeer(used, pr.last, s, c, skip, func(r *role) *uint32 { return &r.peers })
	for side, r := range [2]*role{s, c} {
		if pr.last < r.first {
			pr.view[side] = pairView{} // the pair's first message of this episode of r
		}
	}
	if isReq {
		pr.view[sideSrv].req.add(w, pay)
		pr.view[sideCli].req.add(w, pay)
		countPeer(pr.req.Packets > 0, pr.lastReq, s, c, skip, func(r *role) *uint32 { return &r.reqPeers })
		pr.req.add(w, pay)
		pr.lastReq = t
	} else {
		countPeer(pr.resp.Packets > 0, pr.lastResp, s, c, skip, func(r *role) *uint32 { return &r.respPeers })
		pr.resp.add(w, pay)
		pr.view[sideSrv].resp.add(w, pay)
		pr.view[sideCli].resp.add(w, pay)
		pr.lastResp = t
		if data {
			countPeer(pr.data, pr.lastData, s, c, skip, func(r *role) *uint32 { return &r.dataPeers })
			pr.data = true
			pr.lastData = t
		} else {
			pr.nodata = true
		}
	}
	if t > pr.last {
		pr.last = t
	}
}

// countPeer increments one of the per-episode peer counts of the server and the client
// roles for a pair that had not done this (last at last) yet within that role's episode.
// field is a plain function of its argument, which the compiler inlines.
func countPeer(seen bool, last int64, s, c *role, skip [2]bool, field func(*role) *uint32) {
	if (!seen || last < s.first) && !skip[sideSrv] {
		*field(s)++
	}
	if (!seen || last < c.first) && !skip[sideCli] {
		*field(c)++
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

// amplifies reports whether a role's responses exceed min times its requests; with no
// request seen the ratio is infinite.
func (r *role) amplifies(min float64) bool {
	return r.req.Bytes == 0 || float64(r.resp.Bytes) > min*float64(r.req.Bytes)
}

// Advance moves the clock to now without a packet (live mode's ticker on a quiet link), so
// that updates and ends fire. A time before the latest packet is ignored.
func (e *Engine) Advance(now time.Time) {
	t := now.UnixNano()
	if !e.started || t <= e.now {
		return
	}
	e.now = t
	if e.now >= e.nextSweep {
		e.sweep()
	}
}

// Close ends every open incident at the end of the input, in a deterministic order.
func (e *Engine) Close() {
	if !e.started {
		return
	}
	e.sweep()
	for _, in := range e.sortedOpen() {
		e.end(in, e.now)
	}
	e.nextSweep = math.MaxInt64
}

// hostKey names a host's accounting: an address in one protocol. A server that answers NTP
// and DNS is two hosts, each with its own roles, peers and incidents.
type hostKey struct {
	addr  netip.Addr
	proto uint8
}
