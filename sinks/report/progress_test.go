package report

import (
	"os"
	"path/filepath"
	"testing"
)

// TestNoBarOnAFile: a stderr redirected to a file gets no bar, only the warnings.
func TestNoBarOnAFile(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if p := StartProgress(f, false, nil, nil); p.bar != nil {
		t.Error("StartProgress drew a bar on a file")
	}
}
