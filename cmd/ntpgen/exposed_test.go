package main

import (
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ntpwatch/ntpwatch/decode"
	"github.com/ntpwatch/ntpwatch/decode/proto"
)

// TestExposed writes a small capture of exposed amplifiers and reads it back: per
// amplifier, a monlist request from the victim and two replies carrying data, in time order,
// each amplifier a server of its own.
func TestExposed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "exposed.pcap")
	var stderr strings.Builder
	if code := run([]string{"exposed", "-n", "5", "-o", path}, io.Discard, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	src, err := decode.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	d := decode.NewDecoder(nil)
	servers := map[string]bool{}
	var frames, requests, replies int
	var f decode.Frame
	var p decode.Packet
	for src.Next(&f) == nil {
		frames++
		if d.Decode(&f, &p) != decode.KindMessage {
			t.Fatalf("frame %d is not a message", frames)
		}
		switch p.Dir {
		case proto.DirRequest:
			requests++
			servers[p.Dst.String()] = true
		case proto.DirResponse:
			if p.Data {
				replies++
			}
		}
	}
	if frames != 15 || requests != 5 || replies != 10 || len(servers) != 5 {
		t.Errorf("%d frames, %d requests, %d replies with data, %d servers; want 15, 5, 10, 5", frames, requests, replies, len(servers))
	}
	if code := run([]string{"exposed", "-n", "0"}, io.Discard, &stderr); code != 2 {
		t.Errorf("-n 0: exit %d, want 2", code)
	}
}
