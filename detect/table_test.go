package detect

import (
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"
)

// checkTables fails when the host and pair tables disagree: every pair names the hosts it
// links, both are in the host table under their own keys, and it sits in both hosts' lists.
// The traffic of the tests that call it never has a host talk to itself.
func checkTables(t *testing.T, e *Engine) {
	t.Helper()
	e.pairs.idx.each(func(p *pair) {
		k := p.key
		if k.srv == k.cli || p.hosts[sideSrv] == p.hosts[sideCli] {
			t.Fatalf("pair %v is one host", k)
		}
		if e.pairs.get(k) != p || p.hosts[sideSrv].key.addr != k.srv || p.hosts[sideCli].key.addr != k.cli {
			t.Fatalf("pair %v links hosts %v and %v", k, p.hosts[sideSrv].key, p.hosts[sideCli].key)
		}
		for side, h := range p.hosts {
			if e.hosts.get(h.key) != h {
				t.Fatalf("pair %v: host %v is not in the table", k, h.key)
			}
			found := false
			for q := h.pairs[side]; q != nil; q = q.side[side].next {
				found = found || q == p
			}
			if !found {
				t.Fatalf("pair %v is missing from the list of %v", k, h.key)
			}
		}
	})
}

// TestFullTableKeepsThePacketsServer: at the host cap, the client of a packet enters the
// table while its server sits at the tail of the eviction queue. The server must stay:
// evicting it would hand its entry to the client and make a pair of one host, {X, X}.
func TestFullTableKeepsThePacketsServer(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Tables.MaxHosts = minTable
	e := NewEngine(cfg, func(*Alert) {})
	other := addr4(192, 0, 2, 99)
	client := func(i int) netip.Addr { return addr4(203, 0, 113, byte(i)) }
	// The server and its one client enter first: the server is the tail of the queue.
	p := privReq(at(0), client(1), server, 42, reqPayload)
	e.Observe(&p)
	// Another server and 13 clients fill the table.
	for i := range minTable - 3 {
		p = privReq(at(time.Duration(i+1)*time.Millisecond), client(i+2), other, 42, reqPayload)
		e.Observe(&p)
	}
	if e.hosts.len() != minTable {
		t.Fatalf("%d hosts, want the table full at %d", e.hosts.len(), minTable)
	}
	// A newcomer is turned away once, then admitted on its request to the first server.
	newcomer := addr4(198, 51, 100, 7)
	p = privReq(at(time.Second), newcomer, other, 42, reqPayload)
	e.Observe(&p)
	p = privReq(at(2*time.Second), newcomer, server, 42, reqPayload)
	e.Observe(&p)
	checkTables(t, e)
	pr := e.pairs.get(pairKey{server, newcomer, ntp.ID, 0})
	if pr == nil || pr.hosts[sideSrv] == pr.hosts[sideCli] {
		t.Fatalf("pair of %v and %v: %+v", server, newcomer, pr)
	}
	if s := e.hosts.get(hostKey{server, ntp.ID, 0}); s == nil || s.srv.req.Packets != 2 {
		t.Errorf("server %+v: want it kept with its 2 requests", s)
	}
}

// TestTablesAtTheCap drives random traffic among more addresses than the tables hold and
// checks after every packet that the tables stay consistent.
func TestTablesAtTheCap(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Tables.MaxHosts, cfg.Tables.MaxPairs = minTable, minTable
	e := NewEngine(cfg, func(*Alert) {})
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 20000 {
		s, c := addr4(192, 0, 2, byte(rng.IntN(12))), addr4(203, 0, 113, byte(rng.IntN(40)))
		ts := at(time.Duration(i) * time.Millisecond)
		p := privReq(ts, c, s, 42, reqPayload)
		if rng.IntN(2) == 0 {
			p = privResp(ts, s, c, 42, 6, false)
		}
		e.Observe(&p)
		checkTables(t, e)
	}
}
