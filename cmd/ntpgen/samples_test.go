package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ntpwatch/ntpwatch/internal/scenario"
)

// TestSamplesUpToDate checks that every capture in pcaps/ is exactly what `ntpgen pcaps`
// writes today, so the goldens describe the code's own scenarios (`make pcaps` rewrites them).
func TestSamplesUpToDate(t *testing.T) {
	dir := t.TempDir()
	var stdout, stderr strings.Builder
	if code := run([]string{"pcaps", "-dir", dir}, &stdout, &stderr); code != 0 {
		t.Fatalf("ntpgen pcaps: exit %d: %s", code, stderr.String())
	}
	for _, s := range scenario.All() {
		got, err := os.ReadFile(filepath.Join(dir, s.Name+".pcap"))
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(filepath.Join("..", "..", "pcaps", s.Name+".pcap"))
		if err != nil {
			t.Fatalf("%v: run make pcaps", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("pcaps/%s.pcap differs from what ntpgen writes now: run make pcaps and review the goldens", s.Name)
		}
	}
}
