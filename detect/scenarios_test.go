package detect

import (
	"net/netip"
	"testing"
	"time"

	"github.com/ntpwatch/ntpwatch/decode"
	"github.com/ntpwatch/ntpwatch/decode/proto"
)

func addr4(a, b, c, d byte) netip.Addr { return netip.AddrFrom4([4]byte{a, b, c, d}) }

// victimFlood: 100 reflectors each send one full monlist reply (100 packets of 440 bytes) to
// a victim that sent nothing, interleaved one packet per reflector per millisecond.
func victimFlood() []decode.Packet {
	var ps []decode.Packet
	for round := range respPerList {
		for i := range 100 {
			r := addr4(198, 51, 100, byte(i+1))
			ts := at(time.Duration(round)*time.Millisecond + time.Duration(i)*time.Microsecond)
			ps = append(ps, privResp(ts, r, victim, 42, 6, round < respPerList-1))
		}
	}
	return ps
}

func TestVictimFlood(t *testing.T) {
	cfg := DefaultConfig()
	cfg.HomeNet = []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")}
	got, _ := run(t, cfg, victimFlood())
	if len(got) != 2 || got[0].Kind != KindVictimFlood || got[0].State != StateStart || got[1].State != StateEnd {
		t.Fatalf("want one victim_flood start and end (no exposed_amplifier: the client is inside), got\n%s", lines(got))
	}
	end := got[1]
	var top []HostStat
	for i := range 10 {
		top = append(top, HostStat{addr4(198, 51, 100, byte(i+1)), respPerList, respPerList * respPayload})
	}
	want := Alert{
		ID: end.ID, Kind: KindVictimFlood, State: StateEnd, Severity: SeverityMedium,
		TS: at(99*time.Millisecond + 99*time.Microsecond), FirstSeen: t0, LastSeen: at(99*time.Millisecond + 99*time.Microsecond),
		Vector: "monlist", Victim: victim,
		Reflectors: HostList{Count: 100, Top: top},
		Responses:  Counter{10000, 10000 * respPayload},
		WireBytes:  10000 * respWire,
		// All 10,000 packets fall into one second.
		PeakBPS: 8 * 10000 * respWire, PeakPPS: 10000, Direction: "inbound",
	}
	if line(end) != line(want) {
		t.Errorf("end event\n got %s\nwant %s", line(end), line(want))
	}
	// 1,000,000 bytes is the 2273rd packet: round 22, reflector 73.
	if !got[0].TS.Equal(at(22*time.Millisecond+72*time.Microsecond)) || got[0].Reflectors.Count != 100 {
		t.Errorf("start: %s", line(got[0]))
	}

	// Without a home net every reflector answering with data is an exposed amplifier too.
	got, _ = run(t, DefaultConfig(), victimFlood())
	if n := len(only(got, KindExposedAmplifier)); n != 200 {
		t.Errorf("exposed_amplifier events without home net: %d, want 100 starts and 100 ends", n)
	}
	if n := len(only(got, KindVictimFlood)); n != 2 {
		t.Errorf("victim_flood events: %d, want 2", n)
	}
}

// TestVictimFloodNeedsReflectors: the same bytes from 9 reflectors, or to a victim that asked
// for them (ratio below 5), are no victim flood.
func TestVictimFloodNeedsReflectors(t *testing.T) {
	var few []decode.Packet
	for round := range 1000 {
		for i := range 9 {
			few = append(few, privResp(at(time.Duration(round)*time.Millisecond), addr4(198, 51, 100, byte(i+1)), victim, 42, 6, true))
		}
	}
	got, _ := run(t, DefaultConfig(), few)
	if n := len(only(got, KindVictimFlood)); n != 0 {
		t.Errorf("9 reflectors: want no victim_flood, got\n%s", lines(got))
	}
	var asked []decode.Packet
	for i := range 100 {
		// 50 requests of 192 bytes to each reflector: 44,000 / 9,600 is a ratio of 4.6.
		for range 50 {
			asked = append(asked, privReq(t0.Add(-time.Second), victim, addr4(198, 51, 100, byte(i+1)), 42, 192))
		}
	}
	asked = append(asked, victimFlood()...)
	got, _ = run(t, DefaultConfig(), asked)
	if n := len(only(got, KindVictimFlood)); n != 0 {
		t.Errorf("victim asked for the replies: want no victim_flood, got\n%s", lines(got))
	}
}

// scanSweep: a scanner sends 48-byte MON_GETLIST_1 probes (nmap's) to the 256 hosts of
// 192.0.2.0/24, one every 10 ms; .10 answers with a full reply, .20 with err=4 (patched),
// .30 with a 2-packet reply.
func scanSweep() []decode.Packet {
	var ps []decode.Packet
	for i := range 256 {
		ts := at(time.Duration(i) * 10 * time.Millisecond)
		dst := addr4(192, 0, 2, byte(i))
		ps = append(ps, privReq(ts, scanner, dst, 42, 48))
		switch i {
		case 10:
			for j := range respPerList {
				ps = append(ps, privResp(ts.Add(time.Duration(j+1)*10*time.Microsecond), dst, scanner, 42, 6, j < respPerList-1))
			}
		case 20:
			ps = append(ps, noData(ts.Add(time.Millisecond), dst, scanner))
		case 30:
			ps = append(ps, privResp(ts.Add(time.Millisecond), dst, scanner, 42, 6, true),
				privResp(ts.Add(2*time.Millisecond), dst, scanner, 42, 6, false))
		}
	}
	return ps
}

func TestScan(t *testing.T) {
	got, _ := run(t, DefaultConfig(), scanSweep())
	scan := only(got, KindScan)
	if len(scan) != 2 {
		t.Fatalf("want scan start and end, got\n%s", lines(got))
	}
	if !scan[0].TS.Equal(at(63*10*time.Millisecond)) || scan[0].Targets.Count != 64 {
		t.Errorf("start at the 64th target: %s", line(scan[0]))
	}
	end := scan[1]
	want := Alert{
		ID: end.ID, Kind: KindScan, State: StateEnd, Severity: SeverityHigh,
		TS: at(255 * 10 * time.Millisecond), FirstSeen: t0, LastSeen: at(255 * 10 * time.Millisecond),
		Vector: "monlist", Scanner: scanner,
		Targets: Targets{Count: 256, Responders: []Responder{
			{addr4(192, 0, 2, 10), true, respPerList, respPerList * respPayload},
			{addr4(192, 0, 2, 30), true, 2, 2 * respPayload},
			{addr4(192, 0, 2, 20), false, 1, 8},
		}},
		Requests:      Counter{256, 256 * 48},
		Responses:     Counter{103, 102*respPayload + 8},
		Amplification: float64(102*respPayload+8) / float64(256*48), HasAmplification: true,
		WireBytes: 256*90 + 102*respWire + 60,
		PeakBPS:   8 * (100*90 + 102*respWire + 60), PeakPPS: 203, // the first second: 100 probes, 103 replies
	}
	if line(end) != line(want) {
		t.Errorf("end event\n got %s\nwant %s", line(end), line(want))
	}
	exp := only(got, KindExposedAmplifier)
	if len(exp) != 4 || exp[0].Reflector != addr4(192, 0, 2, 10) || exp[1].Reflector != addr4(192, 0, 2, 30) {
		t.Errorf("exposed_amplifier: want .10 and .30 (answered with data), not .20 (err=4), got\n%s", lines(exp))
	}
	if n := len(got) - len(scan) - len(exp); n != 0 {
		t.Errorf("%d unexpected events:\n%s", n, lines(got))
	}
}

// spoofedEgress: with 192.0.2.0/24 at home, a host inside sends monlist requests with the
// forged source 203.0.113.7 to five reflectors outside, ten each, one a second.
func spoofedEgress() []decode.Packet {
	var ps []decode.Packet
	for i := range 10 {
		for r := range 5 {
			ps = append(ps, privReq(at(time.Duration(i)*time.Second+time.Duration(r)*time.Millisecond),
				victim, addr4(198, 51, 100, byte(r+1)), 42, reqPayload))
		}
	}
	return ps
}

func TestSpoofedEgress(t *testing.T) {
	cfg := DefaultConfig()
	cfg.HomeNet = []netip.Prefix{homeNet4}
	got, _ := run(t, cfg, spoofedEgress())
	if len(got) != 2 || got[0].Kind != KindSpoofedEgress || !got[0].TS.Equal(at(time.Millisecond)) {
		t.Fatalf("want spoofed_egress from the second request, got\n%s", lines(got))
	}
	end := got[1]
	var top []HostStat
	for r := range 5 {
		top = append(top, HostStat{addr4(198, 51, 100, byte(r+1)), 10, 10 * reqPayload})
	}
	want := Alert{
		ID: end.ID, Kind: KindSpoofedEgress, State: StateEnd, Severity: SeverityHigh,
		TS: at(9*time.Second + 4*time.Millisecond), FirstSeen: t0, LastSeen: at(9*time.Second + 4*time.Millisecond),
		Vector: "monlist", Victim: victim, Reflectors: HostList{Count: 5, Top: top},
		Requests: Counter{50, 50 * reqPayload}, HasAmplification: true, WireBytes: 50 * reqWire, PeakBPS: 8 * 5 * reqWire, PeakPPS: 5,
		Direction: "external",
	}
	if line(end) != line(want) {
		t.Errorf("end event\n got %s\nwant %s", line(end), line(want))
	}
	if got, _ := run(t, DefaultConfig(), spoofedEgress()); len(got) != 0 {
		t.Errorf("without a home net spoofing cannot be told: want nothing, got\n%s", lines(got))
	}
}

// TestVectors: reflection through other amplifying requests carries their vector and
// remediation.
func TestVectors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		req    func(ts time.Time) decode.Packet
		resp   func(ts time.Time) decode.Packet
		vector string
	}{
		{"PEER_LIST", func(ts time.Time) decode.Packet { return privReq(ts, victim, server, 0, 8) },
			func(ts time.Time) decode.Packet { return privResp(ts, server, victim, 0, 6, false) }, "mode7"},
		{"MON_GETLIST", func(ts time.Time) decode.Packet { return privReq(ts, victim, server, 20, 8) },
			func(ts time.Time) decode.Packet { return privResp(ts, server, victim, 20, 6, false) }, "monlist"},
		{"READVAR", func(ts time.Time) decode.Packet { return ctl(ts, victim, server, 2, false, 0) },
			func(ts time.Time) decode.Packet { return ctl(ts, server, victim, 2, true, 468) }, "mode6"},
		{"IPv6 monlist", func(ts time.Time) decode.Packet { return privReq(ts, victim6, server6, 42, 8) },
			func(ts time.Time) decode.Packet { return privResp(ts, server6, victim6, 42, 6, false) }, "monlist"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ps []decode.Packet
			for i := range 3000 {
				ts := at(time.Duration(i) * 10 * time.Millisecond)
				ps = append(ps, tc.req(ts), tc.resp(ts.Add(time.Millisecond)))
			}
			got, _ := run(t, DefaultConfig(), ps)
			refl := only(got, KindReflection)
			if len(refl) != 2 {
				t.Fatalf("want reflection start and end, got\n%s", lines(got))
			}
			v := map[string]int{"monlist": proto.VectorMonlist, "mode7": proto.VectorMode7, "mode6": proto.VectorMode6}[tc.vector]
			if refl[1].Vector != tc.vector || refl[1].Remediation != ntp.Vectors[v].Remediation || refl[1].Responses.Packets != 3000 {
				t.Errorf("got %s", line(refl[1]))
			}
		})
	}
}

// TestBenignQuiet: ordinary NTP service and monitoring yield no alert of severity medium or
// above, with and without a home net.
func TestBenignQuiet(t *testing.T) {
	busy := func() (ps []decode.Packet) { // 20,000 clients, one query each, answered
		for i := range 20000 {
			c := netip.AddrFrom4([4]byte{203, 0, 113, byte(i % 256)})
			ps = append(ps, std(at(time.Duration(i)*time.Millisecond), c, server, 3),
				std(at(time.Duration(i)*time.Millisecond+100*time.Microsecond), server, c, 4))
		}
		return ps
	}
	nat := func() (ps []decode.Packet) { // 500 clients behind one address query 50 servers
		for i := range 500 {
			s := addr4(198, 51, 100, byte(i%50))
			ps = append(ps, std(at(time.Duration(i)*10*time.Millisecond), victim, s, 3),
				std(at(time.Duration(i)*10*time.Millisecond+time.Millisecond), s, victim, 4))
		}
		return ps
	}
	ntpq := func(servers int) func() []decode.Packet { // READSTAT + READVAR of every server each minute
		return func() (ps []decode.Packet) {
			for m := range 10 {
				for s := range servers {
					ts := at(time.Duration(m)*time.Minute + time.Duration(s)*100*time.Millisecond)
					dst := addr4(192, 0, 2, byte(100+s))
					ps = append(ps, ctl(ts, admin, dst, 1, false, 0), ctl(ts.Add(time.Millisecond), dst, admin, 1, true, 16),
						ctl(ts.Add(2*time.Millisecond), admin, dst, 2, false, 0), ctl(ts.Add(3*time.Millisecond), dst, admin, 2, true, 420))
				}
			}
			return ps
		}
	}
	ntpdc := func() []decode.Packet { return monlist(nil, t0, admin, server, 192) }
	for _, tc := range []struct {
		name string
		ps   func() []decode.Packet
	}{
		{"busy public server", busy},
		{"NAT clients sharing one address", nat},
		{"ntpq monitoring of 20 servers", ntpq(20)},
		{"ntpq monitoring of a fleet of 100", ntpq(100)},
		{"one administrative ntpdc monlist", ntpdc},
	} {
		for _, home := range [][]netip.Prefix{nil, {homeNet4}} {
			cfg := DefaultConfig()
			cfg.HomeNet = home
			got, _ := run(t, cfg, tc.ps())
			for _, a := range got {
				if a.Severity != SeverityLow {
					t.Errorf("%s, home net %v: %s", tc.name, home, line(a))
				}
			}
		}
	}
}
