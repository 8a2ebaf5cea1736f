package detect

import (
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/ntpwatch/ntpwatch/decode"
	"github.com/ntpwatch/ntpwatch/decode/proto"
)

// sampleReflection is the scenario of pcaps/reflection.pcap: a home server answering 300
// forged MON_GETLIST_1 requests for one victim over a minute (one every 200 ms, each with
// the full 100-packet reply), mixed with ordinary mode 3/4 clients.
func sampleReflection(reqSize uint32) []decode.Packet {
	var ps []decode.Packet
	for i := range 300 {
		ts := at(time.Duration(i) * 200 * time.Millisecond)
		ps = monlist(ps, ts, victim, server, reqSize)
		c := netip.AddrFrom4([4]byte{198, 51, 100, byte(i % 50)})
		ps = append(ps, std(ts.Add(150*time.Millisecond), c, server, 3), std(ts.Add(151*time.Millisecond), server, c, 4))
	}
	return ps
}

func TestReflectionSample(t *testing.T) {
	for _, tc := range []struct {
		name    string
		reqSize uint32
		home    []netip.Prefix
		dir     string
		exposed Severity
	}{
		{"8-byte requests", 8, nil, "", SeverityLow},
		{"48-byte requests", 48, nil, "", SeverityLow},
		{"192-byte requests with home net", 192, []netip.Prefix{homeNet4}, "outbound", SeverityMedium},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.HomeNet = tc.home
			cfg.Sensor, cfg.Source = "s1", "sample.pcap"
			got, e := run(t, cfg, sampleReflection(tc.reqSize))
			refl := only(got, KindReflection)
			if len(refl) != 2 || refl[0].State != StateStart || refl[1].State != StateEnd {
				t.Fatalf("want reflection start and end, got\n%s", lines(got))
			}
			reqWireLen := uint64(max(60, tc.reqSize+42))
			end := refl[1]
			want := Alert{
				ID: refl[0].ID, Kind: KindReflection, State: StateEnd, Severity: SeverityMedium,
				TS: at(299*200*time.Millisecond + 151*time.Millisecond), FirstSeen: t0,
				LastSeen: at(299*200*time.Millisecond + 100*time.Millisecond),
				Protocol: "ntp", ServerPort: 123, Vector: "monlist", Reflector: server, Victim: victim,
				Victims:       HostList{Count: 1, Top: []HostStat{{victim, 30000, 30000 * respPayload}}},
				Requests:      Counter{300, 300 * uint64(tc.reqSize)},
				Responses:     Counter{30000, 30000 * respPayload},
				Amplification: float64(30000*respPayload) / float64(300*tc.reqSize), HasAmplification: true,
				WireBytes: 300*reqWireLen + 30000*respWire,
				PeakBPS:   float64(8 * (5*reqWireLen + 500*respWire)), PeakPPS: 505,
				Direction: tc.dir, Remediation: ntp.Vectors[proto.VectorMonlist].Remediation, Sensor: "s1", Source: "sample.pcap",
			}
			if line(end) != line(want) || end.Remediation != want.Remediation || end.Sensor != "s1" || end.Source != "sample.pcap" {
				t.Errorf("end event\n got %s\nwant %s", line(end), line(want))
			}
			if refl[0].ID != end.ID || len(refl[0].ID) != 16 {
				t.Errorf("ids %q and %q: want one 16-hex-digit id", refl[0].ID, end.ID)
			}
			// The threshold: 1,000,000 bytes of replies, the 2273rd reply packet, which is the
			// 73rd packet of the 23rd exchange.
			if wantTS := at(22*200*time.Millisecond + 73*time.Millisecond); !refl[0].TS.Equal(wantTS) {
				t.Errorf("start at %s, want %s", refl[0].TS, wantTS)
			}
			if refl[0].Responses.Packets != 2273 || refl[0].Requests.Packets != 23 {
				t.Errorf("start counters %+v %+v, want cumulative from the first packet: 23 requests, 2273 replies",
					refl[0].Requests, refl[0].Responses)
			}
			exp := only(got, KindExposedAmplifier)
			if len(exp) != 2 || exp[0].State != StateStart || exp[0].Severity != tc.exposed ||
				exp[0].Reflector != server || !exp[0].TS.Equal(at(time.Millisecond)) {
				t.Errorf("exposed_amplifier: want start at the first data reply, severity %s, then end; got\n%s", tc.exposed, lines(exp))
			}
			if n := len(got) - len(refl) - len(exp); n != 0 {
				t.Errorf("%d unexpected events:\n%s", n, lines(got))
			}
			if c := e.Counters(); c.Messages != 30900 || c.Amplifying != 30300 {
				t.Errorf("messages %d, amplifying %d: want 30900 and 30300", c.Messages, c.Amplifying)
			}
		})
	}
}

// TestAdminMonlistQuiet: one ntpdc monlist from an administrator is no attack. Inside the
// home net it raises nothing; without a home net only a low exposed_amplifier.
func TestAdminMonlistQuiet(t *testing.T) {
	ps := monlist(nil, t0, admin, server, 192)
	cfg := DefaultConfig()
	got, _ := run(t, cfg, ps)
	for _, a := range got {
		if a.Kind != KindExposedAmplifier || a.Severity != SeverityLow {
			t.Errorf("unexpected %s", line(a))
		}
	}
	cfg.HomeNet = []netip.Prefix{homeNet4}
	if got, _ := run(t, cfg, ps); len(got) != 0 {
		t.Errorf("admin inside the home net: want no alert, got\n%s", lines(got))
	}
}

// TestReflectionLifecycle runs an attack of one request a second for 200 s, then checks the
// updates (at most one per update_interval, with counters growing), and the end one
// idle_timeout after the last packet, fired by Advance on a quiet link.
func TestReflectionLifecycle(t *testing.T) {
	var ps []decode.Packet
	for i := range 200 {
		ps = monlist(ps, at(time.Duration(i)*time.Second), victim, server, 8)
	}
	var got []Alert
	e := NewEngine(DefaultConfig(), func(a *Alert) {
		if a.Kind == KindReflection {
			got = append(got, *a)
		}
	})
	for i := range ps {
		e.Observe(&ps[i])
	}
	last := ps[len(ps)-1].Time
	e.Advance(last.Add(59 * time.Second))
	if got[len(got)-1].State == StateEnd {
		t.Fatalf("ended before the idle timeout:\n%s", lines(got))
	}
	e.Advance(last.Add(61 * time.Second))
	var states []State
	for i, a := range got {
		states = append(states, a.State)
		if i > 0 {
			prev := got[i-1]
			if a.State == StateUpdate && a.TS.Sub(prev.TS) < 60*time.Second {
				t.Errorf("update %s only %s after the previous event", a.TS, a.TS.Sub(prev.TS))
			}
			if a.Responses.Packets < prev.Responses.Packets || a.ID != prev.ID || !a.FirstSeen.Equal(t0) {
				t.Errorf("event %d: counters must be cumulative under one id from t0:\n%s", i, lines(got))
			}
		}
	}
	// Start at 22.7 s (the 2273rd reply); updates at the first packet 60 s after each event.
	want := []State{StateStart, StateUpdate, StateUpdate, StateUpdate, StateEnd}
	if len(states) != len(want) {
		t.Fatalf("states %v, want %v:\n%s", states, want, lines(got))
	}
	end := got[len(got)-1]
	if !end.TS.Equal(last.Add(60*time.Second)) || end.Responses.Packets != 20000 || end.Requests.Packets != 200 {
		t.Errorf("end: %s", line(end))
	}
	e.Close() // nothing left open: no second end
	if len(got) != len(want) {
		t.Errorf("Close after the end emitted again")
	}
}

// TestReflectionRestartsAfterIdle: a second attack after a quiet spell is a new incident
// with a new id and counters of its own.
func TestReflectionRestartsAfterIdle(t *testing.T) {
	var ps []decode.Packet
	for i := range 30 {
		ps = monlist(ps, at(time.Duration(i)*time.Second), victim, server, 8)
	}
	for i := range 30 {
		ps = monlist(ps, at(10*time.Minute+time.Duration(i)*time.Second), victim, server, 8)
	}
	got, _ := run(t, DefaultConfig(), ps)
	refl := only(got, KindReflection)
	if len(refl) != 4 || refl[0].ID == refl[2].ID || refl[1].State != StateEnd ||
		refl[3].Responses.Packets != 3000 || !refl[1].TS.Equal(at(29*time.Second+100*time.Millisecond+time.Minute)) {
		t.Fatalf("want two incidents of 3000 replies each:\n%s", lines(refl))
	}
	// exposed_amplifier is once per host, even across incidents.
	if n := len(only(got, KindExposedAmplifier)); n != 2 {
		t.Errorf("exposed_amplifier events: %d, want start and end once", n)
	}
}

func TestDeterministic(t *testing.T) {
	ps := sampleReflection(8)
	a, _ := run(t, DefaultConfig(), ps)
	b, _ := run(t, DefaultConfig(), ps)
	if lines(a) != lines(b) {
		t.Errorf("two runs differ:\n%s\n%s", lines(a), lines(b))
	}
}

// TestVictimListPerEpisode: the server pauses for longer than the idle timeout while the
// victim stays busy with another reflector; the server's second reflection incident lists
// the victim with that incident's replies only, not the first attack's as well.
func TestVictimListPerEpisode(t *testing.T) {
	other := netip.MustParseAddr("192.0.2.11")
	var ps []decode.Packet
	for i := range 30 {
		ps = monlist(ps, at(time.Duration(i)*time.Second), victim, server, 8)
	}
	// The victim keeps receiving from another reflector through the server's pause.
	for i := range 200 {
		ps = monlist(ps, at(30*time.Second+time.Duration(i)*time.Second), victim, other, 8)
	}
	for i := range 30 {
		ps = monlist(ps, at(3*time.Minute+time.Duration(i)*time.Second), victim, server, 8)
	}
	slices.SortStableFunc(ps, func(a, b decode.Packet) int { return a.Time.Compare(b.Time) })
	got, _ := run(t, DefaultConfig(), ps)
	var ends []Alert
	for _, a := range only(got, KindReflection) {
		if a.State == StateEnd && a.Reflector == server {
			ends = append(ends, a)
		}
	}
	if len(ends) != 2 {
		t.Fatalf("want two reflection incidents of %v:\n%s", server, lines(only(got, KindReflection)))
	}
	for _, a := range ends {
		if len(a.Victims.Top) != 1 || a.Victims.Top[0].Packets != a.Responses.Packets || a.Victims.Top[0].Bytes != a.Responses.Bytes {
			t.Errorf("victims %+v do not add up to the incident's responses %+v", a.Victims.Top, a.Responses)
		}
	}
}
