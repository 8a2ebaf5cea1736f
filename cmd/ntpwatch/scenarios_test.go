package main

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
)

// endEvent is the part of an alert the scenario facts are about.
type endEvent struct {
	Kind, State, Severity      string
	Reflector, Victim, Scanner *string
	Requests, Responses        struct{ Packets, Bytes uint64 }
	Amplification              *float64
	Victims, Reflectors        struct{ Count int }
	Targets                    struct {
		Count      int
		Responders []struct {
			Addr      string
			Amplifier bool
		}
	}
}

// endEvents returns the end event of every incident in out, by kind.
func endEvents(t *testing.T, out []byte) map[string][]endEvent {
	t.Helper()
	m := map[string][]endEvent{}
	for _, line := range bytes.Split(bytes.TrimSpace(out), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var e endEvent
		if err := json.Unmarshal(line, &e); err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		if e.State == "end" {
			m[e.Kind] = append(m[e.Kind], e)
		}
	}
	return m
}

func str(p *string) string {
	if p == nil {
		return "null"
	}
	return *p
}

// TestScenarioFacts checks each sample's incidents against what the generator wrote
// (cmd/ntpgen/scenarios*.go), independently of the golden files: who is reflector, victim or
// scanner, and the exact packet and byte counts, list sizes and amplification.
func TestScenarioFacts(t *testing.T) {
	repoRoot(t)
	run := func(t *testing.T, pcap string, args ...string) map[string][]endEvent {
		out, stderr, code := readAlerts(t, append(args, "pcaps/"+pcap)...)
		if code != exitOK {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		return endEvents(t, out)
	}
	one := func(t *testing.T, m map[string][]endEvent, kind string) endEvent {
		t.Helper()
		if len(m[kind]) != 1 {
			t.Fatalf("%d %s incidents, want 1", len(m[kind]), kind)
		}
		return m[kind][0]
	}
	amp := func(t *testing.T, e endEvent, want float64) {
		t.Helper()
		if e.Amplification == nil || math.Abs(*e.Amplification-want) > 0.01 {
			t.Errorf("amplification %v, want %.2f", e.Amplification, want)
		}
	}

	t.Run("reflection", func(t *testing.T) {
		// 30 requests of 8 bytes, each answered by 100 packets of 440 bytes.
		m := run(t, "reflection.pcap")
		r := one(t, m, "reflection")
		if str(r.Reflector) != "198.51.100.10" || str(r.Victim) != "203.0.113.7" {
			t.Errorf("reflector %s victim %s", str(r.Reflector), str(r.Victim))
		}
		if r.Requests.Packets != 30 || r.Requests.Bytes != 240 || r.Responses.Packets != 3000 || r.Responses.Bytes != 1320000 {
			t.Errorf("requests %+v responses %+v", r.Requests, r.Responses)
		}
		amp(t, r, 5500)
		if e := one(t, m, "exposed_amplifier"); str(e.Reflector) != "198.51.100.10" {
			t.Errorf("exposed_amplifier names %s", str(e.Reflector))
		}
	})
	t.Run("reflection6", func(t *testing.T) {
		// The same over IPv6 with 48-byte requests: 44,000 / 48 = 916.67.
		r := one(t, run(t, "reflection6.pcap"), "reflection")
		if str(r.Reflector) != "2001:db8:10::123" || str(r.Victim) != "2001:db8:feed::7" {
			t.Errorf("reflector %s victim %s", str(r.Reflector), str(r.Victim))
		}
		if r.Requests.Packets != 30 || r.Requests.Bytes != 1440 || r.Responses.Packets != 3000 || r.Responses.Bytes != 1320000 {
			t.Errorf("requests %+v responses %+v", r.Requests, r.Responses)
		}
		amp(t, r, 916.67)
	})
	t.Run("victim_flood", func(t *testing.T) {
		// 120 reflectors, 100 packets of 440 bytes each; the victim asked nothing.
		v := one(t, run(t, "victim_flood.pcap", "--home-net", "198.51.100.0/24"), "victim_flood")
		if str(v.Victim) != "198.51.100.77" || v.Reflectors.Count != 120 {
			t.Errorf("victim %s, %d reflectors", str(v.Victim), v.Reflectors.Count)
		}
		if v.Requests.Packets != 0 || v.Responses.Packets != 12000 || v.Responses.Bytes != 5280000 || v.Amplification != nil {
			t.Errorf("requests %+v responses %+v amplification %v", v.Requests, v.Responses, v.Amplification)
		}
	})
	t.Run("scan", func(t *testing.T) {
		// 1,024 probes of 48 bytes; 3 amplifiers answer (7 packets each), 2 patched servers.
		m := run(t, "scan.pcap", "--home-net", "198.18.0.0/22")
		s := one(t, m, "scan")
		if str(s.Scanner) != "203.0.113.66" || s.Targets.Count != 1024 || s.Requests.Packets != 1024 || s.Requests.Bytes != 1024*48 {
			t.Errorf("scanner %s, %d targets, requests %+v", str(s.Scanner), s.Targets.Count, s.Requests)
		}
		amps, patched := 0, 0
		for _, r := range s.Targets.Responders {
			if r.Amplifier {
				amps++
			} else {
				patched++
			}
		}
		if amps != 3 || patched != 2 {
			t.Errorf("%d amplifiers and %d patched responders, want 3 and 2", amps, patched)
		}
		if len(m["exposed_amplifier"]) != 3 {
			t.Errorf("%d exposed_amplifier incidents, want 3 (the patched servers do not amplify)", len(m["exposed_amplifier"]))
		}
	})
	t.Run("spoofed_egress", func(t *testing.T) {
		// 50 outside servers, 10 forged 8-byte requests each.
		s := one(t, run(t, "spoofed_egress.pcap", "--home-net", "192.0.2.0/24"), "spoofed_egress")
		if str(s.Victim) != "203.0.113.50" || s.Requests.Packets != 500 || s.Requests.Bytes != 4000 || s.Reflectors.Count != 50 {
			t.Errorf("victim %s, requests %+v, %d reflectors", str(s.Victim), s.Requests, s.Reflectors.Count)
		}
	})
	t.Run("benign", func(t *testing.T) {
		if m := run(t, "benign.pcap", "--home-net", "198.51.100.0/24"); len(m) != 0 {
			t.Errorf("benign traffic raised %v", m)
		}
	})
}
