package detect

import (
	"testing"

	"github.com/ntpwatch/ntpwatch/decode"
)

func TestStats(t *testing.T) {
	ps := sampleReflection(8)
	ps = append(ps, decode.Packet{Kind: decode.KindOther, Time: ps[len(ps)-1].Time},
		decode.Packet{Kind: decode.KindMalformed, Problem: decode.ProblemNTPShort, Time: ps[len(ps)-1].Time},
		decode.Packet{Kind: decode.KindFragment, Time: ps[len(ps)-1].Time})
	_, e := run(t, DefaultConfig(), ps)
	st := e.Stats()
	if st.Packets != uint64(len(ps)) || st.NTPMessages != uint64(len(ps)-3) || st.Other != 1 || st.Malformed != 1 || st.Fragments != 1 {
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
		if st.Alerts[i] != w {
			t.Errorf("alerts %d: got %+v, want %+v", i, st.Alerts[i], w)
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
	// Stats must not disturb the engine: an open incident's next event is unchanged.
	var events []Alert
	e = NewEngine(DefaultConfig(), collect(&events))
	for i := range ps {
		e.Observe(&ps[i])
		if i%1000 == 0 {
			e.Stats()
		}
	}
	e.Close()
	ref, _ := run(t, DefaultConfig(), ps)
	if lines(events) != lines(ref) {
		t.Errorf("Stats changed the events:\n%s\nwant\n%s", lines(events), lines(ref))
	}
}
