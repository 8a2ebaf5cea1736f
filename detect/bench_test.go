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
	st := e.Stats()
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
		last.Victims.Count != n || len(last.Victims.Top) != cfg.TopN {
		t.Errorf("reflection end: want exact totals of %d, got %s", n, line(last))
	}
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
