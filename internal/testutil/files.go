package testutil

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"testing"
)

// WriteTemp writes data to a file called name in a temporary folder of t and returns its
// path.
func WriteTemp(t testing.TB, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// Gzip returns data gzip-compressed.
func Gzip(data []byte) []byte {
	var buf bytes.Buffer
	z := gzip.NewWriter(&buf)
	z.Write(data)
	z.Close()
	return buf.Bytes()
}

// Stdin makes the file at path the process's standard input until the test ends.
func Stdin(t testing.TB, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	saved := os.Stdin
	os.Stdin = f
	t.Cleanup(func() {
		os.Stdin = saved
		f.Close()
	})
}
