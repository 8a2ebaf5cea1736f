package detect

import (
	"net/netip"

	"github.com/ntpwatch/ntpwatch/decode/proto"
)

// role is one host's amplifying traffic in one direction of the exchange during one episode:
// a run of packets without a gap of idle_timeout. Incidents report these counters, so they
// are cumulative from the episode's first packet, before any threshold was crossed.
type role struct {
	active bool
	// closed is set when the clock ended the episode's incidents, idle_timeout after its
	// last packet: a packet of it that arrives later still begins a new episode, rather than
	// reopening incidents that have ended.
	closed bool
	// ep numbers the episode, uniquely in the engine: a pair counts among the role's peers
	// once per episode (pair.ep), in whatever order its packets arrive.
	ep          uint64
	first, last int64 // packet time, Unix nanoseconds: the earliest and the latest packet
	req, resp   Counter
	wire        uint64                    // wire bytes of requests and responses
	reqWire     uint64                    // wire bytes of requests
	vecBytes    [proto.VectorSlots]uint64 // request and response payload bytes by vector
	// samples counts the sampled packets the role's figures rest on (decode.Packet.Samples):
	// 0 when every packet was seen. A sampled role makes no incident with fewer than
	// sampling.min_samples.
	samples   uint64
	peers     uint32 // distinct peers this episode
	reqPeers  uint32 // peers that sent or received a request
	respPeers uint32 // peers that sent or received a response
	dataPeers uint32 // peers whose responses carried data
	refused   uint8  // kinds whose incident max_incidents refused this episode
	win       window // response payload bytes
	reqWin    window // request packets
	meter     meter  // wire rate of requests and responses
	// series is the role's traffic over time, kept from its first incident on, for the
	// report's timelines; nil while the role has had no incident.
	series *series
	// ev holds the sketches of the role's peers while its evidence is published to the
	// fleet (evidence.go); nil otherwise.
	ev *roleEvidence
}

// host is the accounting of one address in one protocol, as a server (srv: requests
// received, responses sent) and as a client (cli: requests sent, responses received).
type host struct {
	key   hostKey
	proto *proto.Protocol
	// name is the alerts' protocol, "udp/427" for the fallback's service on port 427, and
	// port the service's port; lim are the protocol's thresholds.
	name string
	port uint16
	lim  *Thresholds
	lru  recency[host]

	srv, cli role
	// exposedWin counts data-bearing replies sent to clients eligible for exposed_amplifier.
	exposedWin window
	// spoof counts amplifying requests with this forged source leaving the home net.
	spoof      Counter
	spoofWin   window
	spoofPeers uint32 // distinct destinations of those requests

	pairs       [2]*pair // heads of the lists of pairs where this host is the server, the client
	inc         [numKinds]*incident
	pins        int  // open incidents: a pinned host is never evicted
	exposedDone bool // exposed_amplifier was considered: once per host
	// returning is set when the host entered a full table because the doorkeeper knew its
	// address: it was turned away (or evicted) before, and counted among the peers of the
	// other side then, so its first pair must not count it again.
	returning bool
}

// The two sides of a pair, indexes of host.pairs, pair.hosts and pair.side.
const (
	sideSrv = 0
	sideCli = 1
)

// pairKey is a (server, client) pair in one protocol: the server answers amplifying
// requests, the client sends them or receives the replies.
type pairKey struct {
	srv, cli netip.Addr
	proto    uint8
	port     uint16 // as in hostKey
}

// hostSlot and pairSlot are the keys of the tables' maps: hostKey and pairKey as plain bytes.
// A netip.Addr holds a pointer (its zone), which makes the map hash and compare a key
// through generated functions field by field; these are compared and hashed as memory, with
// no padding. They are equal when the keys are: the addresses come from packets, which have
// no zone, so an address is its 16 bytes and whether it is IPv4.
type (
	hostSlot struct {
		a     [16]byte
		port  uint16
		proto uint8
		v4    bool
	}
	pairSlot struct {
		srv, cli [16]byte
		port     uint16
		proto    uint8
		v4       uint8 // 1: the server's address is IPv4, 2: the client's
	}
)

func (k hostKey) slot() hostSlot {
	return hostSlot{a: k.addr.As16(), port: k.port, proto: k.proto, v4: k.addr.Is4()}
}

func (k pairKey) slot() pairSlot {
	var v4 uint8
	if k.srv.Is4() {
		v4 |= 1
	}
	if k.cli.Is4() {
		v4 |= 2
	}
	return pairSlot{srv: k.srv.As16(), cli: k.cli.As16(), port: k.port, proto: k.proto, v4: v4}
}

// pair is the detail of one server and one client. It is linked into both hosts' lists so
// that top lists can be built when an alert is emitted.
type pair struct {
	key   pairKey
	hosts [2]*host // the server and the client
	lru   recency[pair]
	side  [2]lruLinks[pair] // places in hosts[sideSrv].pairs[sideSrv] and hosts[sideCli].pairs[sideCli]

	// ep is, for each side, the episode of that side's role (role.ep) the pair last took
	// part in; did says what it did in it, and view counts its requests and responses
	// there. A pair thus counts once among the peers of each episode whatever the order of
	// its packets, and a server's victims list and a client's reflectors list add up to the
	// incident's own counters even when the other side stayed active across an idle gap of
	// this pair.
	ep   [2]uint64
	did  [2]pairDid
	view [2]pairView
}

// pairView is a pair's traffic within one role's episode.
type pairView struct{ req, resp Counter }

// pairDid is what a pair did within one role's episode, one bit for each peer count of
// the role.
type pairDid uint8

const (
	didAny    pairDid = 1 << iota // any amplifying message: role.peers
	didReq                        // a request: role.reqPeers
	didResp                       // a response: role.respPeers
	didData                       // a response with data, an amplifier's: role.dataPeers
	didEgress                     // a request forged with the client's address left the home net
)

// table maps keys (hostSlot, pairSlot) to entries with a cap, a recency list for eviction,
// and a free list so that a full table recycles entries instead of allocating.
type table[K tableKey[S], S slotKey, T any, P tableEntry[S, T]] struct {
	idx index[S, T, P]
	lruList[T, P]
	free  []*T
	slab  []T   // entries never used yet, allocated tableSlab at a time
	slabs [][]T // every slab, for entries
	max   int
	stat  TableStats
}

// tableSlab is how many entries a table allocates at once while it fills: one allocation
// instead of one per host or pair (BenchmarkTableFill).
const tableSlab = 128

// tableKey is the key type of a table, hostKey or pairKey, and its slot type.
type tableKey[S any] interface {
	comparable
	slot() S
}

func newTable[K tableKey[S], S slotKey, T any, P tableEntry[S, T]](name string, max int) table[K, S, T, P] {
	return table[K, S, T, P]{idx: newIndex[S, T, P](), max: max, stat: TableStats{Name: name, Cap: max}}
}

// get returns the entry of k, nil if there is none.
func (t *table[K, S, T, P]) get(k K) *T { return t.idx.get(k.slot()) }

// getSlot returns the entry of the key whose slot is s, nil if there is none.
func (t *table[K, S, T, P]) getSlot(s S) *T { return t.idx.get(s) }

// len is the number of entries.
func (t *table[K, S, T, P]) len() int { return t.idx.n }

// full reports whether an insertion must first remove an entry.
func (t *table[K, S, T, P]) full() bool { return t.idx.n >= t.max }

// insert adds a zero entry for k, which must be absent, at the head of the queue.
func (t *table[K, S, T, P]) insert(k S, now int64) *T {
	var x *T
	if n := len(t.free); n > 0 {
		x = t.free[n-1]
		t.free = t.free[:n-1]
	} else {
		if len(t.slab) == 0 {
			t.slab = make([]T, min(tableSlab, max(t.max-t.idx.n, 1)))
			t.slabs = append(t.slabs, t.slab)
		}
		x = &t.slab[0]
		t.slab = t.slab[1:]
	}
	t.idx.insert(k, x)
	t.pushFront(x, now)
	t.stat.Peak = max(t.stat.Peak, t.idx.n)
	return x
}

// remove drops the entry x of k and recycles it.
func (t *table[K, S, T, P]) remove(k S, x *T) {
	t.unlink(x)
	t.idx.remove(k, x)
	var zero T
	*x = zero
	t.free = append(t.free, x)
}

// entries calls f with every entry allocated, in memory order: those in the table and the
// free ones, which are zero.
func (t *table[K, S, T, P]) entries(f func(*T)) {
	for _, sl := range t.slabs {
		for i := range sl {
			f(&sl[i])
		}
	}
}

func (h *host) slot() hostSlot { return h.key.slot() }
func (p *pair) slot() pairSlot { return p.key.slot() }

type (
	hostTable = table[hostKey, hostSlot, host, *host]
	pairTable = table[pairKey, pairSlot, pair, *pair]
)

// lruLinks are an entry's place in a host's list of pairs.
type lruLinks[T any] struct{ prev, next *T }

// recency is an entry's place in its table's queue and when it was last seen. Seeing an
// entry only stores the time: moving it to the head on every packet would cost two cache
// misses on its neighbours. Eviction gives a second chance instead (CLOCK's rule).
type recency[T any] struct {
	prev, next *T
	queued     int64 // packet time the entry was (re)queued at the head
	seen       int64 // packet time of its latest packet
}

// lruEntry is an entry type that carries a recency.
type lruEntry[T any] interface {
	*T
	links() *recency[T]
}

func (h *host) links() *recency[host] { return &h.lru }
func (p *pair) links() *recency[pair] { return &p.lru }

// lruList is a table's queue, most recently queued first.
type lruList[T any, P lruEntry[T]] struct{ head, tail *T }

func (l *lruList[T, P]) unlink(x *T) {
	n := P(x).links()
	if n.prev != nil {
		P(n.prev).links().next = n.next
	} else {
		l.head = n.next
	}
	if n.next != nil {
		P(n.next).links().prev = n.prev
	} else {
		l.tail = n.prev
	}
	n.prev, n.next = nil, nil
}

func (l *lruList[T, P]) pushFront(x *T, now int64) {
	n := P(x).links()
	n.prev, n.next, n.queued = nil, l.head, now
	if l.head != nil {
		P(l.head).links().prev = x
	} else {
		l.tail = x
	}
	l.head = x
}

// victim chooses the entry to evict: the tail, unless it is pinned or was seen since it was
// queued, in which case it is requeued (its second chance) and the next tail is tried. After
// evictTries the tail goes if it is not pinned; nil means every candidate was pinned.
func (l *lruList[T, P]) victim(now int64, pinned func(*T) bool) *T {
	for i := range evictTries {
		v := l.tail
		if v == nil {
			return nil
		}
		p := pinned != nil && pinned(v)
		if !p && (i == evictTries-1 || P(v).links().seen <= P(v).links().queued) {
			return v
		}
		l.unlink(v)
		l.pushFront(v, now)
	}
	return nil
}

// evictTries bounds how many entries an insertion requeues before it evicts or refuses.
const evictTries = 8

func hostPinned(h *host) bool { return h.pins > 0 }

// host returns the entry of k, creating it when needed. At the cap a host is created only
// when the doorkeeper saw its key before (admit), and it evicts a host that was not seen
// lately and has no open incident, with its pairs; when the candidates are all pinned it
// refuses. It returns nil when it defers or refuses; deferred is true for a first packet
// turned away by the doorkeeper, which the caller counts on the other side.
func (e *Engine) host(k hostKey, p *proto.Protocol) (h *host, deferred bool) {
	t := &e.hosts
	sl := k.slot()
	full := t.full()
	if full && !e.admit(sl) {
		return nil, true // not in the table: every host in it is known to the doorkeeper
	}
	if h := t.getSlot(sl); h != nil {
		return h, false
	}
	if full {
		v := t.victim(e.now, hostPinned)
		if v == nil {
			t.stat.Refusals++
			return nil, false
		}
		e.evictHost(v)
	}
	h = t.insert(sl, e.now)
	h.key, h.proto = k, p
	h.name, h.port, h.lim = e.service(p, k.port)
	h.returning = full
	e.remember(sl)
	return h, false
}

// evictHost drops h and the detail of its pairs; the other ends' totals are unchanged.
func (e *Engine) evictHost(h *host) {
	for side := range h.pairs {
		for h.pairs[side] != nil {
			e.dropPair(h.pairs[side])
		}
	}
	e.dropEvidence(&h.srv)
	e.dropEvidence(&h.cli)
	e.hosts.stat.Evictions++
	e.hosts.remove(h.key.slot(), h)
}

// pair returns the detail of (s, c), creating it when needed and evicting the least
// recently seen pair at the cap. It looks for the pair first among the client's pairs, which
// are few (a forged source has one server): the pair table's map, a cache miss at the cap,
// is read only for a client with more than pairWalk of them.
func (e *Engine) pair(s, c *host) *pair {
	t := &e.pairs
	k := pairKey{s.key.addr, c.key.addr, s.key.proto, s.key.port}
	var sl pairSlot
	n := 0
	p := c.pairs[sideCli]
	for ; p != nil && n < pairWalk; p, n = p.side[sideCli].next, n+1 {
		if p.hosts[sideSrv] == s {
			return p
		}
	}
	if p != nil {
		sl = k.slot()
		if p := t.getSlot(sl); p != nil {
			return p
		}
	} else {
		sl = k.slot()
	}
	if t.full() {
		e.dropPair(t.victim(e.now, nil))
		t.stat.Evictions++
	}
	p = t.insert(sl, e.now)
	p.key, p.hosts = k, [2]*host{s, c}
	for side, h := range p.hosts {
		p.side[side].next = h.pairs[side]
		if h.pairs[side] != nil {
			h.pairs[side].side[side].prev = p
		}
		h.pairs[side] = p
	}
	return p
}

// pairWalk is how many of a client's pairs pair compares before it asks the map.
const pairWalk = 4

// dropPair unlinks p from its hosts and the table and recycles it. Evictions are counted by
// the caller: a pair dropped with its host is part of that host's eviction.
func (e *Engine) dropPair(p *pair) {
	for side, h := range p.hosts {
		l := &p.side[side]
		if l.prev != nil {
			l.prev.side[side].next = l.next
		} else {
			h.pairs[side] = l.next
		}
		if l.next != nil {
			l.next.side[side].prev = l.prev
		}
	}
	if e.lastPair == p {
		e.lastPair = nil
	}
	e.pairs.remove(p.key.slot(), p)
}
