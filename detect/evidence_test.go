package detect

import (
	"net/netip"
	"testing"
	"time"

	"github.com/axiomhq/hyperloglog"
	"github.com/ntpwatch/ntpwatch/decode"
)

// publish runs ps through an engine that publishes its evidence and returns the records and
// the alerts.
func publish(t *testing.T, cfg Config, ps []decode.Packet) ([]Evidence, []Alert) {
	t.Helper()
	var recs []Evidence
	var alerts []Alert
	e := NewEngine(cfg, func(a *Alert) { alerts = append(alerts, *a) })
	e.PublishEvidence(func(ev *Evidence) { recs = append(recs, *ev) })
	for i := range ps {
		e.Observe(&ps[i])
	}
	e.Close()
	return recs, alerts
}

// reflectorAddr is the i-th reflector of a flood: 198.51.100.1 on.
func reflectorAddr(i int) netip.Addr { return netip.AddrFrom4([4]byte{198, 51, 100, byte(1 + i)}) }

// floodPart is a victim's share of a flood as one link carries it: n reflectors from the
// first, each answering one full monlist reply series, a second apart from start.
func floodPart(start time.Time, first, n int) []decode.Packet {
	var ps []decode.Packet
	for i := range n {
		at := start.Add(time.Duration(i) * time.Second)
		for k := range respPerList {
			ps = append(ps, privResp(at.Add(time.Duration(k)*time.Millisecond), reflectorAddr(first+i), victim, 42, 6, k < respPerList-1))
		}
	}
	return ps
}

func estimate(t *testing.T, b []byte) uint64 {
	t.Helper()
	if len(b) == 0 {
		return 0
	}
	var sk hyperloglog.Sketch
	if err := sk.UnmarshalBinary(b); err != nil {
		t.Fatalf("sketch: %v", err)
	}
	return sk.Estimate()
}

// TestEvidenceBelowThresholds: a link's tenth of a flood, below every threshold of the
// sensor, is published with its exact figures, its peers in a sketch, and a heartbeat; the
// reflectors, each above the floor too, have records of their own.
func TestEvidenceBelowThresholds(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Sensor = "tap-3"
	// The victim in the home net: replies with data to it expose no amplifier.
	cfg.HomeNet = []netip.Prefix{netip.PrefixFrom(victim, 32)}
	start := time.Date(2024, 3, 1, 12, 0, 10, 0, time.UTC)
	recs, alerts := publish(t, cfg, floodPart(start, 0, 9))
	if len(alerts) != 0 {
		t.Fatalf("the sensor alone raised %s", lines(alerts))
	}
	var vic *Evidence
	servers := 0
	for i := range recs {
		r := &recs[i]
		switch {
		case r.Heartbeat:
		case r.Subject == victim && r.Role == RoleClient:
			vic = r
		case r.Role == RoleServer:
			servers++
		}
	}
	if vic == nil || servers != 9 {
		t.Fatalf("want the victim's record and 9 reflectors', got %d records: %+v", len(recs), recs)
	}
	hb := recs[len(recs)-1]
	wantStart := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	if !hb.Heartbeat || !hb.Final || hb.Subjects != 10 || hb.Sensor != "tap-3" || !hb.WindowStart.Equal(wantStart) ||
		!hb.WindowEnd.Equal(wantStart.Add(time.Minute)) {
		t.Errorf("final heartbeat %+v", hb)
	}
	if vic.Responses != (Counter{9 * respPerList, 9 * respPerList * respPayload}) || vic.WindowResponseBytes != vic.Responses.Bytes ||
		vic.ResponsePeers != 9 || vic.DataPeers != 9 || len(vic.TopResponses) != 9 || !vic.TopResponses[0].Amplifier ||
		vic.Protocol != "ntp" || !vic.WindowStart.Equal(wantStart) || !vic.First.Equal(start) {
		t.Errorf("victim's record %+v", *vic)
	}
	if n := estimate(t, vic.ResponseSketch); n != 9 || len(vic.RequestSketch) != 0 {
		t.Errorf("sketch of reflectors estimates %d, want 9; request sketch %d bytes", n, len(vic.RequestSketch))
	}
}

// TestEvidenceWindows: a role is published for every window it has traffic in once it rose
// above the floor, even below it later; a clock that jumps ends the windows between with one
// heartbeat; a role below the floor is left out.
func TestEvidenceWindows(t *testing.T) {
	cfg := DefaultConfig()
	base := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	ps := floodPart(base.Add(50*time.Second), 0, 1)                                             // 44,000 bytes: above the floor of 20,000
	ps = append(ps, privResp(base.Add(70*time.Second), reflectorAddr(0), victim, 42, 6, false)) // 440 bytes in the next window
	ps = append(ps, privResp(base.Add(100*time.Second), admin, victim, 42, 6, false))           // another reflector, below the floor
	// Half an hour later (a quiet spell the next packet confirms).
	later := base.Add(30 * time.Minute)
	ps = append(ps, std(later, admin, scanner, 3), std(later.Add(time.Second), admin, scanner, 3))
	recs, _ := publish(t, cfg, ps)
	type win struct {
		start, end time.Duration
		hb         bool
		subject    netip.Addr
		role       Role
	}
	var got []win
	var second Evidence // the victim's in the second window
	for _, r := range recs {
		got = append(got, win{r.WindowStart.Sub(base), r.WindowEnd.Sub(base), r.Heartbeat, r.Subject, r.Role})
		if r.Subject == victim && r.WindowStart.Sub(base) == time.Minute {
			second = r
		}
	}
	// Within a window, records come in the host table's order: the latest host first.
	want := []win{
		{0, time.Minute, false, victim, RoleClient}, {0, time.Minute, false, reflectorAddr(0), RoleServer},
		{0, time.Minute, true, netip.Addr{}, RoleServer},
		{time.Minute, 2 * time.Minute, false, victim, RoleClient}, {time.Minute, 2 * time.Minute, false, reflectorAddr(0), RoleServer},
		{time.Minute, 30 * time.Minute, true, netip.Addr{}, RoleServer},
		{30 * time.Minute, 31 * time.Minute, true, netip.Addr{}, RoleServer},
	}
	if len(got) != len(want) {
		t.Fatalf("records %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("record %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	if v := second; v.Responses.Packets != respPerList+2 || v.ResponsePeers != 2 || estimate(t, v.ResponseSketch) != 2 {
		t.Errorf("the victim's second window %+v", v)
	}
}

// TestEvidenceCap: past max roles, a role above the floor is left out and counted once.
func TestEvidenceCap(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Evidence.MaxRoles = 2
	var recs int
	e := NewEngine(cfg, func(*Alert) {})
	e.PublishEvidence(func(ev *Evidence) {
		if !ev.Heartbeat {
			recs++
		}
	})
	ps := floodPart(t0, 0, 3)
	ps = append(ps, std(t0.Add(3*time.Minute), admin, scanner, 3), std(t0.Add(3*time.Minute), admin, scanner, 3))
	for i := range ps {
		e.Observe(&ps[i])
	}
	st := e.Counters().Evidence
	if recs != 2 || st.Sketched != 2 || st.Refused != 2 || st.Records != 2 || st.Windows != 1 {
		t.Errorf("%d records, stats %+v: want 2 published, 2 refused (a reflector and the victim)", recs, st)
	}
}

// TestEvidenceQuietLink: a live sensor's clock moves on during a lull (Advance), and its
// windows end all the same: a quiet sensor is told from a silent one by its heartbeats.
func TestEvidenceQuietLink(t *testing.T) {
	var hbs []time.Time
	e := NewEngine(DefaultConfig(), func(*Alert) {})
	e.PublishEvidence(func(ev *Evidence) {
		if ev.Heartbeat {
			hbs = append(hbs, ev.WindowEnd)
		}
	})
	p := std(t0, admin, scanner, 3)
	e.Observe(&p)
	for s := 10; s <= 150; s += 10 {
		e.Advance(t0.Add(time.Duration(s) * time.Second))
	}
	if want := []time.Time{t0.Add(time.Minute), t0.Add(2 * time.Minute)}; len(hbs) != 2 || !hbs[0].Equal(want[0]) || !hbs[1].Equal(want[1]) {
		t.Errorf("heartbeats ending %v, want %v", hbs, want)
	}
}

// TestEvidenceFloorPerProtocol: the floor is a fraction of the subject's protocol's
// thresholds (detect.protocols), not only of the detect section's: a victim's 4,400 bytes are
// below a fiftieth of victim_flood's 1,000,000 and above a fiftieth of the 100,000 set for NTP.
func TestEvidenceFloorPerProtocol(t *testing.T) {
	start := time.Date(2024, 3, 1, 12, 0, 10, 0, time.UTC)
	ps := floodPart(start, 0, 1)[:10]
	for _, tc := range []struct {
		name  string
		prots map[string]ProtocolConfig
		want  int
	}{
		{"defaults", nil, 0},
		{"ntp's victim_flood lowered", map[string]ProtocolConfig{"ntp": {"victim_flood": {"min_response_bytes": 100_000}}}, 1},
	} {
		cfg := DefaultConfig()
		cfg.Protocols = tc.prots
		recs, _ := publish(t, cfg, ps)
		n := 0
		for _, r := range recs {
			if !r.Heartbeat && r.Subject == victim && r.Role == RoleClient {
				n++
			}
		}
		if n != tc.want {
			t.Errorf("%s: %d records of the victim, want %d", tc.name, n, tc.want)
		}
	}
}
