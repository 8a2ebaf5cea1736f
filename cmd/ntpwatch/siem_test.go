package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/ntpwatch/ntpwatch/internal/testutil"
	"github.com/ntpwatch/ntpwatch/internal/testutil/ecsschema"
	"github.com/ntpwatch/ntpwatch/internal/testutil/jsonschema"
)

// TestEVESampleCaptures reads every sample capture with --format eve: every record must be
// valid against Suricata's own EVE schema, and the records of one incident (one flow_id) must
// name the same src_ip, dest_ip and community_id in every event (TestEVEStableWithinIncident
// in sinks plays an incident whose top reflector changes).
func TestEVESampleCaptures(t *testing.T) {
	data, err := os.ReadFile(testutil.Shared(t, "reference/external/suricata-eve-schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	schema, err := jsonschema.Compile(data)
	if err != nil {
		t.Fatal(err)
	}
	repoRoot(t)
	records := 0
	for _, tc := range goldenCases {
		out, stderr, code := readAlerts(t, append(append([]string{"--format", "eve"}, tc.args...), filepath.Join("pcaps", tc.name+".pcap"))...)
		if code != exitOK {
			t.Fatalf("%s: exit %d: %s", tc.golden, code, stderr)
		}
		ends := map[uint64][3]string{}
		for _, line := range bytes.Split(bytes.TrimSpace(out), []byte("\n")) {
			if len(line) == 0 {
				continue
			}
			records++
			if errs := schema.Validate(line); len(errs) > 0 {
				t.Errorf("%s: %v\n%s", tc.golden, errs, line)
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
				t.Errorf("%s: incident %d names %v, then %v", tc.golden, e.FlowID, first, got)
			}
			ends[e.FlowID] = got
		}
	}
	if records < 20 {
		t.Errorf("%d EVE records in all: too few to show anything", records)
	}
}

// TestECSSampleCaptures reads every sample capture with --format ecs: every field of every
// document must be an ECS field of its type with an allowed value.
func TestECSSampleCaptures(t *testing.T) {
	defs := ecsschema.Load(t)
	repoRoot(t)
	docs := 0
	for _, tc := range goldenCases {
		out, stderr, code := readAlerts(t, append(append([]string{"--format", "ecs"}, tc.args...), filepath.Join("pcaps", tc.name+".pcap"))...)
		if code != exitOK {
			t.Fatalf("%s: exit %d: %s", tc.golden, code, stderr)
		}
		for _, line := range bytes.Split(bytes.TrimSpace(out), []byte("\n")) {
			if len(line) == 0 {
				continue
			}
			docs++
			if errs := defs.Validate(line); len(errs) > 0 {
				t.Errorf("%s: %v\n%s", tc.golden, errs, line)
			}
		}
	}
	if docs < 20 {
		t.Errorf("%d ECS documents in all: too few to show anything", docs)
	}
}
