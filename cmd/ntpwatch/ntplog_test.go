package main

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// TestNTPLog checks that --ntp-log writes one valid JSON line per NTP message of the sample
// (3,266 frames, all NTP), with the fields of docs/ntp-log.md, and that monlist replies list the
// addresses they name.
func TestNTPLog(t *testing.T) {
	repoRoot(t)
	log := filepath.Join(t.TempDir(), "ntp.jsonl")
	if _, stderr, code := readAlerts(t, "--ntp-log", log, "pcaps/reflection.pcap"); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	f, err := os.Open(log)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	lines, modes, monlistAddrs := 0, map[float64]int{}, 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines++
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("line %d is not JSON: %v: %s", lines, err, sc.Text())
		}
		for _, k := range []string{"ts", "src", "sport", "dst", "dport", "wire_len", "payload_len", "version", "mode", "standard", "control", "private"} {
			if _, ok := rec[k]; !ok {
				t.Fatalf("line %d has no %q: %s", lines, k, sc.Text())
			}
		}
		modes[rec["mode"].(float64)]++
		if p, ok := rec["private"].(map[string]any); ok && p["response"] == true {
			if l, ok := p["monlist"].([]any); ok {
				monlistAddrs += len(l)
			}
		}
	}
	if lines != 3266 {
		t.Errorf("%d lines, want 3266 (one per NTP message)", lines)
	}
	// 30 requests and 30 replies of 100 packets; the rest is client/server traffic.
	if modes[7] != 30+3000 {
		t.Errorf("%d mode 7 lines, want 3030", modes[7])
	}
	if monlistAddrs != 30*600 {
		t.Errorf("monlist replies name %d addresses, want 30 x 600", monlistAddrs)
	}
}
