package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/gopacket"

	"github.com/ntpwatch/ntpwatch/decode"
	"github.com/ntpwatch/ntpwatch/internal/testutil/kafkatest"
)

// The tests of docs/reliability.md: bad input keeps what came before it, an auxiliary output
// that fails never stops detection, a closed stdout is that sink's loss only, a signal ends a
// read of a quiet pipe, and a rotated set of thousands of files reads with a few open.

// sampleFrame is one frame of a sample capture, with its own copy of the bytes.
type sampleFrame struct {
	ci   gopacket.CaptureInfo
	data []byte
}

// sampleFrames reads every frame of a sample capture, which must be of Ethernet frames as
// the writers of formats_test.go write.
func sampleFrames(t *testing.T, path string) []sampleFrame {
	t.Helper()
	src, err := decode.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var frames []sampleFrame
	var f decode.Frame
	for {
		err := src.Next(&f)
		if err == io.EOF {
			return frames
		}
		if err != nil {
			t.Fatal(err)
		}
		if f.Link != decode.LinkTypeEthernet {
			t.Fatalf("%s: link type %s, want Ethernet", path, f.Link)
		}
		ci := gopacket.CaptureInfo{Timestamp: f.Time, CaptureLength: len(f.Data), Length: f.WireLen}
		frames = append(frames, sampleFrame{ci, bytes.Clone(f.Data)})
	}
}

// writeCapture writes frames as a classic pcap, or a pcapng when the name says so,
// gzip-compressed when it ends in .gz.
func writeCapture(t *testing.T, path string, frames []sampleFrame) {
	t.Helper()
	format := classic(65535, false)
	if strings.Contains(filepath.Base(path), ".pcapng") {
		format = pcapng
	}
	if strings.HasSuffix(path, ".gz") {
		format = gzipped(format)
	}
	var buf bytes.Buffer
	put, finish := format(&buf)
	for _, fr := range frames {
		if err := put(fr.ci, fr.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := finish(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// writeSet cuts frames into n files named name-%04d.ext in dir and returns their paths.
func writeSet(t *testing.T, dir, name, ext string, n int, frames []sampleFrame) []string {
	t.Helper()
	var paths []string
	for i := range n {
		path := filepath.Join(dir, fmt.Sprintf("%s-%04d%s", name, i, ext))
		writeCapture(t, path, frames[i*len(frames)/n:(i+1)*len(frames)/n])
		paths = append(paths, path)
	}
	return paths
}

var sourceField = regexp.MustCompile(`"source":"[^"]*"`)

// sameAlerts compares alerts but for the source they name.
func sameAlerts(got, want []byte) bool {
	return bytes.Equal(sourceField.ReplaceAll(got, []byte(`"source":"X"`)), sourceField.ReplaceAll(want, []byte(`"source":"X"`)))
}

// readSummary reads a --summary-json file.
func readSummary(t *testing.T, path string) (s struct {
	Inputs struct{ Packets uint64 }
	Alerts struct{ Delivered, Lost uint64 }
}) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return s
}

// TestCorruptRecordKeepsWhatCameBefore corrupts a record in the middle of the reflection
// sample: the alerts, the summary, --summary-json and --report cover the records before it
// (the same alerts as the capture cut cleanly there), a warning and the last line name the
// file and the count read, and the exit status is 2.
func TestCorruptRecordKeepsWhatCameBefore(t *testing.T) {
	repoRoot(t)
	data, err := os.ReadFile("pcaps/reflection.pcap")
	if err != nil {
		t.Fatal(err)
	}
	// Find record 2,800 (of 3,266): after the reflection started, before the attack ended.
	const keep = 2800
	off := 24
	for range keep {
		off += 16 + int(binary.LittleEndian.Uint32(data[off+8:]))
	}
	dir := t.TempDir()
	cut := filepath.Join(dir, "cut.pcap")
	os.WriteFile(cut, data[:off], 0o644)
	corrupt := filepath.Join(dir, "corrupt.pcap")
	bad := bytes.Clone(data)
	binary.LittleEndian.PutUint32(bad[off+8:], 0xffffffff) // an impossible captured length
	os.WriteFile(corrupt, bad, 0o644)

	want, stderr, code := readAlerts(t, cut)
	if code != exitOK || !bytes.Contains(want, []byte(`"kind":"reflection"`)) {
		t.Fatalf("the cut capture: exit %d, alerts:\n%s\n%s", code, want, stderr)
	}
	summary, report := filepath.Join(dir, "summary.json"), filepath.Join(dir, "report.html")
	got, stderr, code := readAlerts(t, "--summary-json", summary, "--report", report, corrupt)
	if code != exitUsage {
		t.Errorf("exit %d, want %d", code, exitUsage)
	}
	if !sameAlerts(got, want) {
		t.Errorf("alerts differ from those of the capture cut before the corrupt record:\n%s", diffLines(string(got), string(want)))
	}
	msg := string(stderr)
	warning := "ntpwatch: warning: read " + corrupt + ": after 2800 packets: capture length exceeds snap length"
	last := "ntpwatch read: read " + corrupt + ": after 2800 packets: "
	if !strings.Contains(msg, warning) || !strings.Contains(msg, "ntpwatch summary") || !strings.Contains(msg, last) {
		t.Errorf("stderr lacks the warning, the summary or the last line naming the file:\n%s", msg)
	}
	if s := readSummary(t, summary); s.Inputs.Packets != keep {
		t.Errorf("--summary-json counts %d packets, want %d", s.Inputs.Packets, keep)
	}
	if html, err := os.ReadFile(report); err != nil || !bytes.Contains(html, []byte("reflection")) {
		t.Errorf("--report: %v, or no reflection in it", err)
	}
}

// TestCorruptFileInRotatedSet plays the rotated set: the reflection sample cut into
// ten pcapng files, the third given a 4 KiB zero tail. That file ends with a warning; the
// others are read on, so every frame is analysed and the alerts are the sample's own; the
// exit status is 2.
func TestCorruptFileInRotatedSet(t *testing.T) {
	repoRoot(t)
	frames := sampleFrames(t, "pcaps/reflection.pcap")
	dir := t.TempDir()
	files := writeSet(t, dir, "ring", ".pcapng", 10, frames)
	f, err := os.OpenFile(files[2], os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(make([]byte, 4096))
	f.Close()
	golden, _ := os.ReadFile("pcaps/reflection.alerts.jsonl")
	summary := filepath.Join(dir, "summary.json")
	got, stderr, code := readAlerts(t, append([]string{"--summary-json", summary}, files...)...)
	if code != exitUsage {
		t.Errorf("exit %d, want %d", code, exitUsage)
	}
	if !sameAlerts(got, golden) {
		t.Errorf("alerts differ from the sample's:\n%s", diffLines(string(got), string(golden)))
	}
	if !strings.Contains(string(stderr), "warning: read "+files[2]+": after ") {
		t.Errorf("no warning names %s:\n%s", files[2], stderr)
	}
	if s := readSummary(t, summary); s.Inputs.Packets != uint64(len(frames)) {
		t.Errorf("--summary-json counts %d packets, want all %d", s.Inputs.Packets, len(frames))
	}
}

// TestFailingAuxiliaryOutputs writes --ntp-log, --summary-json and --report to /dev/full:
// each failure is reported once, detection and the alerts are untouched, the summary is on
// stderr, and the exit status is 1.
func TestFailingAuxiliaryOutputs(t *testing.T) {
	repoRoot(t)
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("needs /dev/full")
	}
	golden, _ := os.ReadFile("pcaps/reflection.alerts.jsonl")
	for _, flag := range []string{"--ntp-log", "--summary-json", "--report"} {
		t.Run(flag, func(t *testing.T) {
			got, stderr, code := readAlerts(t, flag, "/dev/full", "pcaps/reflection.pcap")
			if code != exitFailure {
				t.Errorf("exit %d, want %d", code, exitFailure)
			}
			if !bytes.Equal(got, golden) {
				t.Errorf("alerts differ from the golden ones:\n%s", diffLines(string(got), string(golden)))
			}
			msg := string(stderr)
			if n := strings.Count(msg, flag+" /dev/full: "); n < 1 || n > 2 || !strings.Contains(msg, "ntpwatch summary") {
				// --ntp-log: the warning at once, then the last line; the others: the last line.
				t.Errorf("stderr names %s %d times, or lacks the summary:\n%s", flag, n, msg)
			}
		})
	}
	// A file that cannot be created at all is bad usage, found before anything is read.
	out, stderr, code := readAlerts(t, "--summary-json", filepath.Join(t.TempDir(), "no", "s.json"), "pcaps/reflection.pcap")
	if code != exitUsage || len(out) != 0 || !strings.Contains(string(stderr), "--summary-json: ") {
		t.Errorf("uncreatable --summary-json: exit %d, %d bytes of alerts, stderr %s", code, len(out), stderr)
	}
}

// builtNtpwatch builds the command for the tests that need a process of its own.
func builtNtpwatch(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	return buildTool(t, dir, "ntpwatch")
}

// TestBrokenStdoutSparesKafka runs the built command with both sinks and a stdout whose
// reader is gone (what `| head -1` leaves): the process is not killed by SIGPIPE, Kafka gets
// every alert, and the exit status and a line on stderr say that stdout failed.
func TestBrokenStdoutSparesKafka(t *testing.T) {
	bin := builtNtpwatch(t)
	repoRoot(t)
	b := kafkatest.Start(t)
	topic := kafkatest.NewTopic(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	r.Close() // nobody reads: the first write fails with EPIPE
	var stderr bytes.Buffer
	cmd := exec.Command(bin, "read", "--sensor", "test", "--sink", "stdout,kafka", "--kafka-brokers", strings.Join(b.Addrs, ","),
		"--kafka-topic", topic, "--spool", filepath.Join(t.TempDir(), "spool"), "pcaps/reflection.pcap")
	cmd.Stdout, cmd.Stderr = w, &stderr
	err = cmd.Run()
	w.Close()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitFailure {
		t.Fatalf("exit %v, want status %d; stderr:\n%s", err, exitFailure, stderr.String())
	}
	if !regexp.MustCompile(`ntpwatch read: alerts: stdout: 0 delivered, 0 spooled, 6 lost \(.*broken pipe\)`).Match(stderr.Bytes()) {
		t.Errorf("no line says stdout failed:\n%s", stderr.String())
	}
	golden, _ := os.ReadFile("pcaps/reflection.alerts.jsonl")
	checkKafkaHolds(t, b, topic, golden)
}

// TestThousandsOfFiles cuts the reflection sample into a rotated set of 2,000 files, given
// out of order, and reads them with at most 256 open files allowed: the alerts are the
// sample's own, and the peak memory stays within the 256 MiB budget. ntpgen peakrss sets the
// limit and measures the peak: a process this test started itself would be charged with the
// test's own peak.
func TestThousandsOfFiles(t *testing.T) {
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	ntpwatch, ntpgen := buildTool(t, dir, "ntpwatch"), buildTool(t, dir, "ntpgen")
	repoRoot(t)
	frames := sampleFrames(t, "pcaps/reflection.pcap")
	files := writeSet(t, t.TempDir(), "minute", ".pcap", 2000, frames)
	slices.Reverse(files)
	golden, _ := os.ReadFile("pcaps/reflection.alerts.jsonl")

	var stdout, stderr bytes.Buffer
	cmd := exec.Command(ntpgen, append([]string{"peakrss", "-nofile", "256", "--", ntpwatch, "read", "--sensor", "test"}, files...)...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v; stderr:\n%s", err, stderr.String())
	}
	if !sameAlerts(stdout.Bytes(), golden) {
		t.Errorf("alerts differ from the sample's:\n%s", diffLines(stdout.String(), string(golden)))
	}
	m := regexp.MustCompile(`peak RSS (\d+) KiB`).FindSubmatch(stderr.Bytes())
	if m == nil {
		t.Fatalf("no peak RSS reported:\n%s", stderr.String())
	}
	peak, _ := strconv.Atoi(string(m[1]))
	t.Logf("2,000 files with 256 open files allowed: peak RSS %d MiB", peak>>10)
	if peak>>10 > 256 {
		t.Errorf("peak RSS %d MiB, over the 256 MiB budget", peak>>10)
	}
}
