package detect

import (
	"testing"
	"time"
)

// BenchmarkTables measures one monlist request per packet, from sources that cycle through
// n distinct addresses to one server, as `make bench`'s attack captures send them: below the
// host table's cap (10k: every packet finds its host and pair), at it (100k sources and the
// server are one more host than the cap, so that every packet misses, evicts the least
// recent host and inserts its own, the worst case of a recency list), past it (1M, and
// ever new sources, which the doorkeeper turns away on their first packet). The tables are
// filled before the timer starts; allocations are reported, and must be none.
func BenchmarkTables(b *testing.B) {
	for _, c := range []struct {
		name    string
		sources int
	}{{"below-cap-10k", 10_000}, {"at-cap-100k", 100_000}, {"past-cap-1m", 1_000_000}, {"new-sources", 0}} {
		b.Run(c.name, func(b *testing.B) {
			e := NewEngine(DefaultConfig(), func(*Alert) {})
			req := privReq(t0, victim6, server6, 42, reqPayload)
			i := 0
			send := func() {
				n := i
				if c.sources > 0 {
					n %= c.sources
				}
				req.Src, req.Time = stormSource(n), t0.Add(time.Duration(i)*10*time.Microsecond)
				e.Observe(&req)
				i++
			}
			// Fill: every source once, and at least twice the cap's worth of packets.
			for range max(c.sources, 2*DefaultConfig().Tables.MaxHosts) {
				send()
			}
			b.ReportAllocs()
			for b.Loop() {
				send()
			}
			st := e.Report().Tables[0]
			b.ReportMetric(float64(st.Len), "hosts")
			if testing.Verbose() {
				b.Logf("%+v", st)
			}
		})
	}
}

// BenchmarkTableFill measures filling the tables of a new engine to the host table's cap: one
// request from each of 100,000 new sources, the cost per new host reported.
func BenchmarkTableFill(b *testing.B) {
	n := DefaultConfig().Tables.MaxHosts
	req := privReq(t0, victim6, server6, 42, reqPayload)
	b.ReportAllocs()
	for b.Loop() {
		e := NewEngine(DefaultConfig(), func(*Alert) {})
		for i := range n {
			req.Src, req.Time = stormSource(i), t0.Add(time.Duration(i)*10*time.Microsecond)
			e.Observe(&req)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/host")
}
