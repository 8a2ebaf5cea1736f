package detect

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/ntpwatch/ntpwatch/decode"
)

func TestReport(t *testing.T) {
	ps := sampleReflection(8)
	ps = append(ps, decode.Packet{Kind: decode.KindOther, Time: ps[len(ps)-1].Time},
		decode.Packet{Kind: decode.KindMalformed, Problem: decode.ProblemNTPShort, Time: ps[len(ps)-1].Time},
		decode.Packet{Kind: decode.KindFragment, Time: ps[len(ps)-1].Time})
	_, e := run(t, DefaultConfig(), ps)
	st := e.Report()
	if st.Packets != uint64(len(ps)) || st.Messages != uint64(len(ps)-3) || st.Other != 1 || st.Malformed != 1 || st.Fragments != 1 {
		t.Errorf("packet counters %+v", st)
	}
	wantTables := []TableStats{
		{Name: "hosts", Len: 2, Cap: 100000, Peak: 2},
		{Name: "pairs", Len: 1, Cap: 200000, Peak: 1},
		{Name: "exposed_amplifiers", Len: 1, Cap: 100000, Peak: 1},
		{Name: "incidents", Len: 0, Cap: 10000, Peak: 2},
	}
	for i, w := range wantTables {
		if st.Tables[i] != w {
			t.Errorf("table %d: got %+v, want %+v", i, st.Tables[i], w)
		}
	}
	wantAlerts := []KindCount{{KindExposedAmplifier, 1, 2}, {KindReflection, 1, 2}, {KindVictimFlood, 0, 0}, {KindScan, 0, 0}, {KindSpoofedEgress, 0, 0}}
	for i, w := range wantAlerts {
		if st.Kinds[i] != w {
			t.Errorf("alerts %d: got %+v, want %+v", i, st.Kinds[i], w)
		}
	}
	if len(st.Incidents) != 2 || st.Incidents[0].Kind != KindExposedAmplifier || st.Incidents[1].Kind != KindReflection ||
		st.Incidents[1].Responses.Packets != 30000 || st.Incidents[1].Amplification != 5500 || st.Incidents[1].Open ||
		st.Incidents[1].Peers != 1 || st.Incidents[1].Top[0].Addr != victim {
		t.Errorf("incidents %+v", st.Incidents)
	}
	if len(st.TopReflectors) != 1 || st.TopReflectors[0].Addr != server || st.TopReflectors[0].Packets != 30000 ||
		len(st.TopVictims) != 1 || st.TopVictims[0].Addr != victim || len(st.TopScanners) != 0 {
		t.Errorf("top reflectors %+v victims %+v scanners %+v", st.TopReflectors, st.TopVictims, st.TopScanners)
	}
	// Report must not disturb the engine: an open incident's next event is unchanged.
	var events []Alert
	e = NewEngine(DefaultConfig(), collect(&events))
	for i := range ps {
		e.Observe(&ps[i])
		if i%1000 == 0 {
			e.Report()
		}
	}
	e.Close()
	ref, _ := run(t, DefaultConfig(), ps)
	if lines(events) != lines(ref) {
		t.Errorf("Report changed the events:\n%s\nwant\n%s", lines(events), lines(ref))
	}
}

// openIncidents returns an engine with n open spoofed_egress incidents: n forged sources
// outside the home net, each sending two monlist requests through the tap.
func openIncidents(t testing.TB, n int) *Engine {
	cfg := DefaultConfig()
	cfg.HomeNet = []netip.Prefix{homeNet4}
	cfg.Tables.MaxIncidents = n
	cfg.RequestFlood.MinRequests = uint64(2*n + 1) // the server's request_flood would take a place
	e := NewEngine(cfg, func(*Alert) {})
	req := privReq(t0, victim, scanner, 42, reqPayload)
	for i := range n {
		req.Src = stormSource(i)
		req.Time = t0.Add(time.Duration(i) * time.Microsecond)
		e.Observe(&req)
		e.Observe(&req)
	}
	if got := e.Counters().Tables[TableIncidents].Len; got != n {
		t.Fatalf("%d open incidents, want %d", got, n)
	}
	return e
}

// TestCountersAllocatesNothing: the metrics take Counters at will, so it must cost nothing,
// even at the incident cap.
func TestCountersAllocatesNothing(t *testing.T) {
	e := openIncidents(t, 1000)
	if n := testing.AllocsPerRun(100, func() { e.Counters() }); n != 0 {
		t.Errorf("%v allocations per Counters", n)
	}
	c := e.Counters()
	if c.Kinds[kSpoofed].Kind != KindSpoofedEgress || c.Kinds[kSpoofed].Incidents != 1000 || c.Tables[TableHosts].Len != 1001 {
		t.Errorf("counters %+v", c)
	}
}

// BenchmarkCounters takes Counters with the default cap of 10,000 incidents open.
func BenchmarkCounters(b *testing.B) {
	e := openIncidents(b, DefaultConfig().Tables.MaxIncidents)
	b.ReportAllocs()
	for b.Loop() {
		e.Counters()
	}
}

// TestHistoryKeepsTheLargest: when more incidents end than tables.max_history keeps, the
// report keeps the largest by wire bytes, in the order they ended, and counts the others.
func TestHistoryKeepsTheLargest(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Tables.MaxHistory = 2
	var ps []decode.Packet
	// Four reflectors, one after the other, each an exposed_amplifier with 1 to 4 replies.
	for i := range 4 {
		srv := netip.AddrFrom4([4]byte{192, 0, 2, byte(100 + i)})
		ts := at(time.Duration(i) * 5 * time.Minute)
		ps = append(ps, privReq(ts, victim, srv, 42, reqPayload))
		for j := range []int{2, 4, 3, 5}[i] {
			ps = append(ps, privResp(ts.Add(time.Duration(j+1)*time.Millisecond), srv, victim, 42, 6, true))
		}
	}
	_, e := run(t, cfg, ps)
	r := e.Report()
	var got []string
	for _, in := range r.Incidents {
		got = append(got, in.Subject.String())
	}
	if strings.Join(got, " ") != "192.0.2.101 192.0.2.103" || r.IncidentsDropped != 2 {
		t.Errorf("kept %v, dropped %d: want the two largest, 192.0.2.101 and 192.0.2.103, in end order, and 2 dropped", got, r.IncidentsDropped)
	}
}

// TestTimeline: an incident's timeline adds up to its wire bytes, the part before the first
// incident started included.
func TestTimeline(t *testing.T) {
	_, e := run(t, DefaultConfig(), sampleReflection(8))
	for _, in := range e.Report().Incidents {
		var req, resp uint64
		for i, p := range in.Timeline {
			if !p.To.After(p.From) || i > 0 && p.From.Before(in.Timeline[i-1].To) {
				t.Errorf("%s: point %d %+v out of order", in.Kind, i, p)
			}
			req += p.RequestBytes
			resp += p.ResponseBytes
		}
		if req+resp != in.WireBytes || req == 0 || resp == 0 {
			t.Errorf("%s: timeline of %d request and %d reply bytes, want %d in all", in.Kind, req, resp, in.WireBytes)
		}
		if in.Detected.Before(in.FirstSeen) || in.Detected.After(in.LastSeen) {
			t.Errorf("%s: detected at %s, outside %s..%s", in.Kind, in.Detected, in.FirstSeen, in.LastSeen)
		}
	}
}
