package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBadInput checks that bad usage and unreadable input give one line naming the culprit
// and exit status 2, never a panic trace.
func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "notes.txt")
	os.WriteFile(text, []byte("these are not packets\n"), 0o644)
	empty := filepath.Join(dir, "empty.pcap")
	os.WriteFile(empty, nil, 0o644)
	cases := []struct {
		name string
		args []string
		want string // in the one line on stderr
	}{
		{"no command", nil, "usage"},
		{"unknown command", []string{"frobnicate"}, `unknown command "frobnicate"`},
		{"no file", []string{"read"}, "no capture file"},
		{"missing file", []string{"read", filepath.Join(dir, "nope.pcap")}, "nope.pcap"},
		{"not a capture", []string{"read", text}, "notes.txt"},
		{"empty file", []string{"read", empty}, "empty.pcap"},
		{"unknown flag", []string{"read", "--frobnicate", "x.pcap"}, "frobnicate"},
		{"bad home net", []string{"read", "--home-net", "10.0.0.0/33", "x.pcap"}, "home-net"},
		{"missing config", []string{"read", "--config", filepath.Join(dir, "nope.yaml"), "x.pcap"}, "nope.yaml"},
		{"unwritable out", []string{"read", "--sink", "file", "--out", filepath.Join(dir, "no", "such", "dir.jsonl"), "../../pcaps/reflection.pcap"}, "dir.jsonl"},
		{"missing TLS CA", []string{"read", "--sink", "kafka", "--kafka-brokers", "127.0.0.1:9", "--kafka-tls-ca", filepath.Join(dir, "ca.pem"), "../../pcaps/reflection.pcap"}, "ca.pem"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(context.Background(), tc.args, nil, &out, &errb)
			if code != exitUsage {
				t.Errorf("exit %d, want %d; stderr: %s", code, exitUsage, errb.String())
			}
			msg := errb.String()
			if !strings.Contains(msg, tc.want) {
				t.Errorf("stderr %q does not name %q", msg, tc.want)
			}
			if strings.Contains(msg, "goroutine ") || strings.Contains(msg, "panic") {
				t.Errorf("stderr has a panic trace: %s", msg)
			}
			if tc.args != nil && strings.Count(strings.TrimSpace(msg), "\n") > 0 {
				t.Errorf("stderr is not one line: %q", msg)
			}
			if out.Len() != 0 {
				t.Errorf("stdout not empty: %q", out.String())
			}
		})
	}
}

// TestReadInterrupted: Ctrl-C during a read (a cancelled context) ends it with the end
// events of what was read, a summary that says so, and exit status 0.
func TestReadInterrupted(t *testing.T) {
	repoRoot(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out, errb bytes.Buffer
	code := run(ctx, []string{"read", "--sensor", "test", "pcaps/reflection.pcap"}, nil, &out, &errb)
	if code != exitOK {
		t.Fatalf("exit %d, want 0; stderr: %s", code, errb.String())
	}
	if !strings.Contains(errb.String(), "interrupted") || !strings.Contains(errb.String(), "ntpwatch summary") {
		t.Errorf("stderr does not say the run was interrupted, or has no summary:\n%s", errb.String())
	}
}
