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

// TestBenchAttackSources: every request of the attack capture comes from a new address of
// 2001:db8::/32, and the server answers some.
func TestBenchAttackSources(t *testing.T) {
	doc := netip.MustParsePrefix("2001:db8::/32")
	seen := map[netip.Addr]bool{}
	replies := 0
	decodeAll(t, writeBench(t, small(&benchAttack, 30000), 1), func(p *decode.Packet) {
		if p.Kind != decode.KindMessage || p.NTP.Mode != 7 {
			t.Fatalf("a frame that is not mode 7: %+v", p)
		}
		if p.NTP.Priv.Response {
			replies++
			return
		}
		if seen[p.Src] || !doc.Contains(p.Src) {
			t.Fatalf("source %v repeated or outside %v", p.Src, doc)
		}
		seen[p.Src] = true
	})
	if len(seen) < 25000 || replies == 0 {
		t.Errorf("%d distinct sources, %d replies", len(seen), replies)
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

// TestBenchTargets: the verdicts follow design.md's budgets.
func TestBenchTargets(t *testing.T) {
	res := []benchResult{
		{tool: "ntpwatch", file: benchMixed.name, wall: time.Second, pps: 1_000_000, rssMiB: 30},
		{tool: "tcpdump", file: benchMixed.name, wall: time.Second, pps: 2_500_000, rssMiB: 6},
		{tool: "ntpwatch", file: benchAttack.name, wall: time.Second, pps: 2_100_000, rssMiB: 300},
	}
	var b strings.Builder
	printTargets(&b, res)
	for _, want := range []string{"FAIL  ntpwatch/tcpdump", "0.40", "PASS  ntpwatch packets/s on attack.pcap", "PASS  ntpwatch peak RSS on mixed.pcap", "FAIL  ntpwatch peak RSS on attack.pcap"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("verdicts lack %q:\n%s", want, b.String())
		}
	}
}
