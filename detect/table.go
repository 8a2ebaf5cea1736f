package detect

import "net/netip"

// role is one host's amplifying traffic in one direction of the exchange during one episode:
// a run of packets without a gap of idle_timeout. Incidents report these counters, so they
// are cumulative from the episode's first packet, before any threshold was crossed.
type role struct {
	active      bool
	first, last int64 // packet time, Unix nanoseconds
	req, resp   Counter
	wire        uint64
	vecBytes    [numVectors]uint64 // request and response payload bytes by vector
	peers       uint32             // distinct peers this episode
	reqPeers    uint32             // peers that sent or received a request
	respPeers   uint32             // peers that sent or received a response
	dataPeers   uint32             // peers whose responses carried data
	refused     uint8              // kinds whose incident max_incidents refused this episode
	win         window             // response payload bytes
	meter       meter              // wire rate of requests and responses
}

// host is the accounting of one address, as a server (srv: requests received, responses
// sent) and as a client (cli: requests sent, responses received).
type host struct {
	addr netip.Addr
	lru  lruLinks[host]

	srv, cli role
	// exposedWin counts data-bearing replies sent to clients eligible for exposed_amplifier.
	exposedWin window
	// spoof counts amplifying requests with this forged source leaving the home net.
	spoof      Counter
	spoofWin   window
	spoofPeers uint32 // distinct destinations of those requests

	srvPairs    *pair // pairs where this host is the server
	cliPairs    *pair // pairs where this host is the client
	inc         [numKinds]*incident
	pins        int  // open incidents: a pinned host is never evicted
	exposedDone bool // exposed_amplifier was considered: once per host
}

// pairKey is a (server, client) pair: the server answers amplifying requests, the client
// sends them or receives the replies.
type pairKey struct{ srv, cli netip.Addr }

// pair is the detail of one server and one client. It is linked into both hosts' lists so
// that top lists can be built when an alert is emitted.
type pair struct {
	key          pairKey
	srv, cli     *host
	lru          lruLinks[pair]
	sPrev, sNext *pair // srv.srvPairs
	cPrev, cNext *pair // cli.cliPairs

	last       int64
	lastReq    int64 // meaningful when req.Packets > 0
	lastResp   int64 // meaningful when resp.Packets > 0
	lastData   int64 // meaningful when data is set
	lastEgress int64 // meaningful when egress is set
	req, resp  Counter
	data       bool // answered with data (an amplifier)
	nodata     bool // answered without data (err=4 "no data": a patched server)
	egress     bool // requests with this forged client as source left the home net
}

// hostTable maps addresses to hosts with a cap and a recency list for eviction.
type hostTable struct {
	m map[netip.Addr]*host
	lruList[host, *host]
	free []*host
	max  int
	stat TableStats
}

// pairTable maps (server, client) to pairs with a cap and a recency list for eviction.
type pairTable struct {
	m map[pairKey]*pair
	lruList[pair, *pair]
	free []*pair
	max  int
	stat TableStats
}

// lruLinks are an entry's place in a recency list.
type lruLinks[T any] struct{ prev, next *T }

// lruEntry is an entry type that carries lruLinks.
type lruEntry[T any] interface {
	*T
	links() *lruLinks[T]
}

func (h *host) links() *lruLinks[host] { return &h.lru }
func (p *pair) links() *lruLinks[pair] { return &p.lru }

// lruList orders a table's entries by the time they were last seen, most recent first.
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

func (l *lruList[T, P]) pushFront(x *T) {
	n := P(x).links()
	n.prev, n.next = nil, l.head
	if l.head != nil {
		P(l.head).links().prev = x
	} else {
		l.tail = x
	}
	l.head = x
}

// touch makes x the most recently seen entry.
func (l *lruList[T, P]) touch(x *T) {
	if l.head != x {
		l.unlink(x)
		l.pushFront(x)
	}
}

// evictTries bounds how many pinned hosts an insertion skips before it refuses.
const evictTries = 8

// host returns the entry of a, creating it when needed. At the cap it evicts the least
// recently seen host that has no open incident (with its pairs); when the few least recent
// are all pinned it refuses and returns nil.
func (e *Engine) host(a netip.Addr) *host {
	t := &e.hosts
	if h, ok := t.m[a]; ok {
		t.touch(h)
		return h
	}
	if len(t.m) >= t.max {
		evicted := false
		for i := 0; i < evictTries && t.tail != nil; i++ {
			v := t.tail
			if v.pins > 0 {
				t.touch(v) // active: an open incident refreshes it
				continue
			}
			e.evictHost(v)
			evicted = true
			break
		}
		if !evicted {
			t.stat.Refusals++
			return nil
		}
	}
	var h *host
	if n := len(t.free); n > 0 {
		h = t.free[n-1]
		t.free = t.free[:n-1]
	} else {
		h = new(host)
	}
	h.addr = a
	t.m[a] = h
	t.pushFront(h)
	if len(t.m) > t.stat.Peak {
		t.stat.Peak = len(t.m)
	}
	return h
}

// evictHost drops h and the detail of its pairs; the other ends' totals are unchanged.
func (e *Engine) evictHost(h *host) {
	for h.srvPairs != nil {
		e.dropPair(h.srvPairs)
	}
	for h.cliPairs != nil {
		e.dropPair(h.cliPairs)
	}
	t := &e.hosts
	t.unlink(h)
	delete(t.m, h.addr)
	t.stat.Evictions++
	*h = host{}
	t.free = append(t.free, h)
}

// pair returns the detail of (s, c), creating it when needed and evicting the least
// recently seen pair at the cap.
func (e *Engine) pair(s, c *host) *pair {
	t := &e.pairs
	k := pairKey{s.addr, c.addr}
	if p, ok := t.m[k]; ok {
		t.touch(p)
		return p
	}
	if len(t.m) >= t.max {
		e.dropPair(t.tail)
		t.stat.Evictions++
	}
	var p *pair
	if n := len(t.free); n > 0 {
		p = t.free[n-1]
		t.free = t.free[:n-1]
	} else {
		p = new(pair)
	}
	p.key, p.srv, p.cli = k, s, c
	t.m[k] = p
	t.pushFront(p)
	p.sNext = s.srvPairs
	if s.srvPairs != nil {
		s.srvPairs.sPrev = p
	}
	s.srvPairs = p
	p.cNext = c.cliPairs
	if c.cliPairs != nil {
		c.cliPairs.cPrev = p
	}
	c.cliPairs = p
	if len(t.m) > t.stat.Peak {
		t.stat.Peak = len(t.m)
	}
	return p
}

// dropPair unlinks p from its hosts and the table and recycles it. Evictions are counted by
// the caller: a pair dropped with its host is part of that host's eviction.
func (e *Engine) dropPair(p *pair) {
	if p.sPrev != nil {
		p.sPrev.sNext = p.sNext
	} else {
		p.srv.srvPairs = p.sNext
	}
	if p.sNext != nil {
		p.sNext.sPrev = p.sPrev
	}
	if p.cPrev != nil {
		p.cPrev.cNext = p.cNext
	} else {
		p.cli.cliPairs = p.cNext
	}
	if p.cNext != nil {
		p.cNext.cPrev = p.cPrev
	}
	t := &e.pairs
	t.unlink(p)
	delete(t.m, p.key)
	if e.lastPair == p {
		e.lastPair = nil
	}
	*p = pair{}
	t.free = append(t.free, p)
}
