package main

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/ntpwatch/ntpwatch/internal/testutil/ecsschema"
	"github.com/ntpwatch/ntpwatch/internal/testutil/jsonschema"
)

// sampleRecords reads every sample capture (with the flags of its golden file) in format
// and returns each one's alert lines.
func sampleRecords(t *testing.T, format string) map[string][][]byte {
	t.Helper()
	repoRoot(t)
	out := map[string][][]byte{}
	n := 0
	for _, tc := range goldenCases {
		alerts, stderr, code := readAlerts(t, append(append([]string{"--format", format}, tc.args...), samplePath(t, tc.name))...)
		if code != exitOK {
			t.Fatalf("%s: exit %d: %s", tc.golden, code, stderr)
		}
		for _, line := range bytes.Split(bytes.TrimSpace(alerts), []byte("\n")) {
			if len(line) > 0 {
				out[tc.golden] = append(out[tc.golden], line)
				n++
			}
		}
	}
	if n < 20 {
		t.Fatalf("%d %s records in all: too few to show anything", n, format)
	}
	return out
}

// TestEVESampleCaptures reads every sample capture with --format eve: every record must be
// valid against Suricata's own EVE schema, and the records of one incident (one flow_id) must
// name the same src_ip, dest_ip and community_id in every event (TestEVEStableWithinIncident
// in sinks plays an incident whose top reflector changes).
func TestEVESampleCaptures(t *testing.T) {
	schema := jsonschema.SuricataEVE(t)
	for name, lines := range sampleRecords(t, "eve") {
		ends := map[uint64][3]string{}
		for _, line := range lines {
			if errs := schema.Validate(line); len(errs) > 0 {
				t.Errorf("%s: %v\n%s", name, errs, line)
			}
			var e struct {
				FlowID      uint64 `json:"flow_id"`
				SrcIP       string `json:"src_ip"`
				DestIP      string `json:"dest_ip"`
				CommunityID string `json:"community_id"`
			}
			json.Unmarshal(line, &e)
			got := [3]string{e.SrcIP, e.DestIP, e.CommunityID}
			if first, ok := ends[e.FlowID]; ok && first != got {
				t.Errorf("%s: incident %d names %v, then %v", name, e.FlowID, first, got)
			}
			ends[e.FlowID] = got
		}
	}
}

// TestECSSampleCaptures reads every sample capture with --format ecs: every field of every
// document must be an ECS field of its type with an allowed value.
func TestECSSampleCaptures(t *testing.T) {
	defs := ecsschema.Load(t)
	for name, lines := range sampleRecords(t, "ecs") {
		for _, line := range lines {
			if errs := defs.Validate(line); len(errs) > 0 {
				t.Errorf("%s: %v\n%s", name, errs, line)
			}
		}
	}
}
