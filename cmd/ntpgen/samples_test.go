package main

import (
	"bytes"
	"compress/gzip"
	"io"
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
		got := readSample(t, filepath.Join(dir, s.File()))
		want := readSample(t, filepath.Join("..", "..", "pcaps", s.File()))
		if !bytes.Equal(got, want) {
			t.Errorf("pcaps/%s differs from what ntpgen writes now: run make pcaps and review the goldens", s.File())
		}
	}
}

// readSample reads a sample, uncompressed: gzip's output may change with the Go version
// while the capture it holds does not.
func readSample(t *testing.T, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("%v: run make pcaps", err)
	}
	defer f.Close()
	r := io.Reader(f)
	if strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(f)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		r = zr
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return b
}
