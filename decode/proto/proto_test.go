package proto_test

import (
	"strings"
	"testing"

	"github.com/ntpwatch/ntpwatch/decode/proto"
)

func classifyNone(m *proto.Message) {}

// entry is a valid protocol on the given ports.
func entry(name string, ports ...uint16) *proto.Protocol {
	return &proto.Protocol{Name: name, Ports: ports, Classify: classifyNone,
		Vectors: []proto.Vector{{Name: name, Remediation: "stop it"}}}
}

// TestNewTableRejects: every mistake a newcomer can make in a table entry is an error that
// names the protocol, not a silent empty remediation or a port taken twice.
func TestNewTableRejects(t *testing.T) {
	noRemedy := entry("b", 2)
	noRemedy.Vectors[0].Remediation = ""
	tooMany := entry("c", 3)
	tooMany.Vectors = make([]proto.Vector, proto.MaxVectors+1)
	for _, tc := range []struct {
		name string
		ps   []*proto.Protocol
		want string
	}{
		{"no classifier", []*proto.Protocol{{Name: "a", Ports: []uint16{1}, Vectors: entry("a").Vectors}}, `"a"`},
		{"no vectors", []*proto.Protocol{{Name: "a", Ports: []uint16{1}, Classify: classifyNone}}, `"a"`},
		{"no remediation", []*proto.Protocol{noRemedy}, "b vector"},
		{"too many vectors", []*proto.Protocol{tooMany}, "c has"},
		{"port twice", []*proto.Protocol{entry("a", 7), entry("b", 8, 7)}, "port 7"},
		{"name twice", []*proto.Protocol{entry("a", 7), entry("a", 8)}, "a is in the table twice"},
		{"vxlan's port", []*proto.Protocol{entry("a", 53, 4789)}, "a claims port 4789"},
		{"gtp-u's port", []*proto.Protocol{entry("a", 2152)}, "port 2152"},
		{"geneve's port", []*proto.Protocol{entry("a", 6081)}, "port 6081"},
		{"two fallbacks", []*proto.Protocol{fallback("a", 1), fallback("b", 2)}, "a and b are both the fallback"},
	} {
		if _, err := proto.NewTable(tc.ps...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one saying %q", tc.name, err, tc.want)
		}
	}
}

// TestLookup: the lower port of a datagram is taken as the server's when both are in the
// table, and Second gives the other.
func TestLookup(t *testing.T) {
	a, b := entry("a", 53), entry("b", 5683)
	tab, err := proto.NewTable(a, b)
	if err != nil {
		t.Fatal(err)
	}
	name := func(p *proto.Protocol) string {
		if p == nil {
			return "-"
		}
		return p.Name
	}
	for _, tc := range []struct {
		sport, dport  uint16
		first, second string
	}{
		{40000, 53, "a", "-"},
		{53, 40000, "a", "-"},
		{40000, 40001, "-", "-"},
		{53, 5683, "a", "b"},
		{5683, 53, "a", "b"},
		{5683, 5683, "b", "-"},
	} {
		if got, got2 := name(tab.Lookup(tc.sport, tc.dport)), name(tab.Second(tc.sport, tc.dport)); got != tc.first || got2 != tc.second {
			t.Errorf("%d > %d: %s then %s, want %s then %s", tc.sport, tc.dport, got, got2, tc.first, tc.second)
		}
	}
	if p := tab.ByID(2); p == nil || p.Name != "b" || p.ID != 2 || tab.ByID(3) != nil || tab.ByID(0) != nil {
		t.Errorf("ByID(2) = %v", p)
	}
	if a.ID != 0 {
		t.Error("NewTable numbered the caller's Protocol, not its copy")
	}
}

// fallback is a fallback entry whose candidate ports are ports.
func fallback(name string, ports ...uint16) *proto.Protocol {
	return &proto.Protocol{Name: name, Ports: ports, Fallback: true,
		Vectors: []proto.Vector{{Name: name, Remediation: "stop it"}}}
}

// TestFallbackPorts: the fallback takes the candidates no other entry claims, wherever it
// stands in the list, and loses every lookup to a protocol's port.
func TestFallbackPorts(t *testing.T) {
	tab, err := proto.NewTable(fallback("f", 7, 8, 9), entry("a", 8))
	if err != nil {
		t.Fatal(err)
	}
	f := tab.Fallback()
	if f == nil || f.Name != "f" || len(f.Ports) != 2 || f.Ports[0] != 7 || f.Ports[1] != 9 || f.Classify == nil {
		t.Fatalf("fallback %+v", f)
	}
	if p := tab.Lookup(7, 8); p == nil || p.Name != "a" {
		t.Errorf("Lookup(7, 8) = %v, want a", p)
	}
	if p := tab.Lookup(7, 40000); p != f {
		t.Errorf("Lookup(7, 40000) = %v, want f", p)
	}
	if tab.Second(7, 8) != nil || tab.Second(8, 7) != nil {
		t.Error("Second gave the fallback")
	}
	noFallback, _ := proto.NewTable(entry("a", 8))
	if noFallback.Fallback() != nil || noFallback.Lookup(7, 40000) != nil {
		t.Error("a table without a fallback found one")
	}
}

// TestDefault: NTP is the first entry of the default table and the fallback the last; every
// protocol of the issue is there, each with its own port.
func TestDefault(t *testing.T) {
	ps := proto.Default.Protocols()
	if len(ps) == 0 || ps[0].Name != "ntp" || ps[0].ID != 1 || proto.Default.Lookup(40000, proto.NTPPort) != ps[0] {
		t.Errorf("default table %v", ps)
	}
	var names []string
	for _, p := range ps {
		names = append(names, p.Name)
	}
	want := "ntp dns cldap ssdp memcached chargen qotd snmp netbios portmap mssql wsd ard coap rip tftp ubiquiti dvr udp"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("default table %s, want %s", got, want)
	}
	for _, p := range ps {
		for _, v := range p.Vectors {
			if !p.Fallback && p.Name != "ntp" && !strings.HasPrefix(v.Name, p.Name+"/") {
				t.Errorf("%s vector %q does not start with %s/", p.Name, v.Name, p.Name)
			}
		}
	}
}

// TestTableService: an alert's protocol name resolves to its protocol and service port, the
// fallback's udp/PORT included; anything else to nil.
func TestTableService(t *testing.T) {
	for _, tc := range []struct {
		name string
		want string
		port uint16
	}{
		{"ntp", "ntp", 123}, {"dns", "dns", 53}, {"udp/427", "udp", 427},
		{"udp", "", 0}, {"udp/0", "", 0}, {"udp/70000", "", 0}, {"ntp/123", "", 0}, {"nope", "", 0},
	} {
		p, port := proto.Default.Service(tc.name)
		got := ""
		if p != nil {
			got = p.Name
		}
		if got != tc.want || port != tc.port {
			t.Errorf("Service(%q) = %q, %d; want %q, %d", tc.name, got, port, tc.want, tc.port)
		}
	}
}
