package sinks

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ntpwatch/ntpwatch/detect"
	"github.com/ntpwatch/ntpwatch/internal/setting"
	"github.com/segmentio/kafka-go"
)

// Evidence is published with Murmur2, Kafka's default partitioner (Java's client, franz-go's
// and librdkafka's murmur2 agree), so that whatever client writes or reads the topic a
// subject's records share a partition; kafka-go's own Hash balancer puts most keys elsewhere.
// Heartbeats carry the partition they are for in this header and go to every partition.
const partitionHeader = "partition"

// evidenceQueue bounds the records waiting for the publisher: a window's records and its
// heartbeat come at once, at most detect's max roles of them.
const evidenceQueue = 2 * detect.DefaultEvidenceMaxRoles

// refreshPartitions is how often the publisher asks again how many partitions the topic
// has, so that heartbeats reach partitions added meanwhile.
const refreshPartitions = 30 * time.Second

// EvidencePublisher publishes a sensor's evidence (docs/fleet.md) to a Kafka topic: each
// record keyed by its subject's address, each window's heartbeat to every partition. It
// numbers the records: Run is when it opened, Seq counts from 1. Send never blocks; a record
// the queue has no room for, or that the brokers refuse for RetryFor, is lost and counted:
// evidence is worth little once its window has closed, so it is not spooled.
//
// Threading: Send is called from one goroutine (the analysis goroutine); Stats from any.
type EvidencePublisher struct {
	acc    kafkaAccess
	w      *kafka.Writer
	q      chan *detect.Evidence
	run    uint64
	seq    uint64
	parts  int       // the topic's partitions, as last asked
	asked  time.Time // when
	ctx    context.Context
	stop   context.CancelFunc
	done   chan struct{}
	closed atomic.Bool

	records, heartbeats, windows, bytes, lost, maxWindow atomic.Uint64
	windowBytes                                          uint64 // of the window being published
	mu                                                   sync.Mutex
	lastErr                                              error
}

// OpenEvidence checks within DialTimeout that a broker answers for topic (created on first
// use where the cluster allows) and starts the publisher. k gives the brokers, TLS and SASL
// (the output's kafka settings); its topic is replaced by topic, whose errors name the key
// fleet.evidence_topic.
func OpenEvidence(ctx context.Context, k KafkaConfig, topic string) (*EvidencePublisher, error) {
	k = Config{Kafka: k}.withDefaults().Kafka
	k.Topic = topic
	acc, err := newKafkaAccess(k)
	if err != nil {
		return nil, err
	}
	parts, err := checkBrokers(ctx, acc)
	if err != nil {
		return nil, evidenceTopic(err)
	}
	p := &EvidencePublisher{acc: acc, q: make(chan *detect.Evidence, evidenceQueue), run: uint64(time.Now().UnixNano()),
		parts: parts, asked: time.Now(), done: make(chan struct{})}
	acks, _ := requiredAcks(k.Acks)
	codec, _ := compressionCodec(k.Compression)
	p.w = &kafka.Writer{
		Addr: kafka.TCP(k.Brokers...), Topic: topic, Balancer: evidenceBalancer{},
		MaxAttempts: 3, WriteBackoffMin: k.BackoffMin, WriteBackoffMax: k.BackoffMax,
		BatchSize: maxKafkaBatch, BatchTimeout: k.BatchTimeout, RequiredAcks: acks, Compression: codec,
		AllowAutoTopicCreation: true, Transport: acc.transport(),
	}
	p.ctx, p.stop = context.WithCancel(context.Background())
	go p.loop()
	return p, nil
}

// evidenceTopic names the evidence topic's key in an error of checkBrokers.
func evidenceTopic(err error) error {
	var se *setting.Error
	if errors.As(err, &se) && se.Key == "kafka.topic" {
		se.Key = "fleet.evidence_topic"
	}
	return err
}

// evidenceBalancer is Murmur2 for records, and the partition of its header for a heartbeat.
type evidenceBalancer struct{}

func (evidenceBalancer) Balance(msg kafka.Message, partitions ...int) int {
	for _, h := range msg.Headers {
		if h.Key == partitionHeader {
			if n, err := strconv.Atoi(string(h.Value)); err == nil && slices.Contains(partitions, n) {
				return n
			}
		}
	}
	return kafka.Murmur2Balancer{Consistent: true}.Balance(msg, partitions...)
}

// Send queues a record, numbering it. It never blocks.
func (p *EvidencePublisher) Send(ev *detect.Evidence) {
	p.seq++
	ev.Run, ev.Seq = p.run, p.seq
	if p.closed.Load() {
		p.lost.Add(1)
		return
	}
	select {
	case p.q <- ev:
	default:
		p.lost.Add(1)
	}
}

// loop publishes the queue until Close closes it.
func (p *EvidencePublisher) loop() {
	defer close(p.done)
	for ev := range p.q {
		batch := []*detect.Evidence{ev}
	gather:
		for len(batch) < maxKafkaBatch {
			select {
			case ev, ok := <-p.q:
				if !ok {
					break gather
				}
				batch = append(batch, ev)
			default:
				break gather
			}
		}
		p.publish(batch)
	}
}

// publish writes a batch, retrying for RetryFor or until Close gives up.
func (p *EvidencePublisher) publish(batch []*detect.Evidence) {
	var msgs []kafka.Message
	var n [2]uint64 // records, heartbeats
	var ends []uint64
	for _, ev := range batch {
		value := AppendEvidence(nil, ev)
		h := []kafka.Header{{Key: "schema", Value: []byte(EvidenceSchema)}}
		if !ev.Heartbeat {
			key := ev.Subject.AppendTo(nil)
			msgs = append(msgs, kafka.Message{Key: key, Value: value, Headers: append(h, kafka.Header{Key: "type", Value: []byte(evidenceSubject)})})
			n[0]++
			p.windowBytes += uint64(len(key) + len(value))
			continue
		}
		h = append(h, kafka.Header{Key: "type", Value: []byte(evidenceHeartbeat)})
		for part := range p.partitions() {
			msgs = append(msgs, kafka.Message{Value: value, Headers: append(slices.Clip(h),
				kafka.Header{Key: partitionHeader, Value: strconv.AppendInt(nil, int64(part), 10)})})
			p.windowBytes += uint64(len(value))
		}
		n[1]++
		ends = append(ends, p.windowBytes)
		p.windowBytes = 0
	}
	deadline := time.Now().Add(p.acc.k.RetryFor)
	backoff := p.acc.k.BackoffMin
	for {
		err := p.w.WriteMessages(p.ctx, msgs...)
		if err == nil {
			break
		}
		p.fail(err)
		if p.ctx.Err() != nil || !time.Now().Add(backoff).Before(deadline) {
			p.lost.Add(uint64(len(batch)))
			return
		}
		select {
		case <-p.ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, p.acc.k.BackoffMax)
	}
	p.records.Add(n[0])
	p.heartbeats.Add(n[1])
	p.windows.Add(uint64(len(ends)))
	for _, b := range ends {
		p.bytes.Add(b)
		if b > p.maxWindow.Load() {
			p.maxWindow.Store(b)
		}
	}
}

// partitions is how many partitions the topic has: asked again every refreshPartitions, and
// while the topic, created on first use, has none yet. At least 1.
func (p *EvidencePublisher) partitions() int {
	if p.parts > 0 && time.Since(p.asked) < refreshPartitions {
		return p.parts
	}
	ctx, cancel := context.WithTimeout(p.ctx, p.acc.k.DialTimeout)
	defer cancel()
	for _, b := range p.acc.k.Brokers {
		if n, err := askPartitions(ctx, p.acc.dialer(), b, p.acc.k.Topic); err == nil && n > 0 {
			p.parts, p.asked = n, time.Now()
			break
		}
	}
	return max(p.parts, 1)
}

func (p *EvidencePublisher) fail(err error) {
	p.mu.Lock()
	p.lastErr = err
	p.mu.Unlock()
}

// EvidenceReport is what a publisher did.
type EvidenceReport struct {
	Records, Heartbeats uint64 // published
	Windows             uint64 // windows whose heartbeat was published
	Bytes               uint64 // keys and values published, heartbeats included
	MaxWindowBytes      uint64 // the most bytes of one window's records and heartbeats
	Lost                uint64 // records and heartbeats not published
	Err                 error  // the last error the brokers gave
}

// String is the report in one line for the summary.
func (r EvidenceReport) String() string {
	s := fmt.Sprintf("evidence: %s in %s, %d bytes (at most %d a window), %d lost",
		plural(r.Records, "record"), plural(r.Windows, "window"), r.Bytes, r.MaxWindowBytes, r.Lost)
	if r.Err != nil && r.Lost > 0 {
		s += " (" + r.Err.Error() + ")"
	}
	return s
}

// Stats is the report so far.
func (p *EvidencePublisher) Stats() EvidenceReport {
	p.mu.Lock()
	err := p.lastErr
	p.mu.Unlock()
	return EvidenceReport{Records: p.records.Load(), Heartbeats: p.heartbeats.Load(), Windows: p.windows.Load(),
		Bytes: p.bytes.Load(), MaxWindowBytes: p.maxWindow.Load(), Lost: p.lost.Load(), Err: err}
}

// Close publishes what is queued, giving up when ctx ends (what remains is lost), and
// reports. Call it once, after the last Send.
func (p *EvidencePublisher) Close(ctx context.Context) EvidenceReport {
	p.closed.Store(true)
	close(p.q)
	select {
	case <-p.done:
	case <-ctx.Done():
		p.stop()
		<-p.done
	}
	p.stop()
	closed := make(chan struct{})
	go func() { p.w.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(writerCloseWait):
	}
	return p.Stats()
}

// plural is n things, in the singular for one.
func plural(n uint64, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}
