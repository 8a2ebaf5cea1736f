package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// everydayGolden lists the alerts that the real captures of build/external raise: low
// ones alone, each named by capture, kind, protocol, vector and subject.
const everydayGolden = "cmd/ntpwatch/testdata/everyday.txt"

// TestEverydayCapturesQuiet reads every real capture of Debian's ndpi and tcpdump test suites
// (make external-pcaps) as a user would, without a home net: everyday traffic of DNS,
// NetBIOS, SSDP, mDNS, RIP, TFTP, CoAP, Ubiquiti and WS-Discovery, among much else, and
// captures made to crash dissectors. None may raise an alert above low, nor end in a panic;
// the low alerts are those of testdata/everyday.txt (-update rewrites it), so that the
// docs can say which they are.
func TestEverydayCapturesQuiet(t *testing.T) {
	repoRoot(t)
	dir := os.Getenv("NTPWATCH_EXTERNAL_PCAPS")
	if dir == "" {
		dir = filepath.Join("build", "external")
	}
	var files []string
	for _, sub := range []string{"ndpi", "tcpdump"} {
		for _, pattern := range []string{"*.pcap", "*.pcapng", "*.cap"} {
			m, _ := filepath.Glob(filepath.Join(dir, sub, pattern))
			files = append(files, m...)
		}
	}
	if len(files) == 0 {
		t.Skipf("no real captures in %s: run make external-pcaps", dir)
	}
	slices.Sort(files)
	var got []string
	for _, f := range files {
		name, _ := filepath.Rel(dir, f)
		out, _, _ := readAlerts(t, "-q", f) // a capture tcpdump's tests cut on purpose fails with exit 1 or 2
		for _, line := range bytes.Split(bytes.TrimSpace(out), []byte("\n")) {
			if len(line) == 0 {
				continue
			}
			var a struct{ Kind, State, Severity, Protocol, Vector, Reflector, Victim, Scanner string }
			if err := json.Unmarshal(line, &a); err != nil {
				t.Fatalf("%s: %v: %s", name, err, line)
			}
			if a.Severity != "low" {
				t.Errorf("%s: %s alert of severity %s (%s %s)", name, a.Kind, a.Severity, a.Protocol, a.Vector)
			}
			if a.State == "start" {
				got = append(got, fmt.Sprintf("%s: %s %s %s %s", filepath.ToSlash(name), a.Kind, a.Protocol, a.Vector,
					strings.TrimSpace(a.Reflector+" "+a.Victim+" "+a.Scanner)))
			}
		}
	}
	text := strings.Join(got, "\n") + "\n"
	if *update {
		if err := os.WriteFile(everydayGolden, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(everydayGolden)
	if err != nil {
		t.Fatalf("%v (go test ./cmd/ntpwatch -run TestEverydayCapturesQuiet -update writes it)", err)
	}
	if text != string(want) {
		t.Errorf("the low alerts of the real captures differ from %s:\n%s", everydayGolden, text)
	}
	t.Logf("%d captures, %d low alerts", len(files), len(got))
}
