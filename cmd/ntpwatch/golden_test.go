package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden alert files in pcaps/")

// goldenCases are the sample captures of pcaps/ with the flags their expected alerts were
// made with (pcaps/README.md says what each holds).
var goldenCases = []struct {
	name string
	args []string
}{
	{"reflection", nil},
}

// repoRoot is where the tests run from, so that alerts name their source as a user would
// see it: pcaps/NAME.pcap.
func repoRoot(t *testing.T) {
	t.Helper()
	t.Chdir("../..")
}

// readAlerts runs `ntpwatch read` in process and returns stdout, stderr and the exit status.
func readAlerts(t *testing.T, args ...string) (stdout, stderr []byte, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), append([]string{"read", "--sensor", "test"}, args...), nil, &out, &errb)
	return out.Bytes(), errb.Bytes(), code
}

// TestGoldenAlerts compares the alerts of every sample capture with its golden file, byte
// for byte: the same capture gives the same alerts on every run.
func TestGoldenAlerts(t *testing.T) {
	repoRoot(t)
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			pcap := filepath.Join("pcaps", tc.name+".pcap")
			golden := filepath.Join("pcaps", tc.name+".alerts.jsonl")
			out, stderr, code := readAlerts(t, append(tc.args, pcap)...)
			if code != exitOK {
				t.Fatalf("exit %d, stderr:\n%s", code, stderr)
			}
			if *update {
				if err := os.WriteFile(golden, out, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./cmd/ntpwatch -update to create it)", err)
			}
			if !bytes.Equal(out, want) {
				t.Errorf("alerts differ from %s (go test ./cmd/ntpwatch -run TestGoldenAlerts -update rewrites it)\ngot:\n%s\nwant:\n%s", golden, out, want)
			}
			again, _, _ := readAlerts(t, append(tc.args, pcap)...)
			if !bytes.Equal(out, again) {
				t.Errorf("two runs on %s gave different alerts", pcap)
			}
		})
	}
}
