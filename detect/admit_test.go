package detect

import (
	"net/netip"
	"testing"
	"time"
)

// TestDoorkeeperAdmitsOnSecondPacket: at the host cap a new client is deferred on its first
// request and admitted on its second, the server's totals count both, and below the cap
// nothing is deferred.
func TestDoorkeeperAdmitsOnSecondPacket(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Tables.MaxHosts = minTable
	e := NewEngine(cfg, func(*Alert) {})
	req := privReq(t0, victim, server, 42, reqPayload)
	for i := range minTable - 1 { // the server and 15 clients fill the table
		req.Src, req.Time = netip.AddrFrom4([4]byte{203, 0, 113, byte(i + 1)}), at(time.Duration(i)*time.Millisecond)
		e.Observe(&req)
	}
	if st := e.hosts.stat; e.hosts.len() != minTable || st.Deferred != 0 || st.Evictions != 0 {
		t.Fatalf("below the cap: %d hosts, %+v", e.hosts.len(), st)
	}
	newcomer := netip.MustParseAddr("198.51.100.200")
	req.Src = newcomer
	req.Time = at(time.Second)
	e.Observe(&req)
	if h := e.hosts.get(hostKey{newcomer, ntp.ID, 0}); h != nil || e.hosts.stat.Deferred != 1 || e.hosts.stat.Evictions != 0 {
		t.Fatalf("first packet at the cap: in table %v, %+v", h != nil, e.hosts.stat)
	}
	req.Time = at(2 * time.Second)
	e.Observe(&req)
	if h := e.hosts.get(hostKey{newcomer, ntp.ID, 0}); h == nil || e.hosts.stat.Deferred != 1 || e.hosts.stat.Evictions != 1 {
		t.Fatalf("second packet at the cap: in table %v, %+v", h != nil, e.hosts.stat)
	}
	if s := e.hosts.get(hostKey{server, ntp.ID, 0}); s.srv.req.Packets != minTable+1 {
		t.Errorf("server counted %d requests, want %d", s.srv.req.Packets, minTable+1)
	}
}

// TestDoorkeeperKnowsTheTable: however often the filter is cleared, every host in the table
// stays known to it, since an unknown address skips the table lookup.
func TestDoorkeeperKnowsTheTable(t *testing.T) {
	e := NewEngine(DefaultConfig(), func(*Alert) {})
	req := privReq(t0, victim6, server6, 42, reqPayload)
	n := 3 * doorkeeperWords * 64 / 4 // enough first sightings to clear it several times
	for i := range n {
		req.Src, req.Time = stormSource(i), t0.Add(time.Duration(i)*time.Microsecond)
		e.Observe(&req)
		if i%5 == 0 { // some come back and are admitted
			e.Observe(&req)
		}
	}
	if e.hosts.stat.Deferred == 0 || e.hosts.stat.Evictions == 0 {
		t.Fatalf("the storm did not reach the cap: %+v", e.hosts.stat)
	}
	e.hosts.idx.each(func(h *host) {
		if !e.door.has(h.key.slot()) {
			t.Fatalf("host %v is in the table but unknown to the doorkeeper", h.key)
		}
	})
}
