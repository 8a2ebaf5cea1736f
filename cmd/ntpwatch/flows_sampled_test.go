package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/ntpwatch/ntpwatch/internal/scenario"
)

var updateFlows = flag.Bool("update-flows", false, "rewrite testdata/flows with pmacct (needs pmacctd)")

// sampledCase is a sample capture converted to sFlow by pmacct at 1 in rate; dense makes it
// that many times as dense first (scenario.Dense), so that every incident leaves enough
// samples (sampling.min_samples, 4) clear of any threshold.
type sampledCase struct {
	name        string
	rate, dense int
}

// sampledCases: at 1:10 the samples as they are, but the scan, whose three amplifiers answer
// its one probe with 7 packets each (0.7 samples): probed 13 times each, an amplifier sends
// 104 packets, 10 samples. At 1:100 everything ten times as dense, and the scan 125 times
// (1,000 packets an amplifier: 10 samples, and 367 kB of replies, far from reflection's
// 1,000,000 bytes); victim_flood's 12,000 replies are 120 samples as they are.
var sampledCases = []sampledCase{
	{"reflection", 10, 1}, {"reflection", 100, 10},
	{"reflection6", 10, 1}, {"reflection6", 100, 10},
	{"victim_flood", 10, 1}, {"victim_flood", 100, 1},
	{"scan", 10, 13}, {"scan", 100, 125},
	{"benign", 10, 1}, {"benign", 100, 10},
	{"spoofed_egress", 10, 1}, {"spoofed_egress", 100, 10},
	{"request_flood", 10, 1}, {"request_flood", 100, 10},
}

// TestSampledScenarios: the sample captures converted to sFlow by pmacct at 1:10 and 1:100
// (sampledCases) give the incidents of the full captures: the same kinds, subjects and
// victims, with packets, payload bytes and wire bytes estimated within the error_pct each
// alert states. What pmacct exported is kept in testdata/flows (go test -run
// TestSampledScenarios -update-flows rewrites it), as pmacct's sampling is not the same on
// every run; the full captures are made again from internal/scenario.
func TestSampledScenarios(t *testing.T) {
	repoRoot(t)
	for _, s := range scenario.All() {
		if !s.Compressed {
			if !slicesContainsName(sampledCases, s.Name) {
				t.Errorf("sample %s has no sampled case", s.Name)
			}
		}
	}
	for _, c := range sampledCases {
		t.Run(fmt.Sprintf("%s/1:%d", c.name, c.rate), func(t *testing.T) {
			t.Parallel()
			s, err := scenario.Find(c.name)
			if err != nil {
				t.Fatal(err)
			}
			frames := scenario.Dense(s.Frames(1), c.dense)
			full := filepath.Join(t.TempDir(), c.name+".pcap")
			writeFrames(t, full, s, frames)
			var args []string
			if s.HomeNet.IsValid() {
				args = append(args, "--home-net", s.HomeNet.String())
			}
			out, stderr, code := readAlerts(t, append(args, full)...)
			if code != exitOK {
				t.Fatalf("read: exit %d\n%s", code, stderr)
			}
			want := ends(flowAlerts(t, out))
			fixture := filepath.Join("cmd", "ntpwatch", "testdata", "flows", fmt.Sprintf("%s-%d.pcap.gz", c.name, c.rate))
			if *updateFlows {
				in := full
				if c.name == "reflection6" {
					// pmacct 1.7.7 reads no 802.1ad service tag: it gets the frames with
					// their 802.1Q tag only.
					in = filepath.Join(t.TempDir(), "untagged.pcap")
					writeFrames(t, in, s, withoutServiceTag(frames))
				}
				pmacct(t, in, sflowConf(c.rate), 6343, fixture)
			}
			got := ends(readFlows(t, fixture, args...))
			if fmt.Sprint(keys(got)) != fmt.Sprint(keys(want)) {
				t.Fatalf("incidents from sFlow at 1:%d:\n  %v\nfrom the full capture:\n  %v", c.rate, keys(got), keys(want))
			}
			for k, g := range got {
				w := want[k]
				sm := g.Sampling
				if sm == nil || sm.Rate < uint64(c.rate)*9/10 || sm.Rate > uint64(c.rate)*11/10 || sm.DistinctCounts != "lower_bound" {
					t.Errorf("%s: sampling %+v, want about 1:%d and lower bounds", k, sm, c.rate)
					continue
				}
				pk, pw := g.Requests.Packets+g.Responses.Packets, w.Requests.Packets+w.Responses.Packets
				bk, bw := g.Requests.Bytes+g.Responses.Bytes, w.Requests.Bytes+w.Responses.Bytes
				t.Logf("%s: %d samples, error %.1f%%: packets %d for %d (%+.1f%%), bytes %d for %d (%+.1f%%), wire %+.1f%%",
					k, sm.Samples, sm.ErrorPct, pk, pw, pct(pk, pw), bk, bw, pct(bk, bw), pct(g.WireBytes, w.WireBytes))
				if !within(pk, pw, sm.ErrorPct) || !within(bk, bw, sm.ErrorPct) || !within(g.WireBytes, w.WireBytes, sm.ErrorPct) {
					t.Errorf("%s: estimates beyond the stated %.1f%%: packets %d for %d, bytes %d for %d, wire bytes %d for %d",
						k, sm.ErrorPct, pk, pw, bk, bw, g.WireBytes, w.WireBytes)
				}
				for _, l := range []struct {
					what      string
					got, want int
				}{{"victims", g.Victims.Count, w.Victims.Count}, {"reflectors", g.Reflectors.Count, w.Reflectors.Count},
					{"targets", g.Targets.Count, w.Targets.Count}} {
					if l.got > l.want || l.want > 0 && l.got == 0 {
						t.Errorf("%s: %d %s from samples, %d in full: not a lower bound", k, l.got, l.what, l.want)
					}
				}
			}
		})
	}
}

func slicesContainsName(cs []sampledCase, name string) bool {
	for _, c := range cs {
		if c.name == name {
			return true
		}
	}
	return false
}

// writeFrames writes frames of scenario s as a classic pcap capture, with its snaplen.
func writeFrames(t *testing.T, path string, s *scenario.Scenario, frames []scenario.Frame) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := scenario.Write(f, frames, s.Link(), scenario.PCAP, s.Snaplen); err != nil {
		t.Fatal(err)
	}
}

// withoutServiceTag returns frames with their 802.1ad service tag (0x88a8) taken out.
func withoutServiceTag(frames []scenario.Frame) []scenario.Frame {
	out := make([]scenario.Frame, len(frames))
	for i, f := range frames {
		out[i] = f
		if len(f.Data) >= 16 && f.Data[12] == 0x88 && f.Data[13] == 0xa8 {
			out[i].Data = append(append([]byte(nil), f.Data[:12]...), f.Data[16:]...)
		}
	}
	return out
}

// pct is est's deviation from truth in percent.
func pct(est, truth uint64) float64 {
	if truth == 0 {
		return 0
	}
	return (float64(est) - float64(truth)) / float64(truth) * 100
}
