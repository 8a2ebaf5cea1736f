package sinks

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/ntpwatch/ntpwatch/detect"
	"github.com/segmentio/kafka-go"
)

// EvidenceHandler is what an EvidenceConsumer feeds: the fleet aggregator, through the run
// loop of internal/pipeline. Its methods run on the consumer's goroutine, one at a time.
type EvidenceHandler interface {
	// Assigned gives the handler a partition, with the metadata of its last commit ("" for
	// none); Revoked takes it back, when the group's members change.
	Assigned(partition int, metadata string)
	Revoked(partition int)
	// Evidence is a record read from a partition, in offset order; the handler keeps ev.
	Evidence(partition int, offset int64, ev *detect.Evidence)
	// Undecodable is a record that is not evidence, skipped.
	Undecodable(partition int, offset int64, err error)
	// Tick is called after every batch of records and at least every TickEvery: it returns
	// the progress to commit, which must not run ahead of what the handler has delivered.
	Tick(now time.Time) []EvidenceCommit
}

// EvidenceCommit is a partition's offset to resume from and the state to resume with.
type EvidenceCommit struct {
	Partition int
	Offset    int64
	Metadata  string
}

// TickEvery bounds the time between two Ticks of an EvidenceHandler.
const TickEvery = 250 * time.Millisecond

// ConsumerConfig is what an aggregator member reads.
type ConsumerConfig struct {
	Kafka KafkaConfig // brokers, TLS, SASL, client id, dial timeout: the output's kafka settings
	Topic string      // the evidence topic
	Group string      // the consumer group's id: members of one group share the partitions
	// SessionTimeout is how long the group waits for a member that stopped answering before
	// its partitions go to the others.
	SessionTimeout time.Duration
}

// DefaultSessionTimeout is the session timeout of an aggregator member: a member killed
// loses its partitions to the others within it (Kafka's brokers allow 6 s to 5 min).
const DefaultSessionTimeout = 10 * time.Second

// EvidenceConsumer reads the evidence topic as a member of a consumer group (kafka-go's
// ConsumerGroup): the group's members share the topic's partitions, and when one leaves or
// dies the others take its partitions over from their last commits. Each assigned partition
// is read by its own kafka-go Reader from its committed offset (the topic's start when it has
// none); commits carry metadata, which kafka-go's generations cannot, so they go through its
// Client with the generation's id.
type EvidenceConsumer struct {
	cfg    ConsumerConfig
	acc    kafkaAccess
	group  *kafka.ConsumerGroup
	client *kafka.Client
}

// OpenEvidenceConsumer checks within DialTimeout that a broker answers for the topic and joins
// the group. Errors name the settings by their keys (fleet.evidence_topic for the topic).
func OpenEvidenceConsumer(ctx context.Context, cfg ConsumerConfig) (*EvidenceConsumer, error) {
	cfg.Kafka = Config{Kafka: cfg.Kafka}.withDefaults().Kafka
	cfg.Kafka.Topic = cfg.Topic
	if cfg.SessionTimeout == 0 {
		cfg.SessionTimeout = DefaultSessionTimeout
	}
	acc, err := newKafkaAccess(cfg.Kafka)
	if err != nil {
		return nil, err
	}
	if _, err := checkBrokers(ctx, acc); err != nil {
		return nil, evidenceTopic(err)
	}
	g, err := kafka.NewConsumerGroup(kafka.ConsumerGroupConfig{
		ID: cfg.Group, Brokers: cfg.Kafka.Brokers, Dialer: acc.dialer(), Topics: []string{cfg.Topic},
		SessionTimeout: cfg.SessionTimeout, HeartbeatInterval: cfg.SessionTimeout / 5,
		RebalanceTimeout: cfg.SessionTimeout, JoinGroupBackoff: time.Second, WatchPartitionChanges: true,
		PartitionWatchInterval: refreshPartitions, StartOffset: kafka.FirstOffset,
	})
	if err != nil {
		return nil, err
	}
	return &EvidenceConsumer{cfg: cfg, acc: acc, group: g,
		client: &kafka.Client{Addr: kafka.TCP(cfg.Kafka.Brokers...), Timeout: cfg.Kafka.DialTimeout, Transport: acc.transport()}}, nil
}

// fetched is a record read from a partition.
type fetched struct {
	partition int
	msg       kafka.Message
}

// Run consumes until ctx ends, generation after generation of the group, then leaves the
// group. It returns an error only when the group cannot go on (the brokers refuse it); a
// failed commit is retried at the next Tick.
func (c *EvidenceConsumer) Run(ctx context.Context, h EvidenceHandler) error {
	defer c.group.Close()
	for {
		gen, err := c.group.Next(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, kafka.ErrGroupClosed):
			return nil
		case err != nil:
			// kafka-go joins again by itself after JoinGroupBackoff; a refusal that lasts
			// (an authorization) ends the run.
			if errors.Is(err, kafka.GroupAuthorizationFailed) || errors.Is(err, kafka.TopicAuthorizationFailed) {
				return fmt.Errorf("consumer group %s: %w", c.cfg.Group, err)
			}
			continue
		}
		done := make(chan struct{})
		gen.Start(func(gctx context.Context) {
			defer close(done)
			c.generation(ctx, gctx, gen, h)
		})
		<-done
	}
}

// generation reads the partitions gen assigns until it ends (a rebalance) or ctx does.
func (c *EvidenceConsumer) generation(ctx, gctx context.Context, gen *kafka.Generation, h EvidenceHandler) {
	var parts []int
	offsets := map[int]int64{}
	for _, a := range gen.Assignments[c.cfg.Topic] {
		parts = append(parts, a.ID)
		offsets[a.ID] = a.Offset
	}
	slices.Sort(parts)
	meta := c.metadata(gctx, parts)
	for _, p := range parts {
		h.Assigned(p, meta[p])
	}
	rctx, stop := context.WithCancel(gctx)
	in := make(chan fetched, 256)
	var wg sync.WaitGroup
	for _, p := range parts {
		wg.Go(func() { c.read(rctx, p, offsets[p], in) })
	}
	defer func() {
		stop()
		wg.Wait()
		for _, p := range parts {
			h.Revoked(p)
		}
	}()
	tick := time.NewTicker(TickEvery)
	defer tick.Stop()
	retry := map[int]EvidenceCommit{} // commits that failed, until a later one replaces them
	for {
		select {
		case <-ctx.Done():
			return
		case <-gctx.Done():
			return
		case f := <-in:
			c.handle(h, f)
			for more := true; more; {
				select {
				case f := <-in:
					c.handle(h, f)
				default:
					more = false
				}
			}
		case <-tick.C:
		}
		for _, x := range h.Tick(time.Now()) {
			retry[x.Partition] = x
		}
		if len(retry) > 0 && c.commit(gctx, gen, slices.Collect(maps.Values(retry))) == nil {
			clear(retry)
		}
	}
}

func (c *EvidenceConsumer) handle(h EvidenceHandler, f fetched) {
	ev, err := DecodeEvidence(f.msg.Value)
	if err != nil {
		h.Undecodable(f.partition, f.msg.Offset, err)
		return
	}
	h.Evidence(f.partition, f.msg.Offset, &ev)
}

// read reads partition p from offset until ctx ends.
func (c *EvidenceConsumer) read(ctx context.Context, p int, offset int64, out chan<- fetched) {
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers: c.cfg.Kafka.Brokers, Topic: c.cfg.Topic, Partition: p, Dialer: c.acc.dialer(),
		MinBytes: 1, MaxBytes: 10 << 20, MaxWait: TickEvery, ReadBackoffMin: 100 * time.Millisecond,
	})
	defer r.Close()
	if offset < 0 {
		offset = kafka.FirstOffset
	}
	if err := r.SetOffset(offset); err != nil {
		return
	}
	for {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			return // ctx ended; kafka-go retries the rest itself
		}
		select {
		case out <- fetched{p, m}:
		case <-ctx.Done():
			return
		}
	}
}

// metadata fetches the metadata of the partitions' last commits.
func (c *EvidenceConsumer) metadata(ctx context.Context, parts []int) map[int]string {
	meta := map[int]string{}
	if len(parts) == 0 {
		return meta
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Kafka.DialTimeout)
	defer cancel()
	res, err := c.client.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: c.cfg.Group, Topics: map[string][]int{c.cfg.Topic: parts}})
	if err != nil {
		return meta
	}
	for _, p := range res.Topics[c.cfg.Topic] {
		if p.Error == nil && p.CommittedOffset >= 0 {
			meta[p.Partition] = p.Metadata
		}
	}
	return meta
}

// commit commits the handler's progress in the generation. A commit the coordinator refuses
// is tried again at the next tick, unless a later one replaces it; when the generation has
// ended, the next owner of the partition reads from the last commit that went through.
func (c *EvidenceConsumer) commit(ctx context.Context, gen *kafka.Generation, cs []EvidenceCommit) error {
	oc := make([]kafka.OffsetCommit, len(cs))
	for i, x := range cs {
		oc[i] = kafka.OffsetCommit{Partition: x.Partition, Offset: x.Offset, Metadata: x.Metadata}
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Kafka.DialTimeout)
	defer cancel()
	res, err := c.client.OffsetCommit(ctx, &kafka.OffsetCommitRequest{GroupID: c.cfg.Group, GenerationID: int(gen.ID),
		MemberID: gen.MemberID, Topics: map[string][]kafka.OffsetCommit{c.cfg.Topic: oc}})
	if err != nil {
		return err
	}
	for _, p := range res.Topics[c.cfg.Topic] {
		if p.Error != nil {
			return p.Error
		}
	}
	return nil
}
