package detect

import (
	"errors"
	"io"
	"net/netip"
	"testing"
	"time"

	"github.com/ntpwatch/ntpwatch/decode"
	"github.com/ntpwatch/ntpwatch/decode/proto"
	"github.com/ntpwatch/ntpwatch/internal/testutil"
)

// TestRequestFloodSilentServer: two million 8-byte monlist requests at 100,000 a second,
// each from a forged source never seen before, to a server that never answers: one
// request_flood of severity low, every request counted, the forged sources counted as its
// victims within the doorkeeper's margin, and nothing else. -short sends 200,000.
func TestRequestFloodSilentServer(t *testing.T) {
	n := 2_000_000
	if testing.Short() {
		n = 200_000
	}
	var got []Alert
	e := NewEngine(DefaultConfig(), collect(&got))
	req := privReq(t0, victim6, server6, 42, reqPayload)
	for i := range n {
		req.Src, req.Time = stormSource(i), t0.Add(time.Duration(i)*10*time.Microsecond)
		e.Observe(&req)
	}
	e.Close()
	if len(got) != 2 || got[0].Kind != KindRequestFlood || got[0].State != StateStart || got[1].State != StateEnd {
		t.Fatalf("want one request_flood, got %d events:\n%s", len(got), lines(got[:min(len(got), 4)]))
	}
	start, end := got[0], got[1]
	// The 1,000th request within the window: 9.99 ms after the first.
	if !start.TS.Equal(t0.Add(999*10*time.Microsecond)) || start.Requests.Packets != 1000 {
		t.Errorf("start %s", line(start))
	}
	if end.Requests != (Counter{uint64(n), uint64(n) * reqPayload}) || end.Responses != (Counter{}) ||
		end.Severity != SeverityLow || end.Reflector != server6 || end.HasAmplification != true ||
		end.Amplification != 0 || len(end.Victims.Top) != DefaultConfig().TopN {
		t.Errorf("end %s", line(end))
	}
	checkEstimate(t, "victims", end.Victims.Count, n)
	t.Logf("%d forged requests: one request_flood with %d requests, %d of the %d forged sources counted",
		n, end.Requests.Packets, end.Victims.Count, n)
}

// floodOf is n 8-byte monlist requests to server, a millisecond apart, from 50 forged
// sources in turn; answer, when set, gives the reply to each.
func floodOf(n int, answer func(ts time.Time, src netip.Addr) []decode.Packet) []decode.Packet {
	var ps []decode.Packet
	for i := range n {
		ts := at(time.Duration(i) * time.Millisecond)
		src := addr4(203, 0, 113, byte(100+i%50))
		ps = append(ps, privReq(ts, src, server, 42, reqPayload))
		if answer != nil {
			ps = append(ps, answer(ts.Add(100*time.Microsecond), src)...)
		}
	}
	return ps
}

// TestRequestFlood: a patched server that answers a flood of forged requests with err=4
// raises a low request_flood naming the forged sources as victims; an unpatched one that
// answers with data raises it at medium, beside its reflection, which it does not replace;
// a flood below min_requests per window raises nothing.
func TestRequestFlood(t *testing.T) {
	cfg := DefaultConfig()
	cfg.HomeNet = []netip.Prefix{homeNet4}
	patched := func(ts time.Time, src netip.Addr) []decode.Packet { return []decode.Packet{noData(ts, server, src)} }
	got, _ := run(t, cfg, floodOf(3000, patched))
	if len(got) != 2 || got[1].Kind != KindRequestFlood {
		t.Fatalf("patched server: want one request_flood, got\n%s", lines(got))
	}
	end := got[1]
	var top []HostStat
	for i := range 10 {
		top = append(top, HostStat{addr4(203, 0, 113, byte(100+i)), 60, 60 * reqPayload})
	}
	want := Alert{
		ID: end.ID, Kind: KindRequestFlood, State: StateEnd, Severity: SeverityLow,
		TS: at(2999*time.Millisecond + 100*time.Microsecond), FirstSeen: t0, LastSeen: at(2999*time.Millisecond + 100*time.Microsecond),
		Vector: "monlist", Reflector: server, Victim: top[0].Addr, Victims: HostList{Count: 50, Top: top},
		Requests: Counter{3000, 3000 * reqPayload}, Responses: Counter{3000, 3000 * 8},
		Amplification: 1, HasAmplification: true, WireBytes: 6000 * 60, PeakBPS: 8 * 2000 * 60, PeakPPS: 2000,
		Direction: "inbound",
	}
	if line(end) != line(want) {
		t.Errorf("end event\n got %s\nwant %s", line(end), line(want))
	}
	if !got[0].TS.Equal(at(999*time.Millisecond)) || got[0].Victims.Count != 50 {
		t.Errorf("start at the 1,000th request: %s", line(got[0]))
	}

	unpatched := func(ts time.Time, src netip.Addr) []decode.Packet {
		return []decode.Packet{privResp(ts, server, src, 42, 6, false)}
	}
	got, _ = run(t, cfg, floodOf(3000, unpatched))
	flood, refl := only(got, KindRequestFlood), only(got, KindReflection)
	if len(flood) != 2 || flood[0].Severity != SeverityMedium || len(refl) != 2 || len(only(got, KindExposedAmplifier)) != 2 {
		t.Errorf("unpatched server: want request_flood (medium), reflection and exposed_amplifier, got\n%s", lines(got))
	}

	if got, _ := run(t, cfg, floodOf(999, nil)); len(got) != 0 {
		t.Errorf("999 requests: want nothing, got\n%s", lines(got))
	}
	cfg.RequestFlood.MinSources = 51
	if got, _ := run(t, cfg, floodOf(3000, nil)); len(got) != 0 {
		t.Errorf("50 sources with min_sources 51: want nothing, got\n%s", lines(got))
	}
}

// TestExposedOnFirstReply: one reply carrying monlist items (an in-the-wild reply of
// sequence 14 with five entries) proves an unpatched server; a patched server's err=4 reply
// proves nothing.
func TestExposedOnFirstReply(t *testing.T) {
	reply := privResp(t0, server, victim, 42, 5, true)
	reply.NTP.Priv.Sequence = 14
	got, _ := run(t, DefaultConfig(), []decode.Packet{reply})
	if len(got) != 2 || got[0].Kind != KindExposedAmplifier || got[0].State != StateStart || !got[0].TS.Equal(t0) ||
		got[0].Responses != (Counter{1, 8 + 5*72}) {
		t.Errorf("want exposed_amplifier on the one reply, got\n%s", lines(got))
	}
	if got, _ := run(t, DefaultConfig(), []decode.Packet{noData(t0, server, victim)}); len(got) != 0 {
		t.Errorf("err=4: want nothing, got\n%s", lines(got))
	}
	cfg := DefaultConfig()
	cfg.ExposedAmplifier.MinResponses = 2
	if got, _ := run(t, cfg, []decode.Packet{reply}); len(got) != 0 {
		t.Errorf("min_responses 2: want nothing for one reply, got\n%s", lines(got))
	}
}

// TestBorderAddresses: with an RFC 1918 home net, ntpdc and ntpq run on a server against
// its own loopback, link-local or unspecified addresses are neither forged traffic leaving
// nor clients outside: no spoofed_egress and no exposed_amplifier, whatever the count.
func TestBorderAddresses(t *testing.T) {
	cfg := DefaultConfig()
	cfg.HomeNet = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.168.0.0/16"),
		netip.MustParsePrefix("172.16.0.0/12")}
	for _, pair := range [][2]string{
		{"127.0.0.1", "127.0.0.1"}, {"::1", "::1"}, {"127.0.0.1", "127.0.0.2"},
		{"169.254.1.1", "169.254.1.2"}, {"fe80::1", "fe80::2"}, {"0.0.0.0", "127.0.0.1"},
		{"::ffff:127.0.0.1", "::ffff:127.0.0.1"}, {"224.0.1.1", "203.0.113.9"}, {"ff02::101", "2001:db8::9"},
	} {
		src, dst := netip.MustParseAddr(pair[0]), netip.MustParseAddr(pair[1])
		var ps []decode.Packet
		for i := range 10 {
			ts := at(time.Duration(i) * time.Second)
			ps = append(ps, privReq(ts, src, dst, 42, 192), privResp(ts.Add(time.Millisecond), dst, src, 42, 6, false),
				ctl(ts.Add(2*time.Millisecond), src, dst, 2, false, 0), ctl(ts.Add(3*time.Millisecond), dst, src, 2, true, 400))
		}
		if got, _ := run(t, cfg, ps); len(got) != 0 {
			t.Errorf("%v -> %v: want nothing, got\n%s", src, dst, lines(got))
		}
	}
	// A link-local victim flooded from outside is inbound: it does not count as outside.
	e := NewEngine(cfg, func(*Alert) {})
	if d := e.cfg.Direction(netip.MustParseAddr("198.51.100.1"), netip.MustParseAddr("fe80::7")); d != "inbound" {
		t.Errorf("direction to a link-local address: %q, want inbound", d)
	}
}

// TestRealLoopbackCaptures: the captures of tcpdump's and Zeek's test suites where ntpq and
// ntpdc query ntpd on the same host, through 127.0.0.1 and ::1, raise no spoofed_egress
// with an RFC 1918 home net (they raised it at severity high when loopback counted as
// outside), and no exposed_amplifier either: the client is the server's own host.
func TestRealLoopbackCaptures(t *testing.T) {
	cfg := DefaultConfig()
	cfg.HomeNet = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.168.0.0/16"),
		netip.MustParsePrefix("172.16.0.0/12")}
	for _, name := range []string{"tcpdump/ntp-mode7.pcap", "tcpdump/ntp-control.pcap", "zeek/ntp_ntpmode67.pcap"} {
		t.Run(name, func(t *testing.T) {
			src, err := decode.Open(testutil.Shared(t, "pcaps/real/"+name))
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			var got []Alert
			e := NewEngine(cfg, collect(&got))
			dec := decode.NewDecoder(proto.Default)
			var f decode.Frame
			var p decode.Packet
			loopback := 0
			for {
				if err := src.Next(&f); errors.Is(err, io.EOF) {
					break
				} else if err != nil {
					t.Fatal(err)
				}
				if dec.Decode(&f, &p) == decode.KindMessage && p.Amplifying() && p.Src.IsLoopback() {
					loopback++
				}
				e.Observe(&p)
			}
			e.Close()
			if loopback == 0 {
				t.Fatal("no amplifying message from a loopback address: not the capture this test is about")
			}
			for _, a := range got {
				if a.Kind == KindSpoofedEgress || a.Kind == KindExposedAmplifier {
					t.Errorf("%s", line(a))
				}
			}
		})
	}
}
