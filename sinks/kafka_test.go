package sinks

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/ntpwatch/ntpwatch/detect"
	"github.com/ntpwatch/ntpwatch/internal/testutil/kafkatest"
)

func kafkaConfig(b *kafkatest.Broker, topic string) Config {
	return Config{Sinks: []string{SinkKafka}, Kafka: KafkaConfig{
		Brokers: b.Addrs, Topic: topic, RetryFor: 20 * time.Second, BackoffMax: 500 * time.Millisecond,
	}}
}

// incidentAlerts returns n events of k incidents interleaved, as the detector emits them:
// incident i has subject 198.51.100.i, and its events carry their sequence number in
// WireBytes, so a consumer can check per-key order.
func incidentAlerts(n, k int) []detect.Alert {
	alerts := make([]detect.Alert, n)
	for i := range alerts {
		inc := i % k
		a := sampleAlerts()[1]
		a.ID = fmt.Sprintf("inc-%02d", inc)
		a.Reflector = netip.AddrFrom4([4]byte{198, 51, 100, byte(inc)})
		a.WireBytes = uint64(i / k)
		a.TS = a.TS.Add(time.Duration(i) * time.Second)
		alerts[i] = a
	}
	return alerts
}

// checkExactlyOnceInOrder checks that recs hold every alert once, each under its subject's key
// with its headers and its time as the timestamp, and that the events of one key are in the
// order they were sent and on one partition.
func checkExactlyOnceInOrder(t *testing.T, recs []kafkatest.Record, alerts []detect.Alert) {
	t.Helper()
	want := map[string]int{}
	for i := range alerts {
		want[string(AppendJSON(nil, &alerts[i]))]++
	}
	lastSeq := map[string]int64{}
	part := map[string]int32{}
	for _, r := range recs {
		v := string(r.Value)
		if want[v] == 0 {
			t.Fatalf("record not sent, or sent fewer times: %s", v)
		}
		want[v]--
		var a struct {
			Reflector             string
			WireBytes             int64 `json:"wire_bytes"`
			Kind, State, Severity string
			TS                    time.Time
		}
		if err := json.Unmarshal(r.Value, &a); err != nil {
			t.Fatal(err)
		}
		if h := r.Headers; h["schema"] != SchemaV1 || h["kind"] != a.Kind || h["state"] != a.State || h["severity"] != a.Severity ||
			r.Time.UnixMilli() != a.TS.UnixMilli() {
			t.Errorf("record headers %v, timestamp %v; want those of %+v", h, r.Time, a)
		}
		if r.Key != a.Reflector {
			t.Errorf("key %q, want the subject %q", r.Key, a.Reflector)
		}
		if p, ok := part[r.Key]; ok && p != r.Partition {
			t.Errorf("key %s on partitions %d and %d", r.Key, p, r.Partition)
		}
		part[r.Key] = r.Partition
		if last, ok := lastSeq[r.Key]; ok && a.WireBytes != last+1 {
			t.Errorf("key %s: event %d after %d", r.Key, a.WireBytes, last)
		}
		lastSeq[r.Key] = a.WireBytes
	}
	if len(recs) != len(alerts) {
		t.Errorf("%d records, want %d", len(recs), len(alerts))
	}
}

func openOrFatal(t *testing.T, cfg Config, stdout *lockedBuffer) *Output {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second) // hang guard
	defer cancel()
	o, err := Open(ctx, cfg, stdout)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// TestKafkaSameAsStdoutAndFile sends interleaved incidents to stdout, a file and Kafka at once
// and checks that Kafka holds every alert exactly once, in order per key, and that the three
// sinks carry the same bytes.
func TestKafkaSameAsStdoutAndFile(t *testing.T) {
	b := kafkatest.Start(t)
	topic := kafkatest.NewTopic(t)
	cfg := kafkaConfig(b, topic)
	cfg.Sinks = []string{SinkStdout, SinkFile, SinkKafka}
	cfg.File = filepath.Join(t.TempDir(), "alerts.json")
	var stdout lockedBuffer
	o := openOrFatal(t, cfg, &stdout)
	alerts := incidentAlerts(600, 7) // 7 incidents: coprime with the 4 partitions, so a round robin would split a key
	for i := range alerts {
		o.Send(&alerts[i])
	}
	r := o.Close(closeCtx(t))
	if r.Failed() || r.Delivered != 3*600 || r.Spooled != 0 {
		t.Fatalf("report %+v", r)
	}
	recs := kafkatest.Consume(t, b.Addrs, topic, len(alerts))
	checkExactlyOnceInOrder(t, recs, alerts)

	file, err := os.ReadFile(cfg.File)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(file, stdout.Bytes()) {
		t.Error("file and stdout differ")
	}
	lines := strings.Split(strings.TrimSuffix(string(file), "\n"), "\n")
	var values []string
	for _, r := range recs {
		values = append(values, string(r.Value))
	}
	slices.Sort(lines)
	slices.Sort(values)
	if !slices.Equal(lines, values) {
		t.Error("Kafka's values are not the lines of stdout and the file")
	}
}

func TestKafkaEVE(t *testing.T) {
	b := kafkatest.Start(t)
	topic := kafkatest.NewTopic(t)
	cfg := kafkaConfig(b, topic)
	cfg.Format = "eve"
	o := openOrFatal(t, cfg, nil)
	alerts := sampleAlerts()[:5]
	for i := range alerts {
		o.Send(&alerts[i])
	}
	if r := o.Close(closeCtx(t)); r.Failed() || r.Delivered != 5 {
		t.Fatalf("report %+v", r)
	}
	for _, r := range kafkatest.Consume(t, b.Addrs, topic, 5) {
		var e struct {
			EventType string `json:"event_type"`
			SrcIP     string `json:"src_ip"`
			Alert     struct {
				SignatureID int `json:"signature_id"`
				Context     struct {
					NTPWatch struct{ Kind detect.Kind }
				}
			}
		}
		if err := json.Unmarshal(r.Value, &e); err != nil {
			t.Fatal(err)
		}
		if e.EventType != "alert" || e.SrcIP == "" || e.Alert.SignatureID != Signatures[e.Alert.Context.NTPWatch.Kind].ID {
			t.Errorf("EVE record %s", r.Value)
		}
	}
}

// TestKafkaUnreachable checks that Open fails with one line naming --kafka-brokers, both when
// nothing listens and when something accepts connections but never answers; the deadline is a
// hang guard, DialTimeout is what must end the wait.
func TestKafkaUnreachable(t *testing.T) {
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := closed.Addr().String()
	closed.Close()
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() { // accept and hold connections, saying nothing
		var held []net.Conn
		for {
			c, err := silent.Accept()
			if err != nil {
				for _, c := range held {
					c.Close()
				}
				return
			}
			held = append(held, c)
		}
	}()
	for _, addr := range []string{refused, silent.Addr().String()} {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		_, err := Open(ctx, Config{Sinks: []string{SinkKafka}, Kafka: KafkaConfig{
			Brokers: []string{addr}, DialTimeout: 500 * time.Millisecond}}, nil)
		hung := ctx.Err() != nil
		cancel()
		if hung || err == nil || !strings.HasPrefix(err.Error(), "kafka.brokers "+addr+": ") ||
			strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: err = %v (hang guard hit: %v), want one line naming --kafka-brokers", addr, err, hung)
		}
	}
}

// TestKafkaDownAtClose stops the broker after Open: every alert must be spooled, none lost,
// and the next Open, with the broker back, must deliver them all, in order, exactly once.
func TestKafkaDownAtClose(t *testing.T) {
	b := kafkatest.StartLocal(t) // stopped and restarted
	topic := kafkatest.NewTopic(t)
	cfg := kafkaConfig(b, topic)
	cfg.Kafka.Spool = filepath.Join(t.TempDir(), "kafka.spool")
	cfg.Kafka.RetryFor = 300 * time.Millisecond
	o := openOrFatal(t, cfg, nil)
	b.Stop()
	alerts := incidentAlerts(200, 8)
	for i := range alerts {
		o.Send(&alerts[i])
	}
	r := o.Close(closeCtx(t))
	if r.Failed() || r.Spooled != 200 || r.Delivered != 0 || r.Sinks[0].Err == nil {
		t.Fatalf("broker down: report %+v, want 200 spooled with the error", r)
	}
	b.Restart()
	o = openOrFatal(t, cfg, nil)
	r = o.Close(closeCtx(t))
	if r.Failed() || r.Replayed != 200 || r.Spooled != 0 {
		t.Fatalf("broker back: report %+v, want 200 replayed", r)
	}
	if _, err := os.Stat(cfg.Kafka.Spool); !os.IsNotExist(err) {
		t.Errorf("spool still there after delivery: %v", err)
	}
	checkExactlyOnceInOrder(t, kafkatest.Consume(t, b.Addrs, topic, 200), alerts)
}

// TestKafkaBrokerRestart stops the broker in the middle of a run and starts it again: the
// alerts sent meanwhile are delivered after the restart or spooled and delivered by the next
// Open; none is lost, and per-key order holds. "retry" outlasts the outage with retries;
// "spool" gives up on the batch at once, so alerts pass through the spool while the run goes
// on, and new ones queue behind them.
func TestKafkaBrokerRestart(t *testing.T) {
	for _, c := range []struct {
		name     string
		retryFor time.Duration
		spooled  bool // wait until the sink has spooled before restarting the broker
	}{{"retry", 20 * time.Second, false}, {"spool", time.Millisecond, true}} {
		t.Run(c.name, func(t *testing.T) {
			b := kafkatest.StartLocal(t) // stopped and restarted
			topic := kafkatest.NewTopic(t)
			cfg := kafkaConfig(b, topic)
			cfg.Kafka.Spool = filepath.Join(t.TempDir(), "kafka.spool")
			cfg.Kafka.RetryFor = c.retryFor
			cfg.Kafka.BackoffMax = 200 * time.Millisecond
			o := openOrFatal(t, cfg, nil)
			alerts := incidentAlerts(300, 7)
			for i := range alerts[:100] {
				o.Send(&alerts[i])
			}
			waitFor(t, "first 100 delivered", func() bool { return o.Stats().Sinks[0].Delivered == 100 })
			b.Stop()
			for i := range alerts[100:200] {
				o.Send(&alerts[100+i])
			}
			waitFor(t, "a failed write", func() bool { return o.Stats().Sinks[0].Failures > 0 })
			if c.spooled {
				waitFor(t, "alerts spooled", func() bool { return o.Stats().Sinks[0].Spooled > 0 })
			}
			b.Restart()
			for i := range alerts[200:] {
				o.Send(&alerts[200+i])
			}
			if c.spooled {
				waitFor(t, "the spool delivered", func() bool { return o.Stats().Sinks[0].Spooled == 0 })
			}
			r := o.Close(closeCtx(t))
			if r.Failed() || r.Delivered+r.Spooled != 300 {
				t.Fatalf("report %+v, want 300 delivered or spooled", r)
			}
			t.Logf("delivered %d, spooled %d during the run", r.Delivered, r.Spooled)
			if r.Spooled > 0 {
				o = openOrFatal(t, cfg, nil)
				if r2 := o.Close(closeCtx(t)); r2.Failed() || r2.Replayed != r.Spooled {
					t.Fatalf("next run: report %+v, want %d replayed", r2, r.Spooled)
				}
			}
			checkExactlyOnceInOrder(t, kafkatest.Consume(t, b.Addrs, topic, 300), alerts)
		})
	}
}

// TestKafkaSpoolUnreadable plays a crash that cut the spool's last line short: Open delivers
// the whole records, and reports the cut one as lost.
func TestKafkaSpoolUnreadable(t *testing.T) {
	b := kafkatest.Start(t)
	topic := kafkatest.NewTopic(t)
	cfg := kafkaConfig(b, topic)
	cfg.Kafka.Spool = filepath.Join(t.TempDir(), "kafka.spool")
	alerts := incidentAlerts(3, 1)
	sp := &spool{path: cfg.Kafka.Spool}
	for i := range alerts {
		if err := sp.append([]message{newMessage(AppendJSON(nil, &alerts[i]), SchemaV1, &alerts[i])}); err != nil {
			t.Fatal(err)
		}
	}
	sp.close()
	f, err := os.OpenFile(cfg.Kafka.Spool, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"key":"198.51.100.0","value":{"schema":"ntpw`)
	f.Close()
	o := openOrFatal(t, cfg, nil)
	r := o.Close(closeCtx(t))
	if r.Replayed != 3 || r.Lost != 1 || !strings.Contains(r.String(), "1 unreadable lines") {
		t.Fatalf("report %+v (%s), want 3 replayed and 1 lost", r, r)
	}
	checkExactlyOnceInOrder(t, kafkatest.Consume(t, b.Addrs, topic, 3), alerts)
}

// TestSpoolWithoutHeaders reads a spool line of a version before headers: the alert is read
// back, with no headers and no timestamp, which Kafka then gives it.
func TestSpoolWithoutHeaders(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kafka.spool")
	os.WriteFile(path, []byte(`{"key":"198.51.100.10","value":{"schema":"ntpwatch.alert/v1"}}`+"\n"), 0o600)
	msgs, err := (&spool{path: path}).load()
	if err != nil || len(msgs) != 1 || string(msgs[0].key) != "198.51.100.10" || msgs[0].meta != (messageMeta{}) ||
		msgs[0].meta.headers() != nil {
		t.Errorf("%+v, %v", msgs, err)
	}
}

// TestKafkaSASL checks PLAIN and SCRAM against a broker that requires them: the right
// password delivers, a wrong one is refused at Open with one line naming the flag. It runs
// against kfake only, whose users the test sets.
func TestKafkaSASL(t *testing.T) {
	for _, mech := range []string{"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"} {
		t.Run(mech, func(t *testing.T) {
			b := kafkatest.StartLocal(t, kfake.EnableSASL(), kfake.Superuser(mech, "alice", "s3cret"))
			cfg := kafkaConfig(b, kafkatest.NewTopic(t))
			cfg.Kafka.SASL = SASLConfig{Mechanism: strings.ToLower(mech), User: "alice", Password: "wrong"}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if _, err := Open(ctx, cfg, nil); err == nil || !strings.HasPrefix(err.Error(), "kafka.sasl.user alice: ") {
				t.Errorf("wrong password: err = %v, want one naming --kafka-sasl-user", err)
			}
			cfg.Kafka.SASL.Password = "s3cret"
			o := openOrFatal(t, cfg, nil)
			a := sampleAlerts()[0]
			o.Send(&a)
			if r := o.Close(closeCtx(t)); r.Failed() || r.Delivered != 1 {
				t.Errorf("report %+v", r)
			}
		})
	}
}

// waitFor polls cond; the deadline only guards against a hang.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("hang guard: never saw %s", what)
		}
	}
}

// BenchmarkKafkaDelivery measures alerts delivered per second through the kafka sink to an
// in-process broker over TCP, with acks from all replicas and the 20 ms batch timeout:
// b.N alerts are sent as fast as Send takes them and Close waits for their delivery.
func BenchmarkKafkaDelivery(b *testing.B) {
	cfg := Config{Sinks: []string{SinkKafka}, QueueSize: 1 << 20,
		Kafka: KafkaConfig{Brokers: kafkatest.StartLocal(b).Addrs, Topic: "bench"}}
	o, err := Open(context.Background(), cfg, nil)
	if err != nil {
		b.Fatal(err)
	}
	alerts := incidentAlerts(1000, 50)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		o.Send(&alerts[i%len(alerts)])
	}
	r := o.Close(context.Background())
	b.StopTimer()
	if r.Failed() || r.Delivered != uint64(b.N) {
		b.Fatalf("report %+v", r)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "alerts/s")
}

// TestKafkaLostNamesTheCause stops the broker in the middle of a run without a spool, and
// stops the run while kafka-go waits between two attempts inside WriteMessages, which then
// says only "context canceled": the alerts are lost, and the report must name why, the broker
// refusing connections (or, when the stop caught a write in flight, the connection cut under
// it). The stop must not wait for kafka-go's sleep to end.
func TestKafkaLostNamesTheCause(t *testing.T) {
	b := kafkatest.StartLocal(t) // stopped
	cfg := kafkaConfig(b, kafkatest.NewTopic(t))
	cfg.Kafka.Spool = ""
	cfg.Kafka.BackoffMin, cfg.Kafka.BackoffMax = 20*time.Second, 20*time.Second // kafka-go sleeps this long between attempts
	o := openOrFatal(t, cfg, nil)
	alerts := incidentAlerts(10, 2)
	o.Send(&alerts[0])
	waitFor(t, "the first alert delivered", func() bool { return o.Stats().Sinks[0].Delivered == 1 })
	b.Stop()
	for i := range alerts[1:] {
		o.Send(&alerts[1+i])
	}
	ks := o.workers[0].dest.(*kafkaSink)
	waitFor(t, "an attempt failed inside kafka-go", func() bool { return ks.attempt.last() != "" })
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	stopped := time.Now()
	r := o.Close(ctx)
	err := r.Sinks[0].Err
	if !r.Failed() || err == nil || !strings.Contains(err.Error(), "connection refused") && !strings.Contains(err.Error(), "EOF") {
		t.Errorf("report %v: want the alerts lost and the broker's refusal named", r)
	}
	t.Log(r)
	if d := time.Since(stopped); d > 10*time.Second {
		t.Errorf("the stop took %v: it waited for kafka-go's 20 s backoff", d)
	}
}

// TestKafkaHeadersKcat reads the messages back with kcat (librdkafka, a client independent of
// both kafka-go and franz-go): each carries the headers schema, kind, state and severity,
// and the alert's packet time as its timestamp, for every format.
func TestKafkaHeadersKcat(t *testing.T) {
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		t.Skip("kcat is not installed (Debian package kcat; .ci/run installs it)")
	}
	b := kafkatest.Start(t)
	for _, format := range []string{"json", "eve", "ecs"} {
		t.Run(format, func(t *testing.T) {
			topic := kafkatest.NewTopic(t)
			cfg := kafkaConfig(b, topic)
			cfg.Format = format
			o := openOrFatal(t, cfg, nil)
			alerts := sampleAlerts()[:5]
			want := map[string]string{}
			for i := range alerts {
				a := &alerts[i]
				o.Send(a)
				want[a.ID] = fmt.Sprintf("%s %d schema=%s,kind=%s,state=%s,severity=%s", a.Subject(), a.TS.UnixMilli(),
					SchemaFor(format), a.Kind, a.State, a.Severity)
			}
			if r := o.Close(closeCtx(t)); r.Failed() || r.Delivered != uint64(len(alerts)) {
				t.Fatalf("report %v", r)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second) // hang guard
			defer cancel()
			cmd := exec.CommandContext(ctx, kcat, "-C", "-b", strings.Join(b.Addrs, ","), "-t", topic, "-o", "beginning", "-e", "-q",
				"-f", "%k %T %h\t%s\n")
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("kcat: %v\n%s", err, out)
			}
			got := 0
			for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
				meta, value, _ := strings.Cut(line, "\t")
				id := alertID(t, format, value)
				if want[id] != meta {
					t.Errorf("alert %s: kcat reads %q, want %q", id, meta, want[id])
				}
				got++
			}
			if got != len(alerts) {
				t.Errorf("kcat read %d messages, want %d:\n%s", got, len(alerts), out)
			}
		})
	}
}

// alertID finds the native alert's id in a message of any format.
func alertID(t *testing.T, format, value string) string {
	t.Helper()
	var m struct {
		ID    string
		Alert struct {
			Context struct{ NTPWatch struct{ ID string } }
		}
		NTP struct{ ID string } `json:"ntpwatch"`
	}
	if err := json.Unmarshal([]byte(value), &m); err != nil {
		t.Fatalf("%s message: %v: %s", format, err, value)
	}
	switch format {
	case "eve":
		return m.Alert.Context.NTPWatch.ID
	case "ecs":
		return m.NTP.ID
	}
	return m.ID
}
