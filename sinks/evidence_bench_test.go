package sinks

import (
	"net/netip"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/ntpwatch/ntpwatch/decode"
	"github.com/ntpwatch/ntpwatch/decode/proto"
	"github.com/ntpwatch/ntpwatch/detect"
)

// monlistPacket is an NTP monlist request (8 bytes in a 60-byte frame) or a reply (440 bytes
// of data in a 482-byte frame), as the decoder fills it.
func monlistPacket(t time.Time, src, dst netip.Addr, reply bool) decode.Packet {
	p := decode.Packet{Kind: decode.KindMessage, Proto: proto.Default.Protocols()[0], Time: t, Src: src, Dst: dst,
		Weight: 1, Dir: proto.DirRequest, Vector: 0, PayloadLen: 8, WireLen: 60, SrcPort: 40000, DstPort: 123}
	if reply {
		p.Dir, p.Data, p.PayloadLen, p.WireLen, p.SrcPort, p.DstPort = proto.DirResponse, true, 440, 482, 123, 40000
	}
	return p
}

// addr6 is the i-th address of 2001:db8:N::/48.
func addr6(n byte, i int) netip.Addr {
	return netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, n, 12: byte(i >> 24), 13: byte(i >> 16), 14: byte(i >> 8), 15: byte(i)})
}

// windowBytes publishes an engine's evidence as the publisher encodes it and measures the
// bytes (keys and values, each window's heartbeat on 4 partitions) of each window.
type windowBytes struct {
	cur, max, total, windows, records int
}

func (w *windowBytes) add(ev *detect.Evidence) {
	n := len(AppendEvidence(nil, ev))
	if !ev.Heartbeat {
		w.cur += n + len(ev.Subject.String())
		w.records++
		return
	}
	w.cur += 4 * n
	w.total += w.cur
	w.max = max(w.max, w.cur)
	w.windows++
	w.cur = 0
}

// BenchmarkEvidenceStorm measures what a sensor publishes per window under the attacks that
// make the most evidence, with the engine's memory: 2 million forged sources of monlist
// requests to one server, each answered, over three minutes (three windows); and a flood of
// 10,000 victims by 3 reflectors each, every victim above the floor, which the cap of
// evidence roles (4096) bounds; and the storm without evidence, for the memory evidence
// costs. Run each alone, so that the peak RSS is its own:
//
//	go test -run '^$' -bench 'EvidenceStorm/forged_sources' -benchtime 1x ./sinks
//	go test -run '^$' -bench 'EvidenceStorm/forged_without' -benchtime 1x ./sinks
//	go test -run '^$' -bench 'EvidenceStorm/victims' -benchtime 1x ./sinks
func BenchmarkEvidenceStorm(b *testing.B) {
	t0 := time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)
	server := netip.MustParseAddr("2001:db8::123")
	forged := func(b *testing.B, publish bool) {
		for b.Loop() {
			var w windowBytes
			e := detect.NewEngine(detect.DefaultConfig(), func(*detect.Alert) {})
			if publish {
				e.PublishEvidence(w.add)
			}
			const n = 2_000_000
			for i := range n {
				at := t0.Add(time.Duration(i) * 90 * time.Microsecond)
				req, resp := monlistPacket(at, addr6(1, i), server, false), monlistPacket(at.Add(time.Microsecond), server, addr6(1, i), true)
				e.Observe(&req)
				e.Observe(&resp)
			}
			e.Close()
			report(b, &w, e)
		}
	}
	b.Run("forged sources", func(b *testing.B) { forged(b, true) })
	b.Run("forged without evidence", func(b *testing.B) { forged(b, false) })
	b.Run("victims at the cap", func(b *testing.B) {
		for b.Loop() {
			var w windowBytes
			e := detect.NewEngine(detect.DefaultConfig(), func(*detect.Alert) {})
			e.PublishEvidence(w.add)
			for v := range 10_000 {
				for r := range 3 {
					for k := range 100 {
						at := t0.Add(time.Duration(v)*time.Millisecond + time.Duration(r*100+k)*time.Microsecond)
						p := monlistPacket(at, addr6(2, v*3+r), addr6(3, v), true)
						e.Observe(&p)
					}
				}
			}
			e.Close()
			report(b, &w, e)
		}
	})
}

func report(b *testing.B, w *windowBytes, e *detect.Engine) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	st := e.Counters().Evidence
	b.ReportMetric(float64(w.max), "max-bytes/window")
	b.ReportMetric(float64(w.total)/float64(max(1, w.windows)), "bytes/window")
	b.ReportMetric(float64(w.records)/float64(max(1, w.windows)), "records/window")
	b.ReportMetric(float64(st.Refused), "roles-refused")
	b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "MiB-heap-in-use")
	b.ReportMetric(float64(ru.Maxrss)/1024, "MiB-peak-RSS")
}
