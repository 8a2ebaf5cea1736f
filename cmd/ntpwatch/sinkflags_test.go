package main

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ntpwatch/ntpwatch/internal/testutil/kafkatest"
)

// TestKafkaRoundTrip runs `ntpwatch read --sink stdout,file,kafka` on the reflection sample
// against a broker (in-process, or NTPWATCH_KAFKA_BROKERS) and checks that the three outputs
// carry the same lines, and that they are the golden alerts.
func TestKafkaRoundTrip(t *testing.T) {
	b := kafkatest.Start(t)
	topic := kafkatest.NewTopic(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "alerts.jsonl")
	repoRoot(t)
	out, stderr, code := readAlerts(t, "--sink", "stdout,file,kafka", "--out", file,
		"--kafka-brokers", strings.Join(b.Addrs, ","), "--kafka-topic", topic,
		"--spool", filepath.Join(dir, "spool"), "pcaps/reflection.pcap")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	golden, err := os.ReadFile("pcaps/reflection.alerts.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	inFile, _ := os.ReadFile(file)
	if !bytes.Equal(out, golden) || !bytes.Equal(inFile, golden) {
		t.Errorf("stdout or file differ from the golden alerts:\nstdout:\n%s\nfile:\n%s", out, inFile)
	}
	checkKafkaHolds(t, b, topic, golden)
}

// checkKafkaHolds checks that topic holds the alert lines of want, once each.
func checkKafkaHolds(t *testing.T, b *kafkatest.Broker, topic string, want []byte) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(string(want), "\n"), "\n")
	var vals []string
	for _, r := range kafkatest.Consume(t, b.Addrs, topic, len(lines)) {
		vals = append(vals, string(r.Value))
	}
	slices.Sort(lines)
	slices.Sort(vals)
	if !slices.Equal(lines, vals) {
		t.Errorf("Kafka's values differ from the golden alerts:\n%s", strings.Join(vals, "\n"))
	}
}

// TestOutputFlagErrors checks the exit statuses of output problems: bad flags are usage
// (2), all reported at once; a broker that does not answer is a runtime failure (1) in one line.
func TestOutputFlagErrors(t *testing.T) {
	repoRoot(t)
	_, stderr, code := readAlerts(t, "--sink", "stdout,syslog", "--format", "xml", "--sink", "kafka,file",
		"--kafka-acks", "2", "pcaps/reflection.pcap")
	if code != exitUsage {
		t.Errorf("bad flags: exit %d, want %d", code, exitUsage)
	}
	for _, flag := range []string{"--format", "--out", "--kafka-brokers", "--kafka-acks"} {
		if !bytes.Contains(stderr, []byte(flag+": ")) {
			t.Errorf("bad flags: stderr does not name %s:\n%s", flag, stderr)
		}
	}
	if bytes.Contains(stderr, []byte("syslog")) {
		t.Errorf("a second --sink must replace the first, not add to it:\n%s", stderr)
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	_, stderr, code = readAlerts(t, "--sink", "kafka", "--kafka-brokers", addr, "pcaps/reflection.pcap")
	if code != exitFailure || !bytes.Contains(stderr, []byte("--kafka-brokers "+addr)) ||
		bytes.Count(bytes.TrimSpace(stderr), []byte("\n")) > 0 {
		t.Errorf("unreachable broker: exit %d, stderr %q; want 1 and one line naming --kafka-brokers", code, stderr)
	}
}
