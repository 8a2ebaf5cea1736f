package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// consumeAll reads n values from topic with franz-go's client; the deadline is a hang guard.
func consumeAll(t *testing.T, brokers []string, topic string, n int) []string {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var vals []string
	for len(vals) < n && ctx.Err() == nil {
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) { vals = append(vals, string(r.Value)) })
	}
	if len(vals) != n {
		t.Fatalf("consumed %d of %d records before the hang guard", len(vals), n)
	}
	return vals
}

// TestKafkaRoundTrip runs `ntpwatch read --sink stdout,file,kafka` on the reflection sample
// against an in-process broker and checks that the three outputs carry the same lines, and
// that they are the golden alerts.
func TestKafkaRoundTrip(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.AllowAutoTopicCreation())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	dir := t.TempDir()
	file := filepath.Join(dir, "alerts.jsonl")
	repoRoot(t)
	out, stderr, code := readAlerts(t, "--sink", "stdout,file,kafka", "--out", file,
		"--kafka-brokers", strings.Join(c.ListenAddrs(), ","), "--kafka-topic", "alerts",
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
	lines := strings.Split(strings.TrimSuffix(string(golden), "\n"), "\n")
	vals := consumeAll(t, c.ListenAddrs(), "alerts", len(lines))
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
