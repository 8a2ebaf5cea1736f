package detect

import (
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/ntpwatch/ntpwatch/decode"
)

// stormSource is the i-th forged source of a storm: distinct addresses of 2001:db8:1::/48.
func stormSource(i int) netip.Addr {
	return netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 1, 12: byte(i >> 24), 13: byte(i >> 16), 14: byte(i >> 8), 15: byte(i)})
}

// storm feeds n monlist requests from n distinct forged sources to server6, each answered
// with one reply packet, a microsecond apart, reusing two Packets as a decoder does.
func storm(e *Engine, n int) {
	req := privReq(t0, victim6, server6, 42, reqPayload)
	resp := privResp(t0, server6, victim6, 42, 6, true)
	for i := range n {
		src := stormSource(i)
		ts := t0.Add(time.Duration(i) * time.Microsecond)
		req.Src, req.Time = src, ts
		resp.Dst, resp.Time = src, ts.Add(500*time.Nanosecond)
		e.Observe(&req)
		e.Observe(&resp)
	}
}

// TestForgedStormBounded: 2 million forged sources keep every table at its cap while the
// server's totals, which the reflection incident reports, stay exact.
func TestForgedStormBounded(t *testing.T) {
	n := 2_000_000
	if testing.Short() {
		n = 200_000
	}
	cfg := DefaultConfig()
	var last Alert
	e := NewEngine(cfg, func(a *Alert) {
		if a.Kind == KindReflection {
			last = *a
		}
	})
	storm(e, n)
	st := e.Report()
	hosts, pairs := st.Tables[0], st.Tables[1]
	if hosts.Len != cfg.Tables.MaxHosts || hosts.Peak != cfg.Tables.MaxHosts || hosts.Refusals != 0 {
		t.Errorf("hosts %+v: want full at the cap, nothing refused", hosts)
	}
	// n sources and the server were inserted; all but the cap were evicted.
	if want := uint64(n + 1 - cfg.Tables.MaxHosts); hosts.Evictions != want {
		t.Errorf("host evictions %d, want %d", hosts.Evictions, want)
	}
	// Each evicted source takes its pair along, so pairs never outgrow the hosts.
	if pairs.Len > cfg.Tables.MaxHosts || pairs.Peak > cfg.Tables.MaxPairs {
		t.Errorf("pairs %+v", pairs)
	}
	e.Close()
	if last.State != StateEnd || last.Requests.Packets != uint64(n) || last.Responses.Packets != uint64(n) ||
		len(last.Victims.Top) != cfg.TopN {
		t.Errorf("reflection end: want exact totals of %d, got %s", n, line(last))
	}
	checkEstimate(t, "victims", last.Victims.Count, n)
}

// checkEstimate fails when a distinct count made at the table caps is off by more than the
// doorkeeper's false admissions allow: they can only make it low, by a few percent.
func checkEstimate(t *testing.T, what string, got, want int) {
	t.Helper()
	if got > want || float64(got) < 0.95*float64(want) {
		t.Errorf("%s count %d, want %d within 5%% below", what, got, want)
	}
}

// TestStormAtCapCounts: sources seen once each (requests that no reply follows) and a scan
// of more targets than the host table holds are still counted, though the table turns the
// first packet of every new address away.
func TestStormAtCapCounts(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Tables.MaxHosts, cfg.Tables.MaxPairs = 1000, 2000
	n := 50_000
	var refl, scan Alert
	e := NewEngine(cfg, func(a *Alert) {
		switch a.Kind {
		case KindReflection:
			refl = *a
		case KindScan:
			scan = *a
		}
	})
	req := privReq(t0, victim6, server6, 42, reqPayload)
	resp := privResp(t0, server6, victim6, 42, 6, true)
	// A reflection first, so that the server has an incident to report the victims in.
	for i := range 3000 {
		resp.Time = t0.Add(time.Duration(i) * time.Microsecond)
		e.Observe(&resp)
	}
	for i := range n {
		req.Src, req.Time = stormSource(i), t0.Add(3*time.Millisecond+time.Duration(i)*time.Microsecond)
		e.Observe(&req)
	}
	// One scanner probes n addresses of 2001:db8:2::/48.
	probe := privReq(t0, scanner, server6, 42, 48)
	for i := range n {
		a := stormSource(i).As16()
		a[5] = 2
		probe.Dst, probe.Time = netip.AddrFrom16(a), t0.Add(time.Second+time.Duration(i)*time.Microsecond)
		e.Observe(&probe)
	}
	e.Close()
	if refl.State != StateEnd || refl.Requests.Packets != uint64(n) {
		t.Fatalf("reflection end: %s", line(refl))
	}
	checkEstimate(t, "victims", refl.Victims.Count, n+1) // the storm and victim6
	// The scanner's very first probe is lost: at the cap, it and its target were both
	// unknown, so neither had a host to count it in.
	if scan.State != StateEnd || scan.Requests.Packets != uint64(n-1) {
		t.Fatalf("scan end: %s", line(scan))
	}
	checkEstimate(t, "targets", scan.Targets.Count, n)
}

// BenchmarkObserve measures Observe per packet on the streams that dominate attack captures.
// Run: go test -run '^$' -bench Observe -benchmem ./detect
func BenchmarkObserve(b *testing.B) {
	b.Run("monlist attack", func(b *testing.B) {
		// The reflection sample: one request, 100 replies, repeated.
		ps := monlist(nil, t0, victim, server, reqPayload)
		e := NewEngine(DefaultConfig(), func(*Alert) {})
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			p := &ps[i%len(ps)]
			p.Time = t0.Add(time.Duration(i) * 10 * time.Microsecond)
			e.Observe(p)
		}
	})
	b.Run("forged storm", func(b *testing.B) {
		// Every request from a new source, each answered: insertion and eviction each time.
		req := privReq(t0, victim6, server6, 42, reqPayload)
		resp := privResp(t0, server6, victim6, 42, 6, true)
		e := NewEngine(DefaultConfig(), func(*Alert) {})
		storm(e, DefaultConfig().Tables.MaxHosts) // start full: steady state
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			p := &req
			if i%2 == 1 {
				p = &resp
			}
			src := stormSource(1<<24 + i/2)
			p.Src, p.Time = src, t0.Add(time.Second+time.Duration(i)*time.Microsecond)
			if i%2 == 1 {
				p.Src, p.Dst = server6, src
			}
			e.Observe(p)
		}
	})
	b.Run("client traffic", func(b *testing.B) {
		// Mode 3/4 of a busy public server: counted only.
		ps := []decode.Packet{std(t0, victim, server, 3), std(t0, server, victim, 4)}
		e := NewEngine(DefaultConfig(), func(*Alert) {})
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			p := &ps[i%2]
			p.Time = t0.Add(time.Duration(i) * time.Microsecond)
			e.Observe(p)
		}
	})
}

// BenchmarkStormMemory reports the heap the engine holds after 2 million forged sources, the
// design's memory budget case (256 MiB peak RSS for the whole process).
// Run: go test -run '^$' -bench StormMemory -benchtime 1x ./detect
func BenchmarkStormMemory(b *testing.B) {
	for b.Loop() {
		e := NewEngine(DefaultConfig(), func(*Alert) {})
		storm(e, 2_000_000)
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "MiB-heap-in-use")
		b.ReportMetric(float64(ms.Sys)/(1<<20), "MiB-sys")
		runtime.KeepAlive(e)
	}
}
