package sinks

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is a bytes.Buffer safe to write from the sink goroutine while the test waits.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) Bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return bytes.Clone(l.b.Bytes())
}

// closeCtx is a hang guard for Close, not a timed assertion.
func closeCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func sendAll(o *Output) {
	alerts := sampleAlerts()
	for i := range alerts {
		o.Send(&alerts[i])
	}
}

func TestStdoutSink(t *testing.T) {
	for _, format := range []string{"", "json", "eve"} {
		var out lockedBuffer
		o, err := Open(context.Background(), Config{Format: format}, &out)
		if err != nil {
			t.Fatal(err)
		}
		sendAll(o)
		r := o.Close(closeCtx(t))
		n := uint64(len(sampleAlerts()))
		if r.Failed() || r.Delivered != n || r.Lost != 0 || r.Spooled != 0 {
			t.Errorf("format %q: report %+v, want %d delivered", format, r, n)
		}
		want := formatAll(AppendJSON)
		if format == "eve" {
			want = formatAll(newEVEFormatter().append)
		}
		if got := out.Bytes(); !bytes.Equal(got, want) {
			t.Errorf("format %q: stdout differs from the formatter:\n%s", format, got)
		}
	}
}

// blockedWriter never returns from Write until released: a stdout nobody reads.
type blockedWriter struct{ release chan struct{} }

func (b blockedWriter) Write(p []byte) (int, error) { <-b.release; return len(p), nil }

// TestSendNeverBlocks fills a one-slot queue behind a writer that never returns and checks
// that Send returns, and that Close gives up on the writer and counts every alert as lost.
func TestSendNeverBlocks(t *testing.T) {
	w := blockedWriter{make(chan struct{})}
	o, err := Open(context.Background(), Config{QueueSize: 1}, w)
	if err != nil {
		t.Fatal(err)
	}
	alerts := sampleAlerts()
	for range 100 {
		o.Send(&alerts[0])
	}
	st := o.Stats().Sinks[0]
	// The writer holds what it took before blocking (one alert, or a few it gathered), the
	// queue one more: the rest must have been dropped, not waited for.
	if st.Dropped == 0 || st.Dropped+uint64(st.QueueDepth) > 100 || st.QueueSize != 1 {
		t.Errorf("stats %+v: want the alerts beyond the queue dropped", st)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // Close must give up on the blocked writer
	r := o.Close(ctx)
	close(w.release)
	if !r.Failed() || r.Lost != 100 || r.Delivered != 0 {
		t.Errorf("report %+v: want all 100 alerts lost (none was written)", r)
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

func TestWriteErrorIsLost(t *testing.T) {
	o, err := Open(context.Background(), Config{}, failingWriter{})
	if err != nil {
		t.Fatal(err)
	}
	sendAll(o)
	r := o.Close(closeCtx(t))
	if !r.Failed() || r.Lost != uint64(len(sampleAlerts())) || r.Sinks[0].Err == nil ||
		!strings.Contains(r.String(), "broken pipe") {
		t.Errorf("report %+v (%s): want every alert lost with the error", r, r)
	}
}

// TestFileSinkReopen plays a log rotation: rename the file, Reopen, and check that the alerts
// before went to the renamed file and those after to a new file of the old name, none lost.
func TestFileSinkReopen(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "alerts.json")
	if err := os.WriteFile(path, []byte("kept\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	o, err := Open(context.Background(), Config{Sinks: []string{"file"}, File: path}, nil)
	if err != nil {
		t.Fatal(err)
	}
	alerts := sampleAlerts()
	o.Send(&alerts[0])
	// Wait for the first alert to be written before rotating; the deadline is a hang guard.
	for deadline := time.Now().Add(30 * time.Second); o.Stats().Sinks[0].Delivered == 0; {
		if time.Now().After(deadline) {
			t.Fatal("first alert never written")
		}
		time.Sleep(time.Millisecond)
	}
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	if err := o.Reopen(); err != nil {
		t.Fatal(err)
	}
	o.Send(&alerts[1])
	if r := o.Close(closeCtx(t)); r.Failed() || r.Delivered != 2 {
		t.Fatalf("report %+v", r)
	}
	old, _ := os.ReadFile(path + ".1")
	cur, _ := os.ReadFile(path)
	if want := "kept\n" + string(AppendJSON(nil, &alerts[0])) + "\n"; string(old) != want {
		t.Errorf("rotated file:\n%s\nwant\n%s", old, want)
	}
	if want := string(AppendJSON(nil, &alerts[1])) + "\n"; string(cur) != want {
		t.Errorf("new file:\n%s\nwant\n%s", cur, want)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o644&^umask() {
		t.Errorf("new file mode %v (%v), want 0644 less the umask", fi.Mode(), err)
	}
}

func TestFileSinkUnwritable(t *testing.T) {
	_, err := Open(context.Background(), Config{Sinks: []string{"file"}, File: filepath.Join(t.TempDir(), "no", "such")}, nil)
	if err == nil || !strings.HasPrefix(err.Error(), "file: ") || strings.Contains(err.Error(), "\n") {
		t.Errorf("err = %v, want one line naming the key file", err)
	}
}

func TestValidate(t *testing.T) {
	for _, c := range []struct {
		name string
		cfg  Config
		want []string // every flag the error must name; none: valid
	}{
		{"zero value", Config{}, nil},
		{"all sinks", Config{Sinks: []string{"stdout", "file", "kafka"}, Format: "eve", File: "x",
			Kafka: KafkaConfig{Brokers: []string{"127.0.0.1:9092", "[::1]:9093"}, Topic: "a.b-c_d",
				Compression: "zstd", Acks: "one", SASL: SASLConfig{"SCRAM-SHA-512", "u", "p"},
				TLS: TLSConfig{CA: "ca.pem", Cert: "c.pem", Key: "k.pem"}}}, nil},
		{"everything wrong at once", Config{Sinks: []string{"stdout", "stdout", "syslog", "file", "kafka"}, Format: "xml",
			Kafka: KafkaConfig{Brokers: []string{"localhost", "h:0"}, Topic: "bad topic", Compression: "brotli",
				Acks: "2", SASL: SASLConfig{Mechanism: "gssapi"}, TLS: TLSConfig{Key: "k.pem"}}},
			[]string{"sinks", "format", "file", "kafka.brokers", "kafka.topic", "kafka.compression",
				"kafka.acks", "kafka.sasl.mechanism", "kafka.tls.cert"}},
		{"kafka without brokers", Config{Sinks: []string{"kafka"}}, []string{"kafka.brokers"}},
		{"sasl without credentials", Config{Sinks: []string{"kafka"}, Kafka: KafkaConfig{Brokers: []string{"h:1"},
			SASL: SASLConfig{Mechanism: "plain"}}}, []string{"kafka.sasl.user", "kafka.sasl.password"}},
	} {
		err := c.cfg.Validate()
		if len(c.want) == 0 {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s: valid, want errors naming %v", c.name, c.want)
			continue
		}
		lines := strings.Split(err.Error(), "\n")
		for _, key := range c.want {
			found := false
			for _, l := range lines {
				found = found || strings.HasPrefix(l, key+": ")
			}
			if !found {
				t.Errorf("%s: no line names %s:\n%v", c.name, key, err)
			}
		}
	}
}
