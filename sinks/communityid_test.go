package sinks

import (
	"encoding/json"
	"net/netip"
	"os"
	"testing"

	"github.com/ntpwatch/ntpwatch/internal/testutil"
)

// TestCommunityIDVectors checks CommunityID against every vector the spec publishes, with
// seed 0 and seed 1 (../shared/reference/external, from corelight/community-id-spec
// baseline/): TCP, UDP, SCTP, ICMP, ICMPv6 and a protocol without ports, both ways.
func TestCommunityIDVectors(t *testing.T) {
	for _, tc := range []struct {
		file string
		seed uint16
	}{{"community-id-baseline_deflt.json", 0}, {"community-id-baseline_seed1.json", 1}} {
		data, err := os.ReadFile(testutil.Shared(t, "reference/external/"+tc.file))
		if err != nil {
			t.Fatal(err)
		}
		var vectors []struct {
			Proto        uint8
			Saddr, Daddr string
			Sport, Dport uint16
			CommunityID  string `json:"communityid"`
		}
		if err := json.Unmarshal(data, &vectors); err != nil {
			t.Fatal(err)
		}
		if len(vectors) < 20 {
			t.Fatalf("%s: %d vectors", tc.file, len(vectors))
		}
		for _, v := range vectors {
			got := CommunityID(tc.seed, v.Proto, netip.MustParseAddr(v.Saddr), netip.MustParseAddr(v.Daddr), v.Sport, v.Dport)
			if got != v.CommunityID {
				t.Errorf("%s: proto %d %s:%d -> %s:%d: %s, want %s", tc.file, v.Proto, v.Saddr, v.Sport, v.Daddr, v.Dport, got, v.CommunityID)
			}
		}
	}
}

// TestCommunityIDSpecExample is the example of the spec's README: both directions of a flow
// give one ID.
func TestCommunityIDSpecExample(t *testing.T) {
	a, b := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("127.0.0.1")
	if x, y := CommunityID(0, protoTCP, a, b, 1234, 80), CommunityID(0, protoTCP, b, a, 80, 1234); x != y {
		t.Errorf("%s != %s", x, y)
	}
}
