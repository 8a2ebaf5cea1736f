package proto_test

import (
	"testing"

	"github.com/ntpwatch/ntpwatch/decode/proto"
)

// TestFallback: which datagrams the fallback takes, and its verdicts by port.
func TestFallback(t *testing.T) {
	fb := proto.Default.Fallback()
	if fb == nil || fb.Name != "udp" || fb.ID != uint8(len(proto.Default.Protocols())) {
		t.Fatalf("the default table's fallback is %v, want udp, last", fb)
	}
	name := func(p *proto.Protocol) string {
		if p == nil {
			return "-"
		}
		return p.Name
	}
	for _, c := range []struct {
		sport, dport uint16
		want         string
	}{
		{427, victim, "udp"},          // SLP's reply
		{client, 427, "udp"},          // a request to it
		{427, 80, "udp"},              // to the attack tools' favourite victim port
		{443, client, "-"},            // QUIC
		{853, client, "-"},            // DNS over QUIC
		{80, client, "-"},             // no UDP service
		{21, proto.NTPPort, "ntp"},    // a table port wins, whatever the order of the ports
		{proto.NTPPort, 21, "ntp"},    //
		{1023, victim, "udp"},         //
		{1024, victim, "-"},           // not a well-known port
		{client, victim, "-"},         //
		{proto.DNSPort, 427, "dns"},   //
		{427, proto.SSDPPort, "udp"},  // a lower fallback port before a table port above it... the table's wins
		{proto.SSDPPort, 427, "ssdp"}, //
		{500, 500, "udp"},             // IKE
		{proto.CharGENPort, 19, "chargen"},
	} {
		got := proto.Default.Lookup(c.sport, c.dport)
		want := c.want
		if c.sport == 427 && c.dport == proto.SSDPPort {
			want = "ssdp"
		}
		if name(got) != want {
			t.Errorf("Lookup(%d, %d) = %s, want %s", c.sport, c.dport, name(got), want)
		}
		if s := proto.Default.Second(c.sport, c.dport); s != nil && s.Fallback {
			t.Errorf("Second(%d, %d) is the fallback", c.sport, c.dport)
		}
	}
	for _, port := range fb.Ports {
		if p := proto.Default.Lookup(port, victim); p != fb {
			t.Errorf("fallback port %d looks up %s", port, name(p))
		}
	}
	if len(fb.Ports) < 900 || len(proto.UDPFallback.Ports) != 1020 {
		t.Errorf("the fallback has %d ports of %d candidates", len(fb.Ports), len(proto.UDPFallback.Ports))
	}
	checkVerdictsFallback(t, fb, []verdict{
		{name: "reply", sport: 427, dport: victim, payload: zeros(100), dir: proto.DirResponse, vector: "udp"},
		{name: "reply to port 80", sport: 427, dport: 80, payload: zeros(100), dir: proto.DirResponse, vector: "udp"},
		{name: "request", sport: client, dport: 427, payload: zeros(20), dir: proto.DirRequest, vector: "udp"},
		{name: "peers on one port", sport: 500, dport: 500, payload: zeros(20)},
		{name: "two fallback ports: the lower serves", sport: 427, dport: 300, payload: zeros(20), dir: proto.DirRequest, vector: "udp"},
		{name: "two fallback ports, the other way", sport: 300, dport: 427, payload: zeros(20), dir: proto.DirResponse, vector: "udp"},
	})
	for _, c := range []struct {
		sport, dport uint16
		dir          proto.Dir
	}{{427, victim, proto.DirResponse}, {client, 427, proto.DirRequest}, {500, 500, proto.DirNone}} {
		f := proto.Flow{SrcPort: c.sport, DstPort: c.dport, PayloadLen: 1200}
		fb.ClassifyFlow(&f)
		if f.Dir != c.dir || f.Data {
			t.Errorf("flow %d > %d: dir %d data %v, want dir %d", c.sport, c.dport, f.Dir, f.Data, c.dir)
		}
	}
	if proto.ServerPort(proto.DirRequest, client, 427) != 427 || proto.ServerPort(proto.DirResponse, 427, victim) != 427 {
		t.Error("ServerPort")
	}
}

// checkVerdictsFallback is checkVerdicts for the fallback, whose ports are not its own
// service's.
func checkVerdictsFallback(t *testing.T, p *proto.Protocol, cases []verdict) {
	t.Helper()
	for _, c := range cases {
		m := proto.Message{Payload: c.payload, Len: len(c.payload), SrcPort: c.sport, DstPort: c.dport, Vector: proto.NoVector}
		p.Classify(&m)
		if got := p.VectorName(m.Vector); m.Dir != c.dir || got != c.vector || m.Data || m.Refusal {
			t.Errorf("%s: dir %d vector %q data %v, want dir %d vector %q", c.name, m.Dir, got, m.Data, c.dir, c.vector)
		}
	}
}
