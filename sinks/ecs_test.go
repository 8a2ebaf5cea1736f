package sinks

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/ntpwatch/ntpwatch/detect"
	"github.com/ntpwatch/ntpwatch/internal/testutil/ecsschema"
)

func TestECSGolden(t *testing.T) { golden(t, "alerts.ecs.json", formatAll(newECSFormatter().append)) }

// TestECSDefinitions validates the ECS document of every sample alert against ECS's field
// definitions.
func TestECSDefinitions(t *testing.T) {
	defs := ecsschema.Load(t)
	f := newECSFormatter()
	for i, a := range sampleAlerts() {
		for _, doc := range [][]byte{AppendECS(nil, &a), f.append(nil, &a)} {
			if errs := defs.Validate(doc); len(errs) > 0 {
				t.Errorf("alert %d (%s): %v\n%s", i, a.Kind, errs, doc)
			}
		}
	}
}

// TestValidateECSRefuses checks that the validator finds what it is for: a test that can
// only pass shows nothing.
func TestValidateECSRefuses(t *testing.T) {
	defs := ecsschema.Load(t)
	a := sampleAlerts()[1]
	good := string(AppendECS(nil, &a))
	for _, tc := range []struct{ from, to, want string }{
		{`"kind":"alert"`, `"kind":"incident"`, "event.kind: incident is not an allowed value"},
		{`"category":["network","intrusion_detection"]`, `"category":"network"`, "event.category: ECS normalizes it to an array"},
		{`"type":["info"]`, `"type":["start"]`, "none expected for event.category intrusion_detection"},
		{`"source":{"ip":"198.51.100.10"`, `"source":{"ip":"host-1"`, "source.ip (ip): host-1 is not an address"},
		{`"source":{"ip":"198.51.100.10","port":123`, `"source":{"ip":"198.51.100.10","port":"123"`, "source.port (long)"},
		{`"rule":{`, `"rule":{"severity":1,`, "rule.severity: not an ECS field"},
		{`{"@timestamp":"2014-01-10T12:01:00.123456789Z",`, `{`, "required field @timestamp is missing"},
	} {
		doc := strings.Replace(good, tc.from, tc.to, 1)
		if doc == good {
			t.Fatalf("%q is not in the document:\n%s", tc.from, good)
		}
		if errs := defs.Validate([]byte(doc)); !slices.ContainsFunc(errs, func(e string) bool { return strings.Contains(e, tc.want) }) {
			t.Errorf("%s -> %s: %v, want %q", tc.from, tc.to, errs, tc.want)
		}
	}
}

// TestECSFields checks what a SIEM keys on: the ends of the attack traffic, the flow's
// Community ID (the EVE record's), the rule and the native alert.
func TestECSFields(t *testing.T) {
	alerts := sampleAlerts()
	for i := range alerts[:len(detect.Kinds())] {
		a := &alerts[i]
		var e struct {
			Source, Destination struct {
				IP      string
				Port    int
				Packets uint64
			}
			Network struct {
				CommunityID string `json:"community_id"`
				Packets     uint64
			}
			Rule     struct{ ID string }
			NTPWatch json.RawMessage `json:"ntpwatch"`
		}
		if err := json.Unmarshal(AppendECS(nil, a), &e); err != nil {
			t.Fatal(err)
		}
		var eve eveRecord
		json.Unmarshal(AppendEVE(nil, a), &eve)
		if e.Source.IP != eve.SrcIP || e.Destination.IP != eve.DestIP || e.Source.Port != eve.SrcPort ||
			e.Destination.Port != eve.DestPort || e.Network.CommunityID != eve.CommunityID {
			t.Errorf("alert %d: %+v %+v %s, want the EVE record's ends", i, e.Source, e.Destination, e.Network.CommunityID)
		}
		if e.Source.Packets+e.Destination.Packets != e.Network.Packets || e.Network.Packets != a.Requests.Packets+a.Responses.Packets {
			t.Errorf("alert %d: packets %d + %d != %d", i, e.Source.Packets, e.Destination.Packets, e.Network.Packets)
		}
		if e.Rule.ID != fmt.Sprint(Signatures[a.Kind].ID) || string(e.NTPWatch) != string(AppendJSON(nil, a)) {
			t.Errorf("alert %d: rule %s, or ntpwatch differs from AppendJSON", i, e.Rule.ID)
		}
	}
}
