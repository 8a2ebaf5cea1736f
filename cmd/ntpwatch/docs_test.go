package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestSystemdUnit runs systemd-analyze security on the unit of docs/live.md: its exposure must
// stay at 2.0 or below, the figure the document gives.
func TestSystemdUnit(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed")
	}
	doc, err := os.ReadFile("../../docs/live.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)```ini\n# /etc/systemd/system/ntpwatch.service\n(.*?)```").FindSubmatch(doc)
	if m == nil {
		t.Fatal("docs/live.md has no ntpwatch.service block")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "ntpwatch.service"), m[1], 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(analyze, "security", "--offline=true", "--no-pager", "ntpwatch.service")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	level := regexp.MustCompile(`Overall exposure level for ntpwatch.service: ([0-9.]+)`).FindSubmatch(out)
	if level == nil {
		if strings.Contains(string(out), "--offline") || strings.Contains(string(out), "unrecognized option") {
			t.Skipf("this systemd-analyze has no --offline (systemd 250 or later): %s", out)
		}
		t.Fatalf("systemd-analyze security: %v\n%s", err, out)
	}
	exposure, _ := strconv.ParseFloat(string(level[1]), 64)
	t.Logf("exposure %.1f", exposure)
	if exposure > 2.0 {
		t.Errorf("exposure %.1f, want 2.0 or lower:\n%s", exposure, out)
	}
	for _, want := range []string{"RestartSec=", "CapabilityBoundingSet=CAP_NET_RAW", "DynamicUser=yes"} {
		if !strings.Contains(string(m[1]), want) {
			t.Errorf("the unit lacks %s", want)
		}
	}
}
