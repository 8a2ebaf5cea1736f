package main

import (
	"fmt"
	"path/filepath"
	"testing"
)

// TestFlowRecords: the flow records pmacct's nfprobe exports for the reflection and the
// victim flood samples, NetFlow v9 and IPFIX of every packet, give the reflection (and the
// server's exposure) and the victim flood, with their subjects and victims, the vector
// unknown, and the counts of the full captures exactly: records of every packet are counts,
// not estimates (a rate of 1, exact distinct counts). The exports are kept in testdata/flows
// (-update-flows rewrites them).
func TestFlowRecords(t *testing.T) {
	repoRoot(t)
	for _, c := range []struct {
		name    string
		args    []string
		version int
	}{
		{"reflection", nil, 9}, {"reflection", nil, 10},
		{"victim_flood", []string{"--home-net", "198.51.100.0/24"}, 9},
		{"victim_flood", []string{"--home-net", "198.51.100.0/24"}, 10},
	} {
		proto, port := map[int]string{9: "netflow", 10: "ipfix"}[c.version], map[int]uint16{9: 2055, 10: 4739}[c.version]
		t.Run(c.name+"/"+proto, func(t *testing.T) {
			t.Parallel()
			full := samplePath(t, c.name)
			out, stderr, code := readAlerts(t, append(c.args, full)...)
			if code != exitOK {
				t.Fatalf("read: exit %d\n%s", code, stderr)
			}
			want := ends(flowAlerts(t, out))
			fixture := filepath.Join("cmd", "ntpwatch", "testdata", "flows", fmt.Sprintf("%s-nfprobe-%s.pcap.gz", c.name, proto))
			if *updateFlows {
				pmacct(t, full, nfprobeConf(c.version), port, fixture)
			}
			got := ends(readFlows(t, fixture, c.args...))
			if fmt.Sprint(keys(got)) != fmt.Sprint(keys(want)) {
				t.Fatalf("incidents from nfprobe's %s:\n  %v\nfrom the full capture:\n  %v", proto, keys(got), keys(want))
			}
			for k, g := range got {
				w := want[k]
				t.Logf("%s: vector %s, requests %+v, responses %+v, sampling %+v", k, g.Vector, g.Requests, g.Responses, g.Sampling)
				if g.Vector != "unknown" || g.Sampling == nil || g.Sampling.Rate != 1 || g.Sampling.ErrorPct != 0 ||
					g.Sampling.DistinctCounts != "exact" {
					t.Errorf("%s: vector %q sampling %+v, want unknown and exact counts", k, g.Vector, g.Sampling)
				}
				if g.Responses != w.Responses || g.Requests != w.Requests || g.Victims.Count != w.Victims.Count ||
					g.Reflectors.Count != w.Reflectors.Count {
					t.Errorf("%s: requests %+v responses %+v, %d victims, %d reflectors; the capture's %+v %+v, %d, %d",
						k, g.Requests, g.Responses, g.Victims.Count, g.Reflectors.Count, w.Requests, w.Responses,
						w.Victims.Count, w.Reflectors.Count)
				}
			}
		})
	}
}
