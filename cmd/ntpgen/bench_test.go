package main

import (
	"bytes"
	"errors"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ntpwatch/ntpwatch/decode"
)

// small returns bc cut to n frames: the same stream, since generators are deterministic.
func small(bc *benchCapture, n int) *benchCapture {
	c := *bc
	c.packets = n
	return &c
}

func writeBench(t *testing.T, bc *benchCapture, seed uint64) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := bc.writeTo(&buf, seed); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// decodeAll decodes every frame of a capture in memory and calls f with each.
func decodeAll(t *testing.T, data []byte, f func(p *decode.Packet)) int {
	t.Helper()
	path := filepath.Join(t.TempDir(), "x.pcap")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	src, err := decode.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	d := decode.NewDecoder(nil)
	var p decode.Packet
	var fr decode.Frame
	var last time.Time
	n := 0
	for {
		err := src.Next(&fr)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if fr.Time.Before(last) {
			t.Fatalf("frame %d at %v is before the one before it (%v)", n+1, fr.Time, last)
		}
		last = fr.Time
		d.Decode(&fr, &p)
		f(&p)
		n++
	}
	return n
}

// TestBenchDeterministic: a seed writes the same bytes twice, another seed others, and a
// shorter capture is the start of a longer one (the tshark slice is the mixed capture's).
func TestBenchDeterministic(t *testing.T) {
	a, b := writeBench(t, small(&benchMixed, 3000), 1), writeBench(t, small(&benchMixed, 3000), 1)
	if !bytes.Equal(a, b) {
		t.Error("the same seed wrote different captures")
	}
	if c := writeBench(t, small(&benchMixed, 3000), 2); bytes.Equal(a, c) {
		t.Error("different seeds wrote the same capture")
	}
	short := writeBench(t, small(&benchMixed, 1000), 1)
	if !bytes.HasPrefix(a, short) {
		t.Error("the 1000-frame capture is not the start of the 3000-frame one")
	}
}

// TestBenchMixedContent checks the mix the README promises: frames in time order, about 70%
// not NTP, and some NTP of every kind on VLANs and IPv6.
func TestBenchMixedContent(t *testing.T) {
	var ntp, vlan, v6, mode7, mode34 int
	n := decodeAll(t, writeBench(t, small(&benchMixed, 20000), 1), func(p *decode.Packet) {
		if p.Kind != decode.KindMessage || p.Proto.Name != "ntp" {
			return // DNS's port is in the table too
		}
		ntp++
		if p.VLAN != 0 {
			vlan++
		}
		if p.Src.Is6() {
			v6++
		}
		switch p.NTP.Mode {
		case 7:
			mode7++
		case 3, 4:
			mode34++
		}
	})
	if n != 20000 {
		t.Fatalf("%d frames, want 20000", n)
	}
	if share := float64(ntp) / float64(n); share < 0.25 || share > 0.35 {
		t.Errorf("NTP is %.0f%% of the frames, want about 30%%", 100*share)
	}
	if vlan == 0 || v6 == 0 || mode7 < ntp/4 || mode34 < ntp/3 {
		t.Errorf("NTP messages: %d on VLANs, %d IPv6, %d mode 7, %d mode 3/4 of %d", vlan, v6, mode7, mode34, ntp)
	}
}

// TestBenchAttackSources: the requests of the 4M capture each come from a new address of
// 2001:db8::/32, those of the 10k capture cycle through 10,000, and the server answers some.
func TestBenchAttackSources(t *testing.T) {
	doc := netip.MustParsePrefix("2001:db8::/32")
	for _, c := range []struct {
		bc   *benchCapture
		want int
	}{{benchAttacks[4], attackRequests}, {benchAttacks[0], 10000}} {
		seen := map[netip.Addr]bool{}
		requests, replies := 0, 0
		decodeAll(t, writeBench(t, small(c.bc, 30000), 1), func(p *decode.Packet) {
			if p.Kind != decode.KindMessage || p.NTP.Mode != 7 {
				t.Fatalf("a frame that is not mode 7: %+v", p)
			}
			if p.NTP.Priv.Response {
				replies++
				return
			}
			if !doc.Contains(p.Src) {
				t.Fatalf("source %v outside %v", p.Src, doc)
			}
			requests++
			seen[p.Src] = true
		})
		if len(seen) != min(c.want, requests) || len(seen) < 10000 || replies == 0 {
			t.Errorf("%s: %d distinct sources of %d requests, %d replies", c.bc.name, len(seen), requests, replies)
		}
	}
}

// TestBenchWalk: the limit loop finds the frames on port 123 that the decoder finds.
func TestBenchWalk(t *testing.T) {
	data := writeBench(t, small(&benchMixed, 20000), 1)
	want := decodeAll(t, data, func(*decode.Packet) {})
	ntp := 0
	decodeAll(t, data, func(p *decode.Packet) {
		if p.Kind == decode.KindMessage && p.Proto.Name == "ntp" {
			ntp++
		}
	})
	frames, got, err := walkRecords(bytes.NewReader(data))
	if err != nil || frames != want || got != ntp {
		t.Errorf("walk: %d frames, %d on port 123, %v; the decoder: %d frames, %d NTP", frames, got, err, want, ntp)
	}
	if _, _, err := walkRecords(bytes.NewReader(data[:len(data)-5])); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("a cut capture: %v", err)
	}
}

// TestBenchCache: a complete capture is reused, a damaged or stale one rewritten.
func TestBenchCache(t *testing.T) {
	bc := small(&benchSlice, 500)
	path := filepath.Join(t.TempDir(), bc.name)
	if bc.cached(path, 1) {
		t.Fatal("cached before it was written")
	}
	if err := bc.write(path, 1); err != nil {
		t.Fatal(err)
	}
	if !bc.cached(path, 1) {
		t.Fatal("not cached after it was written")
	}
	if bc.cached(path, 2) {
		t.Error("cached for another seed")
	}
	data, _ := os.ReadFile(path)
	os.WriteFile(path, data[:len(data)-10], 0o644)
	if bc.cached(path, 1) {
		t.Error("a cut file passed for complete")
	}
	if _, err := os.Stat(path + ".tmp"); !os.IsNotExist(err) {
		t.Error("the temporary file was left behind")
	}
}

// TestBenchTargets: the verdicts follow the goals.
func TestBenchTargets(t *testing.T) {
	res := []benchResult{
		{tool: "ntpwatch", file: benchMixed.name, wall: time.Second, pps: 1_000_000, rssMiB: 30},
		{tool: "tcpdump", file: benchMixed.name, wall: time.Second, pps: 2_500_000, rssMiB: 6},
		{tool: "limit", file: benchMixed.name, wall: time.Second, pps: 1_500_000},
		{tool: "ntpwatch", file: benchAttacks[1].name, wall: time.Second, pps: 3_100_000, rssMiB: 300, packets: 3_100_000},
		{tool: "ntpwatch", file: benchAttacks[4].name, wall: 2400 * time.Millisecond, cpu: 3 * time.Second, pps: 2_000_000, rssMiB: 200, packets: 4_000_000},
		{tool: "before", file: benchAttacks[4].name, wall: 4 * time.Second, cpu: 3 * time.Second},
	}
	var b strings.Builder
	printTargets(&b, res)
	for _, want := range []string{
		"FAIL  ntpwatch/tcpdump", "0.40", "PASS  ntpwatch/limit", "0.67",
		"PASS  ntpwatch packets/s on attack-100k.pcap", "PASS  ntpwatch peak RSS on mixed.pcap", "FAIL  ntpwatch peak RSS on attack-100k.pcap",
		"FAIL  ntpwatch packets/s on attack-4m.pcap", "FAIL  us per packet on attack-4m.pcap", "0.600 (CPU 0.750)",
		"ntpwatch/before on attack-4m.pcap", "wall 1.67, CPU 1.00",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("verdicts lack %q:\n%s", want, b.String())
		}
	}
}

// TestLiveDrops: the live benchmark finds the drop counts in ntpwatch's and tcpdump's last
// lines, and the CPU time of a process's threads (this one's) is counted.
func TestLiveDrops(t *testing.T) {
	nw := "ntpwatch: 1,000,000 frames, 6 alerts in 6.20s; kernel: 1000000 received, 1,200 dropped, 0 dropped by the interface\n"
	td := "1000000 packets captured\n1000000 packets received by filter\n3 packets dropped by kernel\n"
	if got := strings.Join(dropRe.FindAllString(nw, -1), ", "); got != "1,200 dropped, 0 dropped" {
		t.Errorf("ntpwatch: %q", got)
	}
	if got := strings.Join(dropRe.FindAllString(td, -1), ", "); got != "3 packets dropped by kernel" {
		t.Errorf("tcpdump: %q", got)
	}
	if threadsCPU(os.Getpid()) <= 0 {
		t.Error("no CPU time for this process")
	}
}
