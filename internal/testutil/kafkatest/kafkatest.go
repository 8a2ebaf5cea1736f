// Package kafkatest gives tests a Kafka broker and reads back what was written to it. The
// broker is franz-go's in-process kfake listening on 127.0.0.1 on a port the system picks,
// reached over real TCP as a cluster would be, or, when NTPWATCH_KAFKA_BROKERS is set, that
// external cluster (a real Apache Kafka or Redpanda). Records are read back with franz-go's
// client, an implementation independent of the kafka-go writer that ntpwatch's sink uses.
//
// A Broker belongs to the test that started it; its helpers may be called from that test's
// goroutine only, as they fail the test with t.Fatal.
package kafkatest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// hangGuard bounds every wait on a broker: reached, it fails the test instead of hanging it.
const hangGuard = 30 * time.Second

// external returns the brokers of NTPWATCH_KAFKA_BROKERS (comma-separated), or nil when it
// is not set.
func external() []string {
	if v := os.Getenv("NTPWATCH_KAFKA_BROKERS"); v != "" {
		return strings.Split(v, ",")
	}
	return nil
}

// Broker is a Kafka cluster for one test.
type Broker struct {
	// Addrs are the bootstrap addresses of the cluster, as host:port.
	Addrs []string

	tb   testing.TB
	c    *kfake.Cluster // nil for an external cluster, or once stopped
	opts []kfake.Opt
	port int    // the port a restart listens on again
	dir  string // where the in-process broker keeps its data across restarts; "" for external
}

// Start returns the external cluster when NTPWATCH_KAFKA_BROKERS is set, and otherwise
// starts an in-process broker for the test, with opts, stopped when the test ends.
func Start(tb testing.TB, opts ...kfake.Opt) *Broker {
	tb.Helper()
	if addrs := external(); addrs != nil {
		return &Broker{Addrs: addrs, tb: tb}
	}
	return StartLocal(tb, opts...)
}

// External reports whether the tests run against the cluster of NTPWATCH_KAFKA_BROKERS.
func External() bool { return external() != nil }

// StartLocal starts an in-process broker for the test even when NTPWATCH_KAFKA_BROKERS is
// set: for tests that stop and restart the broker or give it opts (such as SASL), which an
// external cluster does not allow. It has one broker, keeps its data in a temporary folder
// and creates topics on first use with 4 partitions; opts come after these defaults. It is
// stopped when the test ends.
func StartLocal(tb testing.TB, opts ...kfake.Opt) *Broker {
	tb.Helper()
	b := &Broker{tb: tb, dir: tb.TempDir(), opts: opts}
	b.Restart()
	tb.Cleanup(b.Stop)
	return b
}

// Restart starts the stopped in-process broker again, on the same port and with the data it
// had, as a real broker coming back from an outage.
func (b *Broker) Restart() {
	b.tb.Helper()
	if b.dir == "" {
		b.tb.Fatal("kafkatest: an external cluster cannot be restarted; use StartLocal")
	}
	// One broker on b.port, which is 0 at the first start: the system picks a free one.
	opts := append([]kfake.Opt{kfake.Ports(b.port), kfake.AllowAutoTopicCreation(),
		kfake.DefaultNumPartitions(4), kfake.DataDir(b.dir)}, b.opts...)
	var err error
	b.c, err = kfake.NewCluster(opts...)
	if err != nil {
		b.tb.Fatalf("kafkatest: start kfake on port %d: %v", b.port, err)
	}
	b.Addrs = b.c.ListenAddrs()
	_, p, _ := net.SplitHostPort(b.Addrs[0])
	b.port, _ = strconv.Atoi(p)
}

// Stop stops the in-process broker; its clients see connections refused until Restart.
func (b *Broker) Stop() {
	if b.dir == "" {
		b.tb.Fatal("kafkatest: an external cluster cannot be stopped; use StartLocal")
	}
	if b.c != nil {
		b.c.Close()
		b.c = nil
	}
}

// NewTopic returns a topic name no earlier run used, so that runs against an external
// cluster do not read each other's records.
func NewTopic(tb testing.TB) string {
	var r [4]byte
	rand.Read(r[:])
	return "ntpwatch-test-" + strings.ToLower(strings.ReplaceAll(tb.Name(), "/", "-")) + "-" + hex.EncodeToString(r[:])
}

// Record is one record read back from a topic.
type Record struct {
	Partition int32
	Key       string
	Value     []byte
	Headers   map[string]string
	Time      time.Time // the record's timestamp
}

// Consume reads topic from the start until it has n records, then checks through the
// partitions' end offsets that the topic holds no more than that: a record written twice
// fails the test.
func Consume(tb testing.TB, brokers []string, topic string, n int) []Record {
	tb.Helper()
	recs := consume(tb, brokers, topic, func(got []Record) bool { return len(got) >= n })
	if total := endOffsets(tb, brokers, topic); total != int64(len(recs)) {
		tb.Errorf("topic holds %d records, consumed %d", total, len(recs))
	}
	return recs
}

// ConsumeAll reads topic from the start until it has at least n records and every record
// the topic holds, duplicates included: for at-least-once delivery, where a write whose
// outcome was unknown may have stored a record twice.
func ConsumeAll(tb testing.TB, brokers []string, topic string, n int) []Record {
	tb.Helper()
	var total int64 = -1
	return consume(tb, brokers, topic, func(got []Record) bool {
		if len(got) < n {
			return false
		}
		if total < 0 {
			total = endOffsets(tb, brokers, topic) // the writers are done: it no longer grows
		}
		return int64(len(got)) >= total
	})
}

// consume reads topic from the start until enough says it has enough.
func consume(tb testing.TB, brokers []string, topic string, enough func([]Record) bool) []Record {
	tb.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		tb.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	var recs []Record
	for !enough(recs) {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			tb.Fatalf("consumed %d records before the hang guard", len(recs))
		}
		fs.EachError(func(tp string, p int32, err error) { tb.Logf("fetch %s/%d: %v", tp, p, err) })
		fs.EachRecord(func(r *kgo.Record) {
			h := map[string]string{}
			for _, kv := range r.Headers {
				h[kv.Key] = string(kv.Value)
			}
			recs = append(recs, Record{Partition: r.Partition, Key: string(r.Key), Value: r.Value, Headers: h, Time: r.Timestamp})
		})
	}
	return recs
}

// endOffsets sums the end offsets of the topic's partitions: the number of records written.
// It asks with kafka-go's client, so that the count does not come from the consumer's.
func endOffsets(tb testing.TB, brokers []string, topic string) int64 {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	cl := &kafka.Client{Addr: kafka.TCP(brokers...)}
	md, err := cl.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil || len(md.Topics) != 1 {
		tb.Fatalf("metadata: %v", err)
	}
	var reqs []kafka.OffsetRequest
	for _, p := range md.Topics[0].Partitions {
		reqs = append(reqs, kafka.LastOffsetOf(p.ID))
	}
	res, err := cl.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{topic: reqs}})
	if err != nil {
		tb.Fatalf("list offsets: %v", err)
	}
	var total int64
	for _, p := range res.Topics[topic] {
		if p.Error != nil {
			tb.Fatalf("list offsets of partition %d: %v", p.Partition, p.Error)
		}
		total += p.LastOffset
	}
	return total
}

// CreateTopic creates topic with the given partitions, for tests that need several whatever
// the cluster creates topics with on first use.
func CreateTopic(tb testing.TB, brokers []string, topic string, partitions int) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	cl := &kafka.Client{Addr: kafka.TCP(brokers...)}
	res, err := cl.CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{
		{Topic: topic, NumPartitions: partitions, ReplicationFactor: -1}}})
	if err != nil {
		tb.Fatalf("create topic %s: %v", topic, err)
	}
	if err := res.Errors[topic]; err != nil {
		tb.Fatalf("create topic %s: %v", topic, err)
	}
}
