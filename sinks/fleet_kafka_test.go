package sinks

import (
	"context"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/ntpwatch/ntpwatch/detect"
	"github.com/ntpwatch/ntpwatch/internal/testutil/kafkatest"
)

// subjects are n records of evidence of subjects 198.51.100.0 on, then a heartbeat.
func subjects(n int) []*detect.Evidence {
	var out []*detect.Evidence
	for i := range n {
		ev := sampleEvidence()[0]
		ev.Subject = netip.AddrFrom4([4]byte{198, 51, 100, byte(i)})
		out = append(out, &ev)
	}
	hb := sampleEvidence()[1]
	return append(out, &hb)
}

// TestEvidencePartitionsAgree: the evidence publisher (kafka-go) puts each subject on the
// partition franz-go's producer, Kafka's default partitioner (murmur2), puts its key on, and
// a heartbeat on every partition with that partition in its header; kafka-go's Hash balancer
// would disagree on most keys.
func TestEvidencePartitionsAgree(t *testing.T) {
	b := kafkatest.Start(t)
	const n = 64
	topic, theirs := kafkatest.NewTopic(t), kafkatest.NewTopic(t)
	ctx := context.Background()
	pub, err := OpenEvidence(ctx, KafkaConfig{Brokers: b.Addrs}, topic)
	if err != nil {
		t.Fatal(err)
	}
	recs := subjects(n)
	for _, ev := range recs {
		pub.Send(ev)
	}
	rep := pub.Close(ctx)
	got := kafkatest.Consume(t, b.Addrs, topic, n+pub.parts)
	if rep.Records != n || rep.Heartbeats != 1 || rep.Lost != 0 || rep.Windows != 1 || int(rep.MaxWindowBytes) != int(rep.Bytes) {
		t.Errorf("report %+v", rep)
	}

	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addrs...), kgo.DefaultProduceTopic(theirs), kgo.AllowAutoTopicCreation())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	want := map[string]int32{}
	for _, ev := range recs[:n] {
		res := cl.ProduceSync(ctx, &kgo.Record{Key: []byte(ev.Subject.String()), Value: []byte("x")})
		if err := res.FirstErr(); err != nil {
			t.Fatal(err)
		}
		want[ev.Subject.String()] = res[0].Record.Partition
	}
	parts := map[int32]bool{}
	hash, heartbeats := 0, 0
	var all []int
	for p := range int(pub.parts) {
		all = append(all, p)
	}
	for _, r := range got {
		if r.Headers["type"] == "heartbeat" {
			heartbeats++
			if p, _ := strconv.Atoi(r.Headers["partition"]); int32(p) != r.Partition {
				t.Errorf("heartbeat for partition %s on partition %d", r.Headers["partition"], r.Partition)
			}
			parts[r.Partition] = true
			continue
		}
		if w, ok := want[r.Key]; !ok || w != r.Partition {
			t.Errorf("key %s on partition %d, franz-go's %d", r.Key, r.Partition, w)
		}
		if (&kafka.Hash{}).Balance(kafka.Message{Key: []byte(r.Key)}, all...) != int(r.Partition) {
			hash++
		}
	}
	if heartbeats != pub.parts || len(parts) != pub.parts {
		t.Errorf("%d heartbeats on %d partitions, want one on each of %d", heartbeats, len(parts), pub.parts)
	}
	if hash < n/2 {
		t.Errorf("kafka-go's Hash agreed on %d keys of %d: the test shows nothing", n-hash, n)
	}
	t.Logf("%d keys on franz-go's partitions; kafka-go's Hash would put %d of them elsewhere", n, hash)
}

// recorder is an EvidenceHandler that notes what it is given and commits every record it
// reads, with the member's name as metadata.
type recorder struct {
	name string
	mu   sync.Mutex
	own  map[int]string // partitions owned, with the metadata they came with
	seen map[int][]int64
	next map[int]int64 // the offset to commit
}

func newRecorder(name string) *recorder {
	return &recorder{name: name, own: map[int]string{}, seen: map[int][]int64{}, next: map[int]int64{}}
}

func (r *recorder) Assigned(p int, meta string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.own[p] = meta
}

func (r *recorder) Revoked(p int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.own, p)
}

func (r *recorder) Evidence(p int, off int64, _ *detect.Evidence) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen[p] = append(r.seen[p], off)
	r.next[p] = off + 1
}

func (r *recorder) Undecodable(int, int64, error) {}

func (r *recorder) Tick(time.Time) []EvidenceCommit {
	r.mu.Lock()
	defer r.mu.Unlock()
	var cs []EvidenceCommit
	for p, off := range r.next {
		cs = append(cs, EvidenceCommit{Partition: p, Offset: off, Metadata: r.name})
	}
	clear(r.next)
	return cs
}

// total is how many records r read.
func (r *recorder) total() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, s := range r.seen {
		n += len(s)
	}
	return n
}

// publishSubjects publishes subjects(n) to topic and returns the topic's partitions, each of
// which got a heartbeat.
func publishSubjects(t *testing.T, brokers []string, topic string, n int) int {
	t.Helper()
	ctx := context.Background()
	pub, err := OpenEvidence(ctx, KafkaConfig{Brokers: brokers}, topic)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range subjects(n) {
		pub.Send(ev)
	}
	pub.Close(ctx)
	return pub.parts
}

func (r *recorder) owned() map[int]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[int]string{}
	for p, m := range r.own {
		out[p] = m
	}
	return out
}

// TestConsumerGroupShares: two members of a group (kafka-go consumer groups against the
// broker over TCP) share the partitions, each reading its own from the start; when one
// leaves, the other takes its partitions over with the metadata of its last commits and
// reads on from where it committed.
func TestConsumerGroupShares(t *testing.T) {
	b := kafkatest.Start(t, kfake.GroupMinSessionTimeout(time.Second))
	topic := kafkatest.NewTopic(t)
	kafkatest.CreateTopic(t, b.Addrs, topic, 4)
	ctx := context.Background()
	parts := publishSubjects(t, b.Addrs, topic, 40)

	cfg := ConsumerConfig{Kafka: KafkaConfig{Brokers: b.Addrs}, Topic: topic, Group: "g-" + topic, SessionTimeout: 6 * time.Second}
	start := func(name string) (*recorder, context.CancelFunc, chan error) {
		c, err := OpenEvidenceConsumer(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		r := newRecorder(name)
		cctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- c.Run(cctx, r) }()
		return r, cancel, done
	}
	one, stopOne, oneDone := start("one")
	two, stopTwo, twoDone := start("two")
	defer func() { stopTwo(); <-twoDone }()
	waitFor(t, "both members own partitions and have read every record", func() bool {
		a, b := one.owned(), two.owned()
		return len(a) > 0 && len(b) > 0 && len(a)+len(b) == parts && one.total()+two.total() == 40+parts
	})
	mine := one.owned()
	for p := range mine {
		if _, ok := two.owned()[p]; ok {
			t.Fatalf("partition %d owned by both members", p)
		}
	}
	// More records, each read and committed by the owner of its partition; then member one
	// stops, and member two takes its partitions over from member one's commits.
	publishSubjects(t, b.Addrs, topic, 40)
	waitFor(t, "every record of the second batch read", func() bool { return one.total()+two.total() == 2*(40+parts) })
	one.mu.Lock()
	readByOne := map[int][]int64{}
	for p := range mine {
		readByOne[p] = slices.Clone(one.seen[p])
	}
	one.mu.Unlock()
	client := &kafka.Client{Addr: kafka.TCP(b.Addrs...)}
	waitFor(t, "member one's commits of what it read", func() bool {
		res, err := client.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: cfg.Group, Topics: map[string][]int{topic: slices.Collect(maps.Keys(mine))}})
		if err != nil {
			return false
		}
		for _, p := range res.Topics[topic] {
			if read := readByOne[p.Partition]; len(read) > 0 && p.CommittedOffset != read[len(read)-1]+1 {
				return false
			}
		}
		return true
	})
	stopOne()
	if err := <-oneDone; err != nil {
		t.Fatal(err)
	}
	waitFor(t, "member two owns every partition", func() bool { return len(two.owned()) == parts })
	got := two.owned()
	two.mu.Lock()
	defer two.mu.Unlock()
	for p := range mine {
		if got[p] != "one" {
			t.Errorf("partition %d came to member two with metadata %q, want member one's commit", p, got[p])
		}
		for _, off := range two.seen[p] {
			if slices.Contains(readByOne[p], off) {
				t.Errorf("member two read offset %d of partition %d again, which member one had read and committed", off, p)
			}
		}
	}
	t.Logf("%d partitions: member one had %v, member two took them over", parts, slices.Sorted(maps.Keys(mine)))
}

// TestConsumerGroupWithFranzGo: a member of the aggregators' group (kafka-go's consumer
// group) and a franz-go member of the same group, both on the "range" assignor, share the
// partitions on the broker over TCP: every partition goes to exactly one of them, and
// between them they read every record once. Kafka's group protocol, not one client's, is
// what the aggregator relies on.
func TestConsumerGroupWithFranzGo(t *testing.T) {
	b := kafkatest.Start(t, kfake.GroupMinSessionTimeout(time.Second))
	topic := kafkatest.NewTopic(t)
	kafkatest.CreateTopic(t, b.Addrs, topic, 4)
	ctx := context.Background()
	const parts = 4
	group := "g-" + topic

	c, err := OpenEvidenceConsumer(ctx, ConsumerConfig{Kafka: KafkaConfig{Brokers: b.Addrs}, Topic: topic, Group: group,
		SessionTimeout: 6 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ours := newRecorder("ours")
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- c.Run(cctx, ours) }()
	defer func() { cancel(); <-done }()

	var mu sync.Mutex
	theirs := map[int32]bool{}
	read := 0
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addrs...), kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic),
		kgo.Balancers(kgo.RangeBalancer()), kgo.SessionTimeout(6*time.Second), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, m map[string][]int32) {
			mu.Lock()
			defer mu.Unlock()
			for _, p := range m[topic] {
				theirs[p] = true
			}
		}),
		kgo.OnPartitionsRevoked(func(_ context.Context, _ *kgo.Client, m map[string][]int32) {
			mu.Lock()
			defer mu.Unlock()
			for _, p := range m[topic] {
				delete(theirs, p)
			}
		}))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	pollCtx, stopPoll := context.WithCancel(ctx)
	polled := make(chan struct{})
	go func() {
		defer close(polled)
		for pollCtx.Err() == nil {
			fs := cl.PollFetches(pollCtx)
			mu.Lock()
			read += fs.NumRecords()
			mu.Unlock()
		}
	}()
	defer func() { stopPoll(); <-polled }()

	total := func() int {
		mu.Lock()
		defer mu.Unlock()
		return ours.total() + read
	}
	waitFor(t, "both members own partitions, every partition one of them", func() bool {
		mine := ours.owned()
		mu.Lock()
		defer mu.Unlock()
		for p := range mine {
			if theirs[int32(p)] {
				return false
			}
		}
		return len(mine) > 0 && len(theirs) > 0 && len(mine)+len(theirs) == parts
	})
	// The records come once the group is settled, so that no rebalance makes a member read
	// again what the other read.
	publishSubjects(t, b.Addrs, topic, 40)
	waitFor(t, "every record read", func() bool { return total() >= 40+parts })
	if n := total(); n != 40+parts {
		t.Errorf("%d records read between the two members, want %d", n, 40+parts)
	}
	mu.Lock()
	defer mu.Unlock()
	t.Logf("kafka-go member: partitions %v; franz-go member: %v", slices.Sorted(maps.Keys(ours.owned())), slices.Sorted(maps.Keys(theirs)))
}
