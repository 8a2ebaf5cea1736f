package main

import (
	"bytes"
	"context"
	"encoding/json"
	"html"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
	"github.com/ntpwatch/ntpwatch/decode"
	"github.com/ntpwatch/ntpwatch/internal/buildinfo"
	"github.com/ntpwatch/ntpwatch/internal/testutil"
	"github.com/ntpwatch/ntpwatch/sinks/report"
)

// The habits users bring from tcpdump, tshark and Zeek (README, "Habits"): - for stdout, a
// capture filter, -r, -c, a time window, -V, -q, help on an unknown topic.

// runPiped runs ntpwatch in process with stdout on a pipe, as in `ntpwatch ... | jq`, and
// returns what came through the pipe, stderr and the exit status.
func runPiped(t *testing.T, ctx context.Context, args ...string) (stdout []byte, stderr string, code int) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan []byte)
	go func() {
		b, _ := io.ReadAll(r)
		r.Close()
		got <- b
	}()
	var errb bytes.Buffer
	code = run(ctx, args, nil, w, &errb)
	w.Close()
	return <-got, errb.String(), code
}

// jsonLines splits stdout into lines, failing on any that is not one whole JSON object.
func jsonLines(t *testing.T, out []byte) []map[string]any {
	t.Helper()
	var recs []map[string]any
	for i, line := range bytes.Split(bytes.TrimSuffix(out, []byte("\n")), []byte("\n")) {
		var rec map[string]any
		if err := json.Unmarshal(line, &rec); err != nil {
			t.Fatalf("stdout line %d is not a whole JSON object: %v: %.300s", i+1, err, line)
		}
		recs = append(recs, rec)
	}
	return recs
}

// TestHelpGolden compares the help texts with testdata/help (-update rewrites them): the
// usage a tcpdump user reads first.
func TestHelpGolden(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
	}{{"ntpwatch", []string{"help"}}, {"read", []string{"help", "read"}}, {"live", []string{"help", "live"}}, {"flow", []string{"help", "flow"}}, {"aggregate", []string{"help", "aggregate"}}} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			if code := run(context.Background(), tc.args, nil, &out, &errb); code != exitOK || errb.Len() > 0 {
				t.Fatalf("exit %d, stderr %q", code, errb.String())
			}
			// The defaults of --sensor and --spool depend on the machine and the user.
			host, _ := os.Hostname()
			text := strings.ReplaceAll(out.String(), `(default "`+host+`")`, `(default "HOSTNAME")`)
			if cache, err := os.UserCacheDir(); err == nil {
				text = strings.ReplaceAll(text, `(default "`+cache+"/", `(default "CACHE/`)
			}
			golden := filepath.Join("testdata", "help", tc.name+".txt")
			if *update {
				os.MkdirAll(filepath.Dir(golden), 0o755)
				if err := os.WriteFile(golden, []byte(text), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (go test ./cmd/ntpwatch -run TestHelpGolden -update writes it)", err)
			}
			if text != string(want) {
				t.Errorf("help differs from %s (-update rewrites it):\n%s", golden, text)
			}
		})
	}
}

// TestHelpUnknownTopic: help on a topic that does not exist is a usage error, as a bad
// command is.
func TestHelpUnknownTopic(t *testing.T) {
	for _, topic := range []string{"bogus", "version"} {
		var out, errb bytes.Buffer
		code := run(context.Background(), []string{"help", topic}, nil, &out, &errb)
		if code != exitUsage || out.Len() > 0 || strings.Count(errb.String(), "\n") != 1 || !strings.Contains(errb.String(), topic) {
			t.Errorf("help %s: exit %d, stdout %q, stderr %q; want 2 and one line naming it", topic, code, out.String(), errb.String())
		}
	}
}

// TestVersionFlags: -V and --version are the version command.
func TestVersionFlags(t *testing.T) {
	var want string
	for _, args := range [][]string{{"version"}, {"-V"}, {"--version"}} {
		var out, errb bytes.Buffer
		if code := run(context.Background(), args, nil, &out, &errb); code != exitOK || errb.Len() > 0 {
			t.Fatalf("%v: exit %d, stderr %q", args, code, errb.String())
		}
		if !strings.HasPrefix(out.String(), "ntpwatch ") || want != "" && out.String() != want {
			t.Errorf("%v: %q, want %q", args, out.String(), want)
		}
		want = out.String()
	}
}

// TestNTPLogOnStdout is the case of the issue: --ntp-log - with the alerts on stdout through
// a pipe. Every line must be whole and none lost: the 6 alerts and one line per NTP message
// (3,266), no file named - created.
func TestNTPLogOnStdout(t *testing.T) {
	repoRoot(t)
	for _, name := range []string{"-", "/dev/stdout"} {
		out, stderr, code := runPiped(t, context.Background(), "read", "--sensor", "test", "-q", "--ntp-log", name, "pcaps/reflection.pcap")
		if code != exitOK || stderr != "" {
			t.Fatalf("--ntp-log %s: exit %d, stderr %q", name, code, stderr)
		}
		alerts, logs := 0, 0
		for _, rec := range jsonLines(t, out) {
			if rec["schema"] == "ntpwatch.alert/v1" {
				alerts++
			} else if _, ok := rec["mode"]; ok {
				logs++
			}
		}
		if alerts != 6 || logs != 3266 {
			t.Errorf("--ntp-log %s: %d alerts and %d NTP log lines, want 6 and 3266", name, alerts, logs)
		}
	}
	if _, err := os.Stat("-"); err == nil {
		os.Remove("-")
		t.Error("a file named - was created")
	}
}

// TestDashOutputs checks - for stdout in --out, --summary-json and --report.
func TestDashOutputs(t *testing.T) {
	repoRoot(t)
	golden, err := os.ReadFile("pcaps/reflection.alerts.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	t.Run("out", func(t *testing.T) {
		out, stderr, code := runPiped(t, context.Background(), "read", "--sensor", "test", "--sink", "file", "--out", "-", "pcaps/reflection.pcap")
		if code != exitOK || !bytes.Equal(out, golden) {
			t.Errorf("exit %d, stderr %s; stdout is not the golden alerts:\n%s", code, stderr, out)
		}
	})
	t.Run("summary-json", func(t *testing.T) {
		out, stderr, code := runPiped(t, context.Background(), "read", "--sensor", "test", "-q", "--summary-json", "-", "pcaps/reflection.pcap")
		if code != exitOK || stderr != "" || !bytes.HasPrefix(out, golden) {
			t.Fatalf("exit %d, stderr %q; stdout does not start with the alerts:\n%s", code, stderr, out)
		}
		var s report.Summary
		if err := json.Unmarshal(out[len(golden):], &s); err != nil || s.Schema != report.Schema || s.Inputs.Packets != 3266 {
			t.Errorf("the summary after the alerts: %v, %+v", err, s.Inputs)
		}
	})
	t.Run("report", func(t *testing.T) {
		alerts := filepath.Join(t.TempDir(), "alerts.jsonl")
		out, stderr, code := runPiped(t, context.Background(), "read", "--sensor", "test", "-q", "--sink", "file", "--out", alerts, "--report", "-", "pcaps/reflection.pcap")
		if code != exitOK || stderr != "" || !bytes.HasPrefix(out, []byte("<!DOCTYPE html>")) || !bytes.HasSuffix(out, []byte("</html>\n")) {
			t.Errorf("exit %d, stderr %q; stdout is not the one page:\n%.300s", code, stderr, out)
		}
		wellFormed(t, out)
	})
	t.Run("report shares stdout", func(t *testing.T) {
		out, stderr, code := runPiped(t, context.Background(), "read", "--report", "-", "pcaps/reflection.pcap")
		if code != exitUsage || len(out) > 0 || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "--report -: stdout carries the alerts") {
			t.Errorf("exit %d, stdout %q, stderr %q; want 2 and one line", code, out, stderr)
		}
	})
}

// summaryOf runs read with the summary JSON on stdout and the alerts in a file, and returns
// the summary.
func summaryOf(t *testing.T, args ...string) report.Summary {
	t.Helper()
	alerts := filepath.Join(t.TempDir(), "alerts.jsonl")
	args = append([]string{"read", "--sensor", "test", "-q", "--sink", "file", "--out", alerts, "--summary-json", "-"}, args...)
	out, stderr, code := runPiped(t, context.Background(), args...)
	if code != exitOK || stderr != "" {
		t.Fatalf("%v: exit %d, stderr %q", args, code, stderr)
	}
	var s report.Summary
	if err := json.Unmarshal(out, &s); err != nil {
		t.Fatalf("%v: %v\n%s", args, err, out)
	}
	return s
}

// TestReadFilter: the filter in its three spellings picks the same frames: the 3,030 frames
// to and from the victim 203.0.113.7 of the sample (30 requests, 3,000 replies).
func TestReadFilter(t *testing.T) {
	repoRoot(t)
	for _, args := range [][]string{
		{"--bpf", "host 203.0.113.7", "pcaps/reflection.pcap"},
		{"pcaps/reflection.pcap", "--", "host", "203.0.113.7"},
		{"-r", "pcaps/reflection.pcap", "host", "203.0.113.7"},
	} {
		s := summaryOf(t, args...)
		sel := s.Inputs.Selection
		if s.Inputs.Packets != 3030 || sel == nil || sel.Filter != "host 203.0.113.7" || sel.Skipped != 3266-3030 ||
			s.NTP.ByVector["monlist"].Responses != 3000 {
			t.Errorf("%v: %d packets, selection %+v", args, s.Inputs.Packets, sel)
		}
	}
	// Without the victim's frames there is no attack left.
	if s := summaryOf(t, "-r", "pcaps/reflection.pcap", "not", "host", "203.0.113.7"); s.Incidents.Total != 0 || s.Inputs.Packets != 236 {
		t.Errorf("not host 203.0.113.7: %d incidents in %d packets, want none in 236", s.Incidents.Total, s.Inputs.Packets)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"read", "--bpf", "udp prot 123", "pcaps/reflection.pcap"}, `--bpf "udp prot 123": `},
		{[]string{"read", "--bpf", "udp", "pcaps/reflection.pcap", "--", "udp"}, "both in --bpf and after --"},
		{[]string{"read", "-r", "pcaps/reflection.pcap", "pcaps/scan.pcap"}, `--bpf "pcaps/scan.pcap"`},
	} {
		out, stderr, code := runPiped(t, context.Background(), tc.args...)
		if code != exitUsage || len(out) > 0 || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and one line with %q", tc.args, code, stderr, tc.want)
		}
	}
}

// TestReadCountAndWindow: -c N reads N frames; --start and --end keep the frames of the
// window, as many as the capture holds there.
func TestReadCountAndWindow(t *testing.T) {
	repoRoot(t)
	if s := summaryOf(t, "-c", "100", "pcaps/reflection.pcap"); s.Inputs.Packets != 100 {
		t.Errorf("-c 100: %d packets", s.Inputs.Packets)
	}
	start := time.Date(2026, 3, 14, 9, 0, 40, 0, time.UTC)
	end := start.Add(20 * time.Second)
	want := uint64(0)
	src, err := decode.Open("pcaps/reflection.pcap")
	if err != nil {
		t.Fatal(err)
	}
	var f decode.Frame
	for src.Next(&f) == nil {
		if !f.Time.Before(start) && f.Time.Before(end) {
			want++
		}
	}
	src.Close()
	s := summaryOf(t, "--start", "2026-03-14 09:00:40", "--end", "1773478860", "pcaps/reflection.pcap")
	if s.Inputs.Packets != want || want == 0 || s.Inputs.First.Before(start) || !s.Inputs.Last.Before(end) {
		t.Errorf("window: %d packets from %v to %v, want %d", s.Inputs.Packets, s.Inputs.First, s.Inputs.Last, want)
	}
}

// TestQuiet: -q leaves stderr empty on a clean run; the alerts still come.
func TestQuiet(t *testing.T) {
	repoRoot(t)
	for _, flag := range []string{"-q", "--quiet"} {
		out, stderr, code := runPiped(t, context.Background(), "read", "--sensor", "test", flag, "pcaps/reflection.pcap")
		if code != exitOK || stderr != "" || len(jsonLines(t, out)) != 6 {
			t.Errorf("%s: exit %d, stderr %q, %d bytes of alerts", flag, code, stderr, len(out))
		}
	}
}

// TestInterruptedSummaryJSON: a read that Ctrl-C ended says so in --summary-json.
func TestInterruptedSummaryJSON(t *testing.T) {
	repoRoot(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	out, stderr, code := runPiped(t, ctx, "read", "--sensor", "test", "--sink", "file", "--out", filepath.Join(t.TempDir(), "a.jsonl"),
		"--summary-json", "-", "pcaps/reflection.pcap")
	var s report.Summary
	if err := json.Unmarshal(out, &s); code != exitOK || err != nil || !s.Run.Interrupted {
		t.Errorf("exit %d (%v), run %+v; stderr %s", code, err, s.Run, stderr)
	}
	if s := summaryOf(t, "pcaps/reflection.pcap"); s.Run.Interrupted || s.Run.Sensor != "test" || s.Run.Version == "" {
		t.Errorf("a whole run: %+v", s.Run)
	}
}

// TestSummaryWording reads one NTP message among ARP frames: "1 message", and the ARP
// frames told apart from the problems.
func TestSummaryWording(t *testing.T) {
	var buf bytes.Buffer
	w := pcapgo.NewWriter(&buf)
	w.WriteFileHeader(65535, layers.LinkTypeEthernet)
	at := time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)
	arp := append(testutil.Hex("ffffffffffff 00005e005301 0806"), testutil.Hex("0001 0800 06 04 0001 00005e005301 c0000201 000000000000 c0000202")...)
	ntp := testutil.Ethernet(testutil.UDP(netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2"), 40000, 123,
		append([]byte{0x23}, make([]byte, 47)...)))
	for i, f := range [][]byte{arp, ntp, arp} {
		w.WritePacket(gopacket.CaptureInfo{Timestamp: at.Add(time.Duration(i) * time.Second), CaptureLength: len(f), Length: len(f)}, f)
	}
	path := filepath.Join(t.TempDir(), "arp.pcap")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := runPiped(t, context.Background(), "read", "--sensor", "test", path)
	for _, want := range []string{"  ntp         1 message: client 1\n", "2 frames not IP (ARP, LLDP and the like), not analysed\n",
		"  problems    none\n", "  alerts      0 emitted; stdout: 0 delivered, 0 spooled, 0 lost\n", "3 packets, "} {
		if code != exitOK || !strings.Contains(stderr, want) {
			t.Errorf("exit %d; the summary lacks %q:\n%s", code, want, stderr)
		}
	}
}

// TestSummaryTwoSinks: with two sinks the summary counts the 6 alerts once, then what each
// sink did with them, not "12 delivered".
func TestSummaryTwoSinks(t *testing.T) {
	repoRoot(t)
	_, stderr, code := runPiped(t, context.Background(), "read", "--sensor", "test", "--sink", "stdout,file",
		"--out", filepath.Join(t.TempDir(), "alerts.jsonl"), "pcaps/reflection.pcap")
	want := "  alerts      6 emitted; stdout: 6 delivered, 0 spooled, 0 lost; file: 6 delivered, 0 spooled, 0 lost\n"
	if code != exitOK || !strings.Contains(stderr, want) {
		t.Errorf("exit %d; the summary lacks %q:\n%s", code, want, stderr)
	}
}

// TestReportNamesRemedyAndSensor: the HTML report says what the reflector's operator should
// do, which sensor saw it and which ntpwatch wrote it.
func TestReportNamesRemedyAndSensor(t *testing.T) {
	repoRoot(t)
	out, stderr, code := runPiped(t, context.Background(), "read", "--sensor", "border-7", "-q", "--sink", "file",
		"--out", filepath.Join(t.TempDir(), "alerts.jsonl"), "--report", "-", "pcaps/reflection.pcap")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	page := string(out)
	for _, want := range []string{"What to do", "198.51.100.10</td><td>monlist</td>", "Disable monlist", "sensor <span class=\"mono\">border-7</span>",
		"Written by ntpwatch " + buildinfo.Read().String() + " read on sensor border-7"} {
		if !strings.Contains(page, html.EscapeString(want)) && !strings.Contains(page, want) {
			t.Errorf("the report lacks %q", want)
		}
	}
}
