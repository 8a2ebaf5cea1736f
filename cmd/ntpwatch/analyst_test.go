package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
	"github.com/ntpwatch/ntpwatch/decode"
	"github.com/ntpwatch/ntpwatch/sinks/report"
)

// stopClock makes the summary's elapsed time one second, whatever the machine's speed, so
// that the text summary can be compared with a golden file.
func stopClock(t *testing.T) {
	t.Helper()
	saved := clock
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	calls := 0
	clock = func() time.Time {
		calls++
		if calls == 1 {
			return start
		}
		return start.Add(time.Second)
	}
	t.Cleanup(func() { clock = saved })
}

// TestSummaryGolden compares the summary printed on stderr for sample captures with
// testdata/summary/NAME.txt (-update rewrites them).
func TestSummaryGolden(t *testing.T) {
	repoRoot(t)
	cases := []struct {
		name string
		args []string
	}{
		{"reflection", []string{"pcaps/reflection.pcap"}},
		{"scan", []string{"--home-net", "198.18.0.0/15", "pcaps/scan.pcap"}},
		{"benign", []string{"pcaps/benign.pcap"}},
		{"selected", []string{"-c", "1000", "--start", "2026-03-14 09:00:30", "-r", "pcaps/reflection.pcap", "host", "203.0.113.7"}},
		// One victim hit through NTP, DNS, CharGEN and memcached at once: one attack.
		{"multi_vector", []string{"--home-net", "198.51.100.0/24", "pcaps/multi_vector.pcap.gz"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			stopClock(t)
			_, stderr, code := readAlerts(t, tc.args...)
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			golden := filepath.Join("cmd", "ntpwatch", "testdata", "summary", tc.name+".txt")
			if *update {
				os.MkdirAll(filepath.Dir(golden), 0o755)
				if err := os.WriteFile(golden, stderr, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (go test ./cmd/ntpwatch -run TestSummaryGolden -update writes it)", err)
			}
			if !bytes.Equal(stderr, want) {
				t.Errorf("summary differs from %s\ngot:\n%s\nwant:\n%s", golden, stderr, want)
			}
		})
	}
}

// readSummaryJSON runs read with args and --summary-json, and returns the summary, strictly
// decoded (every field of the file is one of Summary's), its bytes and the alerts.
func readSummaryJSON(t *testing.T, args ...string) (s report.Summary, data, alerts []byte) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "summary.json")
	alerts, stderr, code := readAlerts(t, append([]string{"--summary-json", path}, args...)...)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		t.Fatalf("summary JSON does not decode: %v\n%s", err, data)
	}
	return s, data, alerts
}

// TestSummaryJSON checks the fields of --summary-json against the facts of the reflection
// sample (pcaps/README.md).
func TestSummaryJSON(t *testing.T) {
	repoRoot(t)
	s, data, _ := readSummaryJSON(t, "pcaps/reflection.pcap")
	checks := []struct {
		what      string
		got, want any
	}{
		{"schema", s.Schema, report.Schema},
		{"files", strings.Join(s.Inputs.Files, ","), "pcaps/reflection.pcap"},
		{"packets", s.Inputs.Packets, uint64(3266)},
		{"link types", s.Inputs.LinkTypes["Ethernet"], uint64(3266)},
		{"first packet", s.Inputs.First.Format(time.RFC3339), "2026-03-14T09:00:00Z"},
		{"monlist requests", s.NTP.ByVector["monlist"].Requests, uint64(30)},
		{"monlist replies", s.NTP.ByVector["monlist"].Responses, uint64(3000)},
		{"private mode", s.NTP.ByMode["private"], uint64(3030)},
		{"every problem listed", len(s.Problems), len(decode.Problems())},
		{"incidents", s.Incidents.Total, uint64(2)},
		{"reflection incidents", s.Incidents.ByKind["reflection"].Incidents, uint64(1)},
		{"listed", len(s.Incidents.List), 2},
		{"top reflector", s.Incidents.TopReflectors[0].Addr.String(), "198.51.100.10"},
		{"its packets", s.Incidents.TopReflectors[0].Packets, uint64(3000)},
		{"its bytes", s.Incidents.TopReflectors[0].Bytes, uint64(1320000)},
		{"its amplification", *s.Incidents.TopReflectors[0].Amplification, 5500.0},
		{"top victim", s.Incidents.TopVictims[0].Addr.String(), "203.0.113.7"},
		{"no scanner", len(s.Incidents.TopScanners), 0},
		{"delivered", s.Alerts.Delivered, uint64(6)},
		{"lost", s.Alerts.Lost, uint64(0)},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
		}
	}
	for _, key := range []string{`"elapsed_seconds"`, `"packets_per_second"`, `"decode_problems"`, `"top_victims"`, `"amplification"`,
		`"duration_seconds"`, `"tables"`, `"protocols"`, `"attacks"`} {
		if !bytes.Contains(data, []byte(key)) {
			t.Errorf("summary JSON lacks %s", key)
		}
	}
}

// TestSummaryAttack checks the summary JSON of the attack through four protocols: one attack
// on its victim, each protocol's incident and replies in it, shares that add up to the
// whole and a timeline whose buckets add up to the wire bytes; and every protocol's
// messages by vector.
func TestSummaryAttack(t *testing.T) {
	repoRoot(t)
	s, _, alerts := readSummaryJSON(t, "--home-net", "198.51.100.0/24", "pcaps/multi_vector.pcap.gz")
	if len(s.Attacks) != 1 || s.Attacks[0].Victim.String() != "198.51.100.200" || len(s.Attacks[0].Protocols) != 4 {
		t.Fatalf("attacks: %+v", s.Attacks)
	}
	a := s.Attacks[0]
	ids := map[string]bool{}
	for _, e := range endEvents(t, alerts) {
		ids[e.Kind+" "+e.Protocol] = true
	}
	var share float64
	var replies uint64
	for _, p := range a.Protocols {
		share += p.Share
		replies += p.Responses.Packets
		if len(p.Incidents) != 1 || p.Reflectors != 12 || !ids["victim_flood "+p.Protocol] {
			t.Errorf("%s: %+v", p.Protocol, p)
		}
		if got := s.Protocols[p.Protocol]; got.Messages == 0 {
			t.Errorf("protocols lacks %s: %+v", p.Protocol, s.Protocols)
		}
	}
	if share < 0.995 || share > 1.005 || replies != a.Responses.Packets || a.Responses.Packets != 2400+324+2208+864 {
		t.Errorf("shares add up to %g, replies %d of %d", share, replies, a.Responses.Packets)
	}
	var wire uint64
	for _, pt := range a.Timeline {
		for _, n := range pt.WireBytes {
			wire += n
		}
	}
	if wire != a.WireBytes || a.PeakBPS <= 0 || len(a.Timeline) < 10 {
		t.Errorf("timeline: %d buckets, %d wire bytes of %d, peak %g", len(a.Timeline), wire, a.WireBytes, a.PeakBPS)
	}
	if got := s.Protocols["dns"].ByVector["dns/any"].Responses; got != 324 {
		t.Errorf("dns/any replies %d, want 324", got)
	}
}

// TestReport checks that --report writes one well-formed, self-contained HTML file with an
// inline SVG timeline per incident, and one per attack through several protocols.
func TestReport(t *testing.T) {
	repoRoot(t)
	for _, pcap := range []string{"pcaps/reflection.pcap", "pcaps/scan.pcap", "pcaps/benign.pcap", "pcaps/spoofed_egress.pcap",
		"pcaps/request_flood.pcap", "pcaps/multi_vector.pcap.gz", "pcaps/dns.pcap.gz"} {
		t.Run(filepath.Base(pcap), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "report.html")
			args := []string{"--report", path, pcap}
			if strings.HasSuffix(pcap, ".gz") {
				args = append(args, "--home-net", "198.51.100.0/24") // the samples of the other protocols'
			}
			alerts, stderr, code := readAlerts(t, args...)
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			// The incidents are the distinct alert ids.
			ids := map[string]bool{}
			for _, m := range regexp.MustCompile(`"id":"[^"]*"`).FindAll(alerts, -1) {
				ids[string(m)] = true
			}
			incidents := len(ids)
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			counts := wellFormed(t, data)
			attacks := 0
			if strings.Contains(pcap, "multi_vector") {
				attacks = 1 // the victim hit through four protocols
				for _, p := range []string{"ntp", "dns", "chargen", "memcached"} {
					if !bytes.Contains(data, []byte(`</i>`+p+` `)) {
						t.Errorf("the attack's legend lacks %s", p)
					}
				}
			}
			if counts["svg"] != incidents+attacks {
				t.Errorf("%d <svg>, want one per incident and attack: %d", counts["svg"], incidents+attacks)
			}
			if counts["path"] < 2*incidents {
				t.Errorf("%d <path> for %d incidents: timelines without curves", counts["path"], incidents)
			}
			for _, tag := range []string{"script", "link", "img", "iframe", "object"} {
				if counts[tag] > 0 {
					t.Errorf("report has <%s>: it must stand alone", tag)
				}
			}
			for _, m := range regexp.MustCompile(`(?:src|href)="[^"]*"|url\(|https?://[^"]*`).FindAll(data, -1) {
				if string(m) != "http://www.w3.org/2000/svg" {
					t.Errorf("report refers to something outside itself: %s", m)
				}
			}
		})
	}
}

// wellFormed parses data strictly as XML (the template writes XHTML-compatible HTML) and
// counts its elements by name.
func wellFormed(t *testing.T, data []byte) map[string]int {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = true
	dec.Entity = map[string]string{}
	counts := map[string]int{}
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return counts
		}
		if err != nil {
			t.Fatalf("report is not well-formed: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			counts[se.Name.Local]++
		}
	}
}

// TestRotatedSetOutOfOrder cuts the reflection sample into three rotated files, one of them
// gzip-compressed, and reads them out of order: the alerts must be the sample's golden ones,
// but for the source they name.
func TestRotatedSetOutOfOrder(t *testing.T) {
	repoRoot(t)
	dir := t.TempDir()
	src, err := decode.Open("pcaps/reflection.pcap")
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	type frame struct {
		ci   gopacket.CaptureInfo
		data []byte
	}
	var frames []frame
	var link layers.LinkType
	var f decode.Frame
	for {
		err := src.Next(&f)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		ci := gopacket.CaptureInfo{Timestamp: f.Time, CaptureLength: len(f.Data), Length: f.WireLen}
		frames, link = append(frames, frame{ci, bytes.Clone(f.Data)}), layers.LinkType(f.Link)
	}
	names := []string{"dump-1.pcap", "dump-2.pcap.gz", "dump-3.pcap"}
	cuts := []int{0, len(frames) / 3, 2 * len(frames) / 3, len(frames)}
	for i, name := range names {
		var buf bytes.Buffer
		w := pcapgo.NewWriter(&buf)
		w.WriteFileHeader(65535, link)
		for _, fr := range frames[cuts[i]:cuts[i+1]] {
			if err := w.WritePacket(fr.ci, fr.data); err != nil {
				t.Fatal(err)
			}
		}
		out := buf.Bytes()
		if strings.HasSuffix(name, ".gz") {
			var z bytes.Buffer
			zw := gzip.NewWriter(&z)
			zw.Write(out)
			zw.Close()
			out = z.Bytes()
		}
		if err := os.WriteFile(filepath.Join(dir, name), out, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	golden, err := os.ReadFile("pcaps/reflection.alerts.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	source := regexp.MustCompile(`"source":"[^"]*"`)
	want := source.ReplaceAll(golden, []byte(`"source":"X"`))
	var first []byte
	for _, order := range [][]int{{2, 0, 1}, {1, 2, 0}, {0, 1, 2}} {
		var args []string
		for _, i := range order {
			args = append(args, filepath.Join(dir, names[i]))
		}
		out, stderr, code := readAlerts(t, args...)
		if code != exitOK {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		if got := source.ReplaceAll(out, []byte(`"source":"X"`)); !bytes.Equal(got, want) {
			t.Errorf("order %v: alerts differ from the single file's\ngot:\n%s\nwant:\n%s", order, got, want)
		}
		if first == nil {
			first = out
		} else if !bytes.Equal(out, first) {
			t.Errorf("order %v: alerts differ, source included, from another order's", order)
		}
	}
}

// TestHelp checks that help is asked for, not an error: exit 0, with examples and flags.
func TestHelp(t *testing.T) {
	cases := []struct {
		args   []string
		stdout bool // help on stdout (asked with "help") or stderr (with -h)
		want   []string
	}{
		{[]string{"help"}, true, []string{"usage:", "ntpwatch read", "examples:", "exit status"}},
		{[]string{"--help"}, true, []string{"ntpwatch help [COMMAND]"}},
		{[]string{"help", "read"}, true, []string{"usage: ntpwatch read", "examples:", "-report", "-summary-json", "-quiet"}},
		{[]string{"read", "-h"}, false, []string{"usage: ntpwatch read", "dump-*.pcap", "-report", "-home-net"}},
		{[]string{"read", "--help"}, false, []string{"examples:"}},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(context.Background(), tc.args, nil, &out, &errb)
			if code != exitOK {
				t.Errorf("exit %d, want 0", code)
			}
			text := errb.String()
			if tc.stdout {
				text = out.String()
			}
			for _, w := range tc.want {
				if !strings.Contains(text, w) {
					t.Errorf("help lacks %q:\n%s", w, text)
				}
			}
		})
	}
}

// TestBadFlags checks that a wrong flag or value is one line saying what is wrong, exit 2.
func TestBadFlags(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"read", "--frobnicate", "x.pcap"}, "unknown flag -frobnicate; 'ntpwatch read -h' lists the flags"},
		{[]string{"read", "x.pcap", "--report"}, "flag -report needs a value"},
		{[]string{"read", "--summary-json"}, "flag -summary-json needs a value"},
		{[]string{"read", "--quiet=maybe", "x.pcap"}, `invalid boolean value "maybe" for -quiet`},
		{[]string{"read", "--home-net", "192.0.2.0/24,banana", "x.pcap"}, `"banana" is not a CIDR prefix`},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(context.Background(), tc.args, nil, &out, &errb)
			if code != exitUsage {
				t.Errorf("exit %d, want %d", code, exitUsage)
			}
			msg := errb.String()
			if strings.Count(msg, "\n") != 1 || !strings.Contains(msg, tc.want) {
				t.Errorf("stderr %q, want one line with %q", msg, tc.want)
			}
		})
	}
}

// TestNoProgressWithoutTerminal checks that nothing of the progress bar reaches a stderr
// that is not a terminal: a file, as when stderr is redirected.
func TestNoProgressWithoutTerminal(t *testing.T) {
	repoRoot(t)
	errf, err := os.Create(filepath.Join(t.TempDir(), "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	defer errf.Close()
	var out bytes.Buffer
	code := run(context.Background(), []string{"read", "--sensor", "test", "pcaps/reflection.pcap"}, nil, &out, errf)
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	data, _ := os.ReadFile(errf.Name())
	if bytes.ContainsAny(data, "\r\x1b") || bytes.Contains(data, []byte("pkts/s")) {
		t.Errorf("stderr has progress bar output:\n%q", data)
	}
	if !bytes.HasPrefix(data, []byte("ntpwatch summary\n")) {
		t.Errorf("stderr does not start with the summary:\n%s", data)
	}
}

// TestReportSampled checks that the report of sampled input says so: the exporters with their
// sampling rates and losses, and each incident's rate and error beside its estimates, so that
// an analyst never reads a figure scaled from 1 in 10 samples as a count.
func TestReportSampled(t *testing.T) {
	repoRoot(t)
	path := filepath.Join(t.TempDir(), "report.html")
	fixture := filepath.Join("cmd", "ntpwatch", "testdata", "flows", "reflection-10.pcap.gz")
	alerts, stderr, code := readAlerts(t, "-q", "--flows", "--report", path, fixture)
	if code != exitOK || len(alerts) == 0 {
		t.Fatalf("exit %d, %d bytes of alerts: %s", code, len(alerts), stderr)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	wellFormed(t, data)
	page := string(data)
	for _, want := range []string{"<h2>Sampled input</h2>", "packet and byte figures below are estimates",
		`<td>sflow</td>`, `<td class="n">1:10</td></tr>`, `<th class="n">sampling</th>`} {
		if !strings.Contains(page, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if rows := regexp.MustCompile(`<td class="n">1:10, ±[0-9.]+%</td>`).FindAllString(page, -1); len(rows) == 0 {
		t.Error("no incident row states its sampling rate and error")
	}

	// A capture of every packet has none of it.
	path = filepath.Join(t.TempDir(), "full.html")
	if _, stderr, code := readAlerts(t, "-q", "--report", path, "pcaps/reflection.pcap"); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if data, err := os.ReadFile(path); err != nil || bytes.Contains(data, []byte("Sampled input")) || bytes.Contains(data, []byte(">sampling<")) {
		t.Errorf("the report of a full capture speaks of sampling (err %v)", err)
	}
}
