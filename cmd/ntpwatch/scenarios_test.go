package main

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ntpwatch/ntpwatch/internal/scenario"
)

// endEvent is the part of an alert the scenario facts are about.
type endEvent struct {
	Kind, State, Protocol      string
	Reflector, Victim, Scanner netip.Addr // null is the zero Addr
	Requests, Responses        scenario.Traffic
	Amplification              *float64
	Victims, Reflectors        struct{ Count int }
	Targets                    struct {
		Count      int
		Responders []struct{ Amplifier bool }
	}
}

// incident is e in the terms of the scenario facts.
func (e *endEvent) incident() scenario.Incident {
	protocol := e.Protocol
	if protocol == "ntp" {
		protocol = "" // the scenarios' NTP incidents name no protocol
	}
	inc := scenario.Incident{Kind: e.Kind, Protocol: protocol, Reflector: e.Reflector, Victim: e.Victim, Scanner: e.Scanner,
		Requests: e.Requests, Responses: e.Responses, Victims: e.Victims.Count, Reflectors: e.Reflectors.Count,
		Targets: e.Targets.Count}
	for _, r := range e.Targets.Responders {
		if r.Amplifier {
			inc.Amplifiers++
		} else {
			inc.Patched++
		}
	}
	return inc
}

// endEvents returns the end event of every incident in out.
func endEvents(t *testing.T, out []byte) []endEvent {
	t.Helper()
	var ends []endEvent
	for _, line := range bytes.Split(bytes.TrimSpace(out), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var e endEvent
		if err := json.Unmarshal(line, &e); err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		if e.State == "end" {
			ends = append(ends, e)
		}
	}
	return ends
}

// sortIncidents orders incidents by kind and subject, so that two lists compare whatever
// order the incidents ended in.
func sortIncidents(incs []scenario.Incident) {
	slices.SortFunc(incs, func(a, b scenario.Incident) int {
		return cmp.Or(strings.Compare(a.Kind, b.Kind), strings.Compare(a.Protocol, b.Protocol), a.Reflector.Compare(b.Reflector),
			a.Victim.Compare(b.Victim), a.Scanner.Compare(b.Scanner))
	})
}

// TestScenarioFacts checks the incidents of each sample against those its scenario was built
// to contain (internal/scenario), independently of the golden files: every incident and no
// other, who is reflector, victim or scanner, the exact packet and byte counts, the list
// sizes, and an amplification that is the byte ratio.
func TestScenarioFacts(t *testing.T) {
	repoRoot(t)
	for _, s := range scenario.All() {
		t.Run(s.Name, func(t *testing.T) {
			var args []string
			if s.HomeNet.IsValid() {
				args = append(args, "--home-net", s.HomeNet.String())
			}
			out, stderr, code := readAlerts(t, append(args, filepath.Join("pcaps", s.File()))...)
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			var got []scenario.Incident
			for _, e := range endEvents(t, out) {
				got = append(got, e.incident())
				checkAmplification(t, &e)
			}
			want := slices.Clone(s.Incidents)
			sortIncidents(got)
			sortIncidents(want)
			if !slices.Equal(got, want) {
				t.Errorf("incidents:\n%s\nwant:\n%s", incidentLines(got), incidentLines(want))
			}
		})
	}
}

// checkAmplification checks that an incident's amplification is its response bytes over its
// request bytes, and null where there were no requests.
func checkAmplification(t *testing.T, e *endEvent) {
	t.Helper()
	if e.Requests.Bytes == 0 {
		if e.Amplification != nil {
			t.Errorf("%s: amplification %v without requests, want null", e.Kind, *e.Amplification)
		}
		return
	}
	want := float64(e.Responses.Bytes) / float64(e.Requests.Bytes)
	if e.Amplification == nil || math.Abs(*e.Amplification-want) > 0.01 {
		t.Errorf("%s: amplification %v, want %.2f", e.Kind, e.Amplification, want)
	}
}

func incidentLines(incs []scenario.Incident) string {
	var b strings.Builder
	for _, inc := range incs {
		fmt.Fprintf(&b, "\t%+v\n", inc)
	}
	return b.String()
}
