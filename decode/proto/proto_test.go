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

// TestDefault: NTP is the first entry of the default table.
func TestDefault(t *testing.T) {
	ps := proto.Default.Protocols()
	if len(ps) == 0 || ps[0].Name != "ntp" || ps[0].ID != 1 || proto.Default.Lookup(40000, proto.NTPPort) != ps[0] {
		t.Errorf("default table %v", ps)
	}
}
