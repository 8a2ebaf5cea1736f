package detect

import (
	"testing"
	"time"
)

// BenchmarkUnansweredStorm is the attack capture of `make bench` (ntpgen bench-pcaps): 8-byte
// monlist requests to one server, each from a source never seen before and not answered, so
// that beyond the host cap the doorkeeper turns every one of them away. The tables are full
// before the timer starts.
func BenchmarkUnansweredStorm(b *testing.B) {
	e := NewEngine(DefaultConfig(), func(*Alert) {})
	req := privReq(t0, victim6, server6, 42, reqPayload)
	i := 0
	next := func() {
		req.Src, req.Time = stormSource(i), t0.Add(time.Duration(i)*10*time.Microsecond)
		e.Observe(&req)
		i++
	}
	for range DefaultConfig().Tables.MaxHosts {
		next()
	}
	b.ReportAllocs()
	for b.Loop() {
		next()
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "packets/s")
}
