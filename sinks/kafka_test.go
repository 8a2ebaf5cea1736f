package sinks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
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
	checkInOrder(t, recs, alerts, true)
}

// checkAtLeastOnceInOrder checks what at-least-once delivery promises: every alert at least
// once, each under its subject's key and on one partition, nothing that was not sent, and
// per key the first copies of the events in the order they were sent. A batch written again
// after an unknown outcome repeats events already there: 1 2 3 2 3 4 is in order.
func checkAtLeastOnceInOrder(t *testing.T, recs []kafkatest.Record, alerts []detect.Alert) {
	t.Helper()
	checkInOrder(t, recs, alerts, false)
}

func checkInOrder(t *testing.T, recs []kafkatest.Record, alerts []detect.Alert, exactlyOnce bool) {
	t.Helper()
	want := map[string]int{}
	for i := range alerts {
		want[string(AppendJSON(nil, &alerts[i]))]++
	}
	seen := map[string]int{}
	lastSeq := map[string]int64{}
	part := map[string]int32{}
	for _, r := range recs {
		v := string(r.Value)
		if want[v] == 0 {
			t.Fatalf("record not sent: %s", v)
		}
		if seen[v]++; seen[v] > want[v] {
			if exactlyOnce {
				t.Fatalf("record sent fewer times: %s", v)
			}
			continue // a copy: its first one was checked
		}
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
	for v, n := range want {
		if seen[v] < n {
			t.Errorf("record never delivered: %s", v)
		}
	}
	if exactlyOnce && len(recs) != len(alerts) {
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

// sendPaced sends alerts at the speed the sink takes them: never more than its queue holds,
// so that an alert can only be lost by the sink, not refused by a full queue.
func sendPaced(t *testing.T, o *Output, alerts []detect.Alert) {
	t.Helper()
	for i := range alerts {
		waitFor(t, "room in the queue", func() bool {
			st := o.Stats().Sinks[0]
			return st.QueueDepth < st.QueueSize
		})
		o.Send(&alerts[i])
	}
}

// TestKafkaDownAtClose stops the broker after Open and sends many times the queue's size:
// the sink must keep taking its queue while no broker answers, spool every alert and lose
// none; the next Open, with the broker back, delivers them all, in order, at least once.
func TestKafkaDownAtClose(t *testing.T) {
	b := kafkatest.StartLocal(t) // stopped and restarted
	topic := kafkatest.NewTopic(t)
	cfg := kafkaConfig(b, topic)
	cfg.Kafka.Spool = filepath.Join(t.TempDir(), "kafka.spool")
	cfg.QueueSize = 64
	o := openOrFatal(t, cfg, nil)
	b.Stop()
	alerts := incidentAlerts(2000, 8)
	sendPaced(t, o, alerts)
	r := o.Close(closeCtx(t))
	if r.Failed() || r.Spooled != 2000 || r.Delivered != 0 || r.Sinks[0].Err == nil {
		t.Fatalf("broker down: report %+v, want 2000 spooled with the error", r)
	}
	b.Restart()
	o = openOrFatal(t, cfg, nil)
	r = o.Close(closeCtx(t))
	if r.Failed() || r.Replayed != 2000 || r.Spooled != 0 || r.Backlog != 0 {
		t.Fatalf("broker back: report %+v, want 2000 replayed", r)
	}
	if _, err := os.Stat(cfg.Kafka.Spool); !os.IsNotExist(err) {
		t.Errorf("spool still there after delivery: %v", err)
	}
	checkAtLeastOnceInOrder(t, kafkatest.ConsumeAll(t, b.Addrs, topic, 2000), alerts)
}

// TestKafkaBrokerRestart stops the broker in the middle of a run and starts it again: the
// alerts sent meanwhile are delivered after the restart or spooled and delivered by the next
// Open; none is lost, and per-key order holds. "spool" writes every alert through the spool,
// so new alerts queue behind those the broker did not take; "no spool" retries each batch
// in memory, and outlasts the outage with its retries.
func TestKafkaBrokerRestart(t *testing.T) {
	for _, c := range []struct {
		name  string
		spool bool
	}{{"spool", true}, {"no spool", false}} {
		t.Run(c.name, func(t *testing.T) {
			b := kafkatest.StartLocal(t) // stopped and restarted
			topic := kafkatest.NewTopic(t)
			cfg := kafkaConfig(b, topic)
			if c.spool {
				cfg.Kafka.Spool = filepath.Join(t.TempDir(), "kafka.spool")
			}
			cfg.Kafka.RetryFor = time.Minute // longer than the hang guard of each wait
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
			if c.spool {
				waitFor(t, "alerts spooled", func() bool { return o.Stats().Sinks[0].Spooled == 100 })
			}
			b.Restart()
			for i := range alerts[200:] {
				o.Send(&alerts[200+i])
			}
			waitFor(t, "all delivered", func() bool { return o.Stats().Sinks[0].Delivered == 300 })
			r := o.Close(closeCtx(t))
			if r.Failed() || r.Delivered != 300 || r.Spooled != 0 {
				t.Fatalf("report %+v, want 300 delivered", r)
			}
			if _, err := os.Stat(cfg.Kafka.Spool); c.spool && !os.IsNotExist(err) {
				t.Errorf("spool still there after delivery: %v", err)
			}
			checkAtLeastOnceInOrder(t, kafkatest.ConsumeAll(t, b.Addrs, topic, 300), alerts)
		})
	}
}

// freezer wraps a broker's listener so that the test can freeze it: the connections stay
// open, and nothing read from them after the freeze is answered, as with a broker process
// stopped by SIGSTOP. Thaw lets the held reads go on.
type freezer struct {
	frozen atomic.Bool
	thaw   chan struct{}
	once   sync.Once
}

func (f *freezer) listen(network, addr string) (net.Listener, error) {
	ln, err := net.Listen(network, addr)
	return frozenListener{ln, f}, err
}

func (f *freezer) Thaw() { f.once.Do(func() { close(f.thaw) }) }

type frozenListener struct {
	net.Listener
	f *freezer
}

func (l frozenListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	return frozenConn{c, l.f}, err
}

type frozenConn struct {
	net.Conn
	f *freezer
}

func (c frozenConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if c.f.frozen.Load() {
		<-c.f.thaw
	}
	return n, err
}

// TestKafkaFrozenBroker freezes the broker in the middle of a run: its connections open,
// nothing answering. Close, given one second, must come back with every alert delivered or
// spooled and none lost, without waiting on kafka-go's write timeouts; the next run, with
// the broker thawed, delivers the spool.
func TestKafkaFrozenBroker(t *testing.T) {
	fz := &freezer{thaw: make(chan struct{})}
	b := kafkatest.StartLocal(t, kfake.ListenFn(fz.listen))
	t.Cleanup(fz.Thaw) // before the broker stops: its connections wait on it
	topic := kafkatest.NewTopic(t)
	cfg := kafkaConfig(b, topic)
	cfg.Kafka.Spool = filepath.Join(t.TempDir(), "kafka.spool")
	o := openOrFatal(t, cfg, nil)
	alerts := incidentAlerts(200, 7)
	for i := range alerts[:100] {
		o.Send(&alerts[i])
	}
	waitFor(t, "first 100 delivered", func() bool { return o.Stats().Sinks[0].Delivered == 100 })
	fz.frozen.Store(true)
	for i := range alerts[100:] {
		o.Send(&alerts[100+i])
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	start := time.Now()
	r := o.Close(ctx)
	t.Logf("Close with a frozen broker and a 1 s deadline took %s", time.Since(start).Round(time.Millisecond))
	if r.Failed() || r.Lost != 0 || r.Delivered+r.Spooled != 200 || r.Spooled == 0 {
		t.Fatalf("frozen broker: report %+v (%s), want 200 delivered or spooled, none lost", r, r)
	}
	fz.Thaw()
	o = openOrFatal(t, cfg, nil)
	if r2 := o.Close(closeCtx(t)); r2.Failed() || r2.Replayed != r.Spooled {
		t.Fatalf("next run: report %+v, want %d replayed", r2, r.Spooled)
	}
	checkAtLeastOnceInOrder(t, kafkatest.ConsumeAll(t, b.Addrs, topic, 200), alerts)
}

// writeSpool writes a spool of alerts as a run would leave it.
func writeSpool(t *testing.T, path string, alerts []detect.Alert) {
	t.Helper()
	sp, err := openSpool(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := range alerts {
		if err := sp.append([]message{newMessage(AppendJSON(nil, &alerts[i]), SchemaV1, &alerts[i])}); err != nil {
			t.Fatal(err)
		}
	}
	if err := sp.finish(); err != nil {
		t.Fatal(err)
	}
}

// TestKafkaSpoolTornLine plays a crash that cut the spool's last line short, then a run that
// loses its broker once open and spools one more alert, then a run with the broker back: the
// torn line is reported as lost once, the records on either side of it are all delivered,
// and what the first run left of the earlier alerts is reported as its backlog.
func TestKafkaSpoolTornLine(t *testing.T) {
	b := kafkatest.StartLocal(t) // stopped and restarted
	topic := kafkatest.NewTopic(t)
	cfg := kafkaConfig(b, topic)
	cfg.Kafka.Spool = filepath.Join(t.TempDir(), "kafka.spool")
	alerts := incidentAlerts(4, 1)
	writeSpool(t, cfg.Kafka.Spool, alerts[:3])
	f, err := os.OpenFile(cfg.Kafka.Spool, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"key":"198.51.100.0","value":{"schema":"ntpw`)
	f.Close()

	o := openOrFatal(t, cfg, nil)
	b.Stop() // the shipper may have delivered some of the three earlier alerts by now
	o.Send(&alerts[3])
	r1 := o.Close(closeCtx(t))
	if r1.Lost != 1 || r1.Spooled != 1 || r1.Replayed+r1.Backlog != 3 || !strings.Contains(r1.String(), "1 unreadable lines") {
		t.Fatalf("broker down: report %+v (%s), want the torn line lost, the new alert spooled, and the 3 earlier ones replayed or kept", r1, r1)
	}
	if r1.Backlog > 0 && !strings.Contains(r1.String(), fmt.Sprintf("%d of earlier runs still in the spool", r1.Backlog)) {
		t.Errorf("report %q does not tell of the backlog", r1)
	}
	b.Restart()
	o = openOrFatal(t, cfg, nil)
	if r2 := o.Close(closeCtx(t)); r2.Failed() || r2.Replayed != r1.Backlog+1 || r2.Backlog != 0 {
		t.Fatalf("broker back: report %+v (%s), want the %d records left replayed", r2, r2, r1.Backlog+1)
	}
	checkAtLeastOnceInOrder(t, kafkatest.ConsumeAll(t, b.Addrs, topic, 4), alerts)
}

// TestKafkaSpoolReadOnly checks that a spool that could not be emptied after delivery (on a
// read-only mount) is an error at Open naming the key, rather than alerts sent again by every
// run. Root writes to a file of mode 0400, so as root the file is made immutable instead.
func TestKafkaSpoolReadOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kafka.spool")
	writeSpool(t, path, incidentAlerts(1, 1))
	if os.Geteuid() == 0 {
		if out, err := exec.Command("chattr", "+i", path).CombinedOutput(); err != nil {
			t.Skipf("root, and chattr +i failed (%v: %s): cannot make the spool unwritable", err, out)
		}
		t.Cleanup(func() { exec.Command("chattr", "-i", path).Run() })
	} else if err := os.Chmod(path, 0o400); err != nil {
		t.Fatal(err)
	}
	b := kafkatest.Start(t)
	cfg := kafkaConfig(b, kafkatest.NewTopic(t))
	cfg.Kafka.Spool = path
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := Open(ctx, cfg, nil)
	if err == nil || !strings.HasPrefix(err.Error(), "kafka.spool: ") || !errors.Is(err, ErrSetting) ||
		strings.Contains(err.Error(), "\n") {
		t.Errorf("err = %v, want one line naming kafka.spool", err)
	}
}

// TestKafkaSpoolStreamed replays a spool far larger than one batch and checks that the
// shipper read it in batches: the spool is read as a stream, never loaded whole.
func TestKafkaSpoolStreamed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kafka.spool")
	alerts := incidentAlerts(3*maxKafkaBatch+7, 5)
	writeSpool(t, path, alerts)
	sp, err := openSpool(path)
	if err != nil {
		t.Fatal(err)
	}
	defer sp.f.Close()
	if sp.old != uint64(len(alerts)) || sp.bad != 0 {
		t.Fatalf("open counted %d records and %d bad lines, want %d and 0", sp.old, sp.bad, len(alerts))
	}
	var got int
	for {
		msgs, ends, err := sp.next(maxKafkaBatch)
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) == 0 {
			break
		}
		if len(msgs) > maxKafkaBatch {
			t.Fatalf("a batch of %d records", len(msgs))
		}
		for i := range msgs {
			if want := AppendJSON(nil, &alerts[got+i]); !bytes.Equal(msgs[i].value, want) {
				t.Fatalf("record %d: %s, want %s", got+i, msgs[i].value, want)
			}
		}
		if _, _, err := sp.consume(len(msgs), ends); err != nil {
			t.Fatal(err)
		}
		got += len(msgs)
	}
	if got != len(alerts) || sp.pending() {
		t.Fatalf("read %d records of %d", got, len(alerts))
	}
	if fi, err := sp.f.Stat(); err != nil || fi.Size() != 0 {
		t.Errorf("spool not emptied after delivery: %v %v", fi.Size(), err)
	}
}

// TestSpoolWithoutHeaders reads a spool line of a version before headers: the alert is read
// back, with no headers and no timestamp, which Kafka then gives it.
func TestSpoolWithoutHeaders(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kafka.spool")
	os.WriteFile(path, []byte(`{"key":"198.51.100.10","value":{"schema":"ntpwatch.alert/v1"}}`+"\n"), 0o600)
	sp, err := openSpool(path)
	if err != nil {
		t.Fatal(err)
	}
	defer sp.f.Close()
	msgs, _, err := sp.next(maxKafkaBatch)
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

// closedPipe is a stdout whose reader went away after the first write, as with
// `ntpwatch read ... | head -1` once SIGPIPE is ignored: every later write fails with EPIPE.
type closedPipe struct {
	mu     sync.Mutex
	writes int
}

func (p *closedPipe) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.writes++; p.writes == 1 {
		return len(b), nil
	}
	return 0, &os.PathError{Op: "write", Path: "/dev/stdout", Err: syscall.EPIPE}
}

// TestBrokenStdoutSparesKafka checks that a closed stdout is the stdout sink's loss only:
// Kafka gets every alert, the stdout sink stops writing after the broken pipe, and the report
// names stdout and the error.
func TestBrokenStdoutSparesKafka(t *testing.T) {
	b := kafkatest.Start(t)
	topic := kafkatest.NewTopic(t)
	cfg := kafkaConfig(b, topic)
	cfg.Sinks = []string{SinkStdout, SinkKafka}
	stdout := &closedPipe{}
	o, err := Open(context.Background(), cfg, stdout)
	if err != nil {
		t.Fatal(err)
	}
	alerts := incidentAlerts(500, 7)
	for i := range alerts {
		o.Send(&alerts[i])
		if i == 0 {
			waitFor(t, "the first alert written", func() bool { return o.Stats().Sinks[0].Delivered == 1 })
		}
	}
	r := o.Close(closeCtx(t))
	out, kafka := r.Sinks[0], r.Sinks[1]
	if !r.Failed() || out.Delivered != 1 || out.Lost != 499 || kafka.Delivered != 500 || kafka.Lost != 0 {
		t.Fatalf("report %+v, want stdout 1 delivered and 499 lost, kafka 500 delivered", r)
	}
	if !strings.Contains(r.String(), "stdout: 1 delivered, 0 spooled, 499 lost") || !strings.Contains(r.String(), "broken pipe") {
		t.Errorf("report %q: want stdout named with the broken pipe", r)
	}
	if stdout.writes != 2 {
		t.Errorf("%d writes to stdout, want 2: none after the broken pipe", stdout.writes)
	}
	checkExactlyOnceInOrder(t, kafkatest.Consume(t, b.Addrs, topic, 500), alerts)
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
