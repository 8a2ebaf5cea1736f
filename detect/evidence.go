package detect

import (
	"cmp"
	"math"
	"net/netip"
	"slices"
	"time"

	"github.com/axiomhq/hyperloglog"
)

// Evidence is what a sensor tells the fleet (docs/fleet.md): the figures of one role of one
// subject over one window of packet time, or, with Heartbeat set, that the sensor has
// finished its windows up to WindowEnd. Evidence is small whatever the attack: its peers are
// a top list and a sketch, never the whole list. A value handed to the evidence callback
// belongs to the callee: the engine keeps nothing of it.
type Evidence struct {
	Sensor string
	// Run tells a sensor's runs apart (the Unix nanoseconds it started at) and Seq numbers
	// the records of a run from 1: of two records of the same sensor, subject and window, the
	// later run's, or the higher Seq, replaces the other.
	Run, Seq uint64
	// WindowStart and WindowEnd bound the window, [WindowStart, WindowEnd), aligned on the
	// Unix epoch in multiples of the window: every sensor cuts the same windows.
	WindowStart, WindowEnd time.Time

	// Heartbeat marks the record that ends a window of the sensor's: every window ending at
	// or before WindowEnd is complete. Final says that the sensor's input ended and no window
	// follows; Subjects counts the records the sensor published for the window.
	Heartbeat bool
	Final     bool
	Subjects  int

	// Subject is the address the record is about, in Protocol, as a server (requests
	// received, replies sent: a reflector) or a client (requests sent, replies received: a
	// victim or a scanner).
	Subject  netip.Addr
	Protocol string
	Role     Role
	// First and Last are the packet times of the sensor's episode of the role: its figures
	// are cumulative from First, and an episode begun later is another.
	First, Last time.Time
	Figures
	// TopResponses are the peers with the most response bytes in the episode (a server's
	// victims, a client's reflectors), Amplifier set for a peer whose replies carried data;
	// TopRequests the peers with the most request bytes. Each is at most top_n long.
	TopResponses []Responder
	TopRequests  []HostStat
	// RequestSketch and ResponseSketch are HyperLogLog sketches (github.com/axiomhq/hyperloglog,
	// precision SketchPrecision, binary form) of the peers that sent or got a request, and a
	// response: the fleet merges them into its distinct counts. Empty when there are none.
	RequestSketch, ResponseSketch []byte
}

// Role is the side of the exchange a record of evidence is about.
type Role uint8

const (
	// RoleServer is a host answering amplifying requests: requests received, replies sent.
	RoleServer Role = iota
	// RoleClient is a host sending requests or receiving the replies.
	RoleClient
)

func (r Role) String() string {
	if r == RoleClient {
		return "client"
	}
	return "server"
}

// ParseRole is the Role of its String.
func ParseRole(s string) (Role, bool) {
	switch s {
	case "server":
		return RoleServer, true
	case "client":
		return RoleClient, true
	}
	return 0, false
}

// Kinds is the kinds of incident the fleet raises from a role's evidence: the kinds whose
// figures add up across sensors.
func (r Role) Kinds() []Kind {
	if r == RoleClient {
		return []Kind{KindVictimFlood, KindScan}
	}
	return []Kind{KindReflection, KindRequestFlood}
}

// SketchPrecision is the precision of the evidence's sketches: 2^12 registers, 4 KiB once
// dense, a standard error of 1.04/sqrt(4096) = 1.6% (3.3% at 95%). Below a few thousand peers
// a sketch is sparse, a few bytes a peer, and counts within a fraction of a percent.
const SketchPrecision = 12

// NewSketch returns an empty sketch of the evidence's precision.
func NewSketch() *hyperloglog.Sketch {
	sk, _ := hyperloglog.NewSketch(SketchPrecision, true) // a valid precision: no error
	return sk
}

// InsertPeer adds a peer's address to a sketch: the hash every sensor uses, so that the
// fleet's merged sketches count a peer seen by two sensors once.
func InsertPeer(sk *hyperloglog.Sketch, a netip.Addr) {
	b := a.Unmap().As16()
	sk.Insert(b[:])
}

// EvidenceConfig says which roles a sensor publishes evidence of, when it does
// (docs/fleet.md).
type EvidenceConfig struct {
	// Floor is the fraction of each threshold above which a role's window is published, so
	// that sensors each below the thresholds still add up at the fleet: a role whose last
	// window carried Floor times a detector's rate, or whose scan reached Floor times its
	// targets, and every window of its episode after that.
	Floor float64 `yaml:"-"`
	// MaxRoles caps the roles holding a sketch of their peers, the memory evidence costs; a
	// role past it is not published, and counted.
	MaxRoles int `yaml:"-"`
}

// Defaults of EvidenceConfig.
const (
	DefaultEvidenceFloor    = 0.02
	DefaultEvidenceMaxRoles = 4096
)

// EvidenceStats count what a sensor published.
type EvidenceStats struct {
	Windows  uint64 // windows ended, each with its heartbeat
	Records  uint64 // records of subjects
	Sketched int    // roles holding a sketch now
	Refused  uint64 // windows of roles above the floor left out at the cap of max roles
}

// exporter is the engine's evidence publishing, when it is on.
type exporter struct {
	fn func(*Evidence)
	// floors are those of each protocol's thresholds (host.lim), worked out once.
	floors map[*Thresholds]*floors
	frac   float64 // Config.Evidence.Floor
	max    int
	next   int64 // the end of the window the clock is in; 0 before the second packet
}

// floors are the evidence floors of one protocol, in the units of the thresholds they are
// fractions of.
type floors struct {
	resp    [2]uint64 // response bytes per window: a server's, a client's
	reqs    uint64    // request packets per window of a server
	targets int       // targets of a client's scan
}

// floorsOf returns the floors of thresholds lim: a protocol whose thresholds differ (DNS's
// scan.min_targets, detect.protocols) has floors of its own.
func (x *exporter) floorsOf(lim *Thresholds) *floors {
	if f := x.floors[lim]; f != nil {
		return f
	}
	frac := func(v float64) uint64 { return uint64(math.Max(1, math.Ceil(v*x.frac))) }
	f := &floors{
		resp:    [2]uint64{frac(float64(lim.Reflection.MinResponseBytes)), frac(float64(lim.VictimFlood.MinResponseBytes))},
		reqs:    frac(float64(lim.RequestFlood.MinRequests)),
		targets: max(2, int(frac(float64(lim.Scan.MinTargets)))),
	}
	x.floors[lim] = f
	return f
}

// roleEvidence is what a role holds while it is published: the sketches of its peers.
type roleEvidence struct {
	req, resp *hyperloglog.Sketch
}

// PublishEvidence makes the engine hand fn the evidence of each window as its clock passes
// the window's end (docs/fleet.md): a record per role above the floor of cfg.Evidence, then a
// heartbeat; Close hands over the last window with a final heartbeat. fn runs on the
// engine's goroutine and owns what it is given. Call it before the first packet.
func (e *Engine) PublishEvidence(fn func(*Evidence)) {
	e.ev = &exporter{fn: fn, floors: map[*Thresholds]*floors{}, frac: e.cfg.Evidence.Floor, max: e.cfg.Evidence.MaxRoles}
}

// windowStart is the start of the evidence window that holds t: windows are the detection
// window's length, aligned on the Unix epoch.
func (e *Engine) windowStart(t int64) int64 {
	s := t / e.window * e.window
	if s > t { // t before the epoch: the division rounded up
		s -= e.window
	}
	return s
}

// exportEvidence ends the window the clock has just left: its records, then a heartbeat
// saying every window up to the one the clock is in now is complete (a clock that jumped
// over windows crossed empty ones).
func (e *Engine) exportEvidence() {
	x := e.ev
	cur := e.windowStart(e.now)
	if x.next == 0 {
		x.next = cur + e.window
		return
	}
	e.exportWindow(x.next-e.window, x.next, cur, false)
	x.next = cur + e.window
}

// closeEvidence hands over the window the clock is in at the end of the input, with the
// final heartbeat.
func (e *Engine) closeEvidence() {
	x := e.ev
	if x == nil || !e.started {
		return
	}
	if x.next == 0 {
		x.next = e.windowStart(e.now) + e.window
	}
	e.exportWindow(x.next-e.window, x.next, x.next, true)
	x.next = math.MaxInt64
}

// exportWindow publishes the roles that had traffic in [start, end) and were published
// before in their episode, then those that rose above the floor, the furthest above it first
// while fewer than max roles hold sketches (the others wait for a later window), in the host
// table's order, which the packets decide; then the heartbeat that completes the windows up
// to done.
func (e *Engine) exportWindow(start, end, done int64, final bool) {
	x := e.ev
	at := min(end, e.now) // the windows are read at the window's end, or now at the end of the input
	type candidate struct {
		h     *host
		side  int
		r     *role
		above float64
	}
	var fresh []candidate
	n := 0
	publish := func(h *host, side int, r *role) {
		rec := e.evidenceOf(h, side, r, start, end, at)
		x.fn(&rec)
		n++
	}
	for h := e.hosts.head; h != nil; h = h.lru.next {
		for side, r := range [2]*role{&h.srv, &h.cli} {
			switch {
			case !r.active || r.last < start || r.first >= end:
			case r.ev != nil:
				publish(h, side, r)
			default:
				if above := e.aboveFloor(h, side, r, at); above >= 1 {
					fresh = append(fresh, candidate{h, side, r, above})
				}
			}
		}
	}
	slices.SortStableFunc(fresh, func(a, b candidate) int { return cmp.Compare(b.above, a.above) })
	st := &e.counters.Evidence
	for _, c := range fresh {
		if st.Sketched >= x.max {
			st.Refused++
			continue
		}
		e.sketch(c.h, c.side, c.r)
		publish(c.h, c.side, c.r)
	}
	st.Records += uint64(n)
	st.Windows++
	x.fn(&Evidence{Sensor: e.cfg.Sensor, WindowStart: time.Unix(0, start).UTC(), WindowEnd: time.Unix(0, done).UTC(),
		Heartbeat: true, Final: final, Subjects: n})
}

// aboveFloor is how far a role's window lies above the floor: the largest of its rates and
// peers over their floors, at least 1 for a role with an open incident of a kind the fleet
// raises. 1 and more is above.
func (e *Engine) aboveFloor(h *host, side int, r *role, at int64) float64 {
	x := e.ev.floorsOf(h.lim)
	above := float64(r.win.at(at, e.window)) / float64(x.resp[side])
	if side == sideSrv {
		above = max(above, float64(r.reqWin.at(at, e.window))/float64(x.reqs))
		if h.inc[kReflection] != nil || h.inc[kRequestFlood] != nil {
			above = max(above, 1)
		}
	} else {
		above = max(above, float64(r.reqPeers)/float64(x.targets))
		if h.inc[kVictimFlood] != nil || h.inc[kScan] != nil {
			above = max(above, 1)
		}
	}
	return above
}

// sketch gives a role its sketches when it is first published: they begin with the peers
// the role's pairs of this episode remember; those whose pairs were evicted are missing,
// which the exact counts beside them make up for.
func (e *Engine) sketch(h *host, side int, r *role) {
	r.ev = &roleEvidence{}
	e.counters.Evidence.Sketched++
	for p := h.pairs[side]; p != nil; p = p.side[side].next {
		if p.ep[side] == r.ep {
			r.ev.add(p.peer(side), p.did[side])
		}
	}
}

// dropEvidence releases a role's sketches when its episode ends or its host goes.
func (e *Engine) dropEvidence(r *role) {
	if r.ev != nil {
		e.counters.Evidence.Sketched--
	}
	r.ev = nil
}

// add counts a peer in the sketches of what it did.
func (v *roleEvidence) add(peer netip.Addr, did pairDid) {
	if v == nil {
		return
	}
	if did&didReq != 0 {
		if v.req == nil {
			v.req = NewSketch()
		}
		InsertPeer(v.req, peer)
	}
	if did&didResp != 0 {
		if v.resp == nil {
			v.resp = NewSketch()
		}
		InsertPeer(v.resp, peer)
	}
}

// peer is the address at the other end of the pair from side.
func (p *pair) peer(side int) netip.Addr {
	if side == sideSrv {
		return p.key.cli
	}
	return p.key.srv
}

// evidenceOf is the record of a role's window [start, end), its windows read at at.
func (e *Engine) evidenceOf(h *host, side int, r *role, start, end, at int64) Evidence {
	f := r.totals()
	f.WindowResponseBytes, f.WindowRequests = r.win.at(at, e.window), r.reqWin.at(at, e.window)
	rec := Evidence{
		Sensor: e.cfg.Sensor, WindowStart: time.Unix(0, start).UTC(), WindowEnd: time.Unix(0, end).UTC(),
		Subject: h.key.addr, Protocol: h.name, Role: Role(side),
		First: time.Unix(0, r.first).UTC(), Last: time.Unix(0, r.last).UTC(), Figures: f,
		TopRequests: append([]HostStat(nil), e.top(h, side, r.ep, pairRequests)...),
	}
	for _, s := range e.top(h, side, r.ep, pairResponses) {
		p := e.pairs.get(pairKey{h.key.addr, s.Addr, h.key.proto, h.key.port})
		if side == sideCli {
			p = e.pairs.get(pairKey{s.Addr, h.key.addr, h.key.proto, h.key.port})
		}
		rec.TopResponses = append(rec.TopResponses, Responder{Addr: s.Addr, Amplifier: p != nil && p.did[side]&didData != 0,
			Packets: s.Packets, Bytes: s.Bytes})
	}
	rec.RequestSketch, rec.ResponseSketch = marshalSketch(r.ev.req), marshalSketch(r.ev.resp)
	return rec
}

func marshalSketch(sk *hyperloglog.Sketch) []byte {
	if sk == nil {
		return nil
	}
	b, _ := sk.MarshalBinary() // an initialised sketch always encodes
	return b
}

// at is the window's sum at t without moving its buckets: reading the evidence must leave
// the detectors' windows as the packets left them.
func (w window) at(t, size int64) uint64 { return w.sum(t, size) }
