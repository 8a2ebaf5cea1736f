package testutil

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// Shared returns the path of rel inside the shared folder that sits beside the repository
// (../shared from its root: real captures, external references), or skips the test with a
// message when it is absent. NTPWATCH_SHARED overrides the folder, for worktrees that sit
// elsewhere.
func Shared(t testing.TB, rel string) string {
	t.Helper()
	dir := os.Getenv("NTPWATCH_SHARED")
	if dir == "" {
		dir = filepath.Join(RepoRoot(), "..", "shared")
	}
	p := filepath.Join(dir, rel)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("%s is absent (the shared folder beside the repository, or NTPWATCH_SHARED): %v", p, err)
	}
	return p
}

// RepoRoot is the repository's root folder.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}
