package sinks

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/ntpwatch/ntpwatch/internal/setting"
	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"
)

// maxKafkaBatch bounds how many queued alerts go into one WriteMessages call.
const maxKafkaBatch = 500

// kafkaSink writes alerts to one topic with kafka-go's Writer, keyed by the alert's subject
// address so that kafka.Hash puts every event of an incident on one partition, in order.
//
// Delivery is at least once. With a spool, the sink's goroutine (the intake) appends every
// alert it takes from the queue to the spool, and a second goroutine (the shipper) writes
// the spool to the brokers in order, retrying with backoff for as long as the run lasts,
// and drops what they acknowledged. The intake never waits on the network, so the queue
// drains at the speed of the disk whatever the brokers do, and nothing is lost to a full
// queue while a broker is down or frozen; what is not delivered at the end stays in the
// spool for the next run, which delivers it first. Without a spool, a batch is retried for
// RetryFor, then lost (counted). A write whose outcome is unknown (the connection broke after
// the broker stored the batch, or Close cancelled it) is written again and may reach the
// topic twice: consumers deduplicate on the alert's id and state.
type kafkaSink struct {
	cfg     KafkaConfig
	w       *kafka.Writer
	spool   *spool        // nil without kafka.spool
	wake    chan struct{} // the intake tells the shipper of new records; one slot
	attempt lastAttempt
}

// lastAttempt keeps the last error kafka-go met inside WriteMessages (it is the Writer's
// ErrorLogger): a write that a stop cancels while kafka-go waits to try again returns only
// "context canceled", and the cause, what the user must fix, is this.
type lastAttempt struct {
	mu  sync.Mutex
	msg string
}

func (l *lastAttempt) Printf(format string, args ...any) {
	l.mu.Lock()
	l.msg = fmt.Sprintf(format, args...)
	l.mu.Unlock()
}

func (l *lastAttempt) last() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.msg
}

// kafkaAccess is how every Kafka client of ntpwatch reaches the brokers (the alert sink, the
// evidence publisher, the aggregator's consumer): the TLS and SASL of the kafka settings.
type kafkaAccess struct {
	k    KafkaConfig
	tls  *tls.Config
	sasl sasl.Mechanism
}

// newKafkaAccess builds the access of k; a file it names that cannot be read is a setting's
// error.
func newKafkaAccess(k KafkaConfig) (kafkaAccess, error) {
	tlsCfg, err := tlsConfig(k.TLS)
	if err != nil {
		return kafkaAccess{}, settingError{err}
	}
	mech, err := saslMechanism(k.SASL)
	if err != nil {
		return kafkaAccess{}, settingError{err}
	}
	return kafkaAccess{k: k, tls: tlsCfg, sasl: mech}, nil
}

// transport is for kafka-go's Writer and Client.
func (a kafkaAccess) transport() *kafka.Transport {
	return &kafka.Transport{ClientID: a.k.ClientID, DialTimeout: a.k.DialTimeout, TLS: a.tls, SASL: a.sasl}
}

// dialer is for kafka-go's connections, Readers and consumer groups.
func (a kafkaAccess) dialer() *kafka.Dialer {
	return &kafka.Dialer{ClientID: a.k.ClientID, Timeout: a.k.DialTimeout, TLS: a.tls, SASLMechanism: a.sasl, DualStack: true}
}

// openKafka checks that a broker answers, then delivers what an earlier run spooled.
func openKafka(ctx context.Context, k KafkaConfig) (*kafkaSink, error) {
	acc, err := newKafkaAccess(k)
	if err != nil {
		return nil, err
	}
	if _, err := checkBrokers(ctx, acc); err != nil {
		return nil, err
	}
	codec, _ := compressionCodec(k.Compression) // Validate checked both
	acks, _ := requiredAcks(k.Acks)
	s := &kafkaSink{cfg: k, wake: make(chan struct{}, 1)}
	s.w = &kafka.Writer{
		Addr:     kafka.TCP(k.Brokers...),
		Topic:    k.Topic,
		Balancer: &kafka.Hash{},
		// MaxAttempts and the backoffs are kafka-go's retries inside one WriteMessages; the
		// sink's own retries around it (RetryFor) outlast a broker restart.
		MaxAttempts:            3,
		WriteBackoffMin:        k.BackoffMin,
		WriteBackoffMax:        k.BackoffMax,
		BatchSize:              maxKafkaBatch,
		BatchTimeout:           k.BatchTimeout,
		RequiredAcks:           acks,
		Compression:            codec,
		AllowAutoTopicCreation: true,
		ErrorLogger:            &s.attempt,
		Transport:              acc.transport(),
	}
	if k.Spool != "" {
		// The earlier runs' alerts are at the head of the spool: the shipper delivers them
		// before this run's.
		if s.spool, err = openSpool(k.Spool); err != nil {
			s.w.Close()
			return nil, settingError{err}
		}
	}
	return s, nil
}

// opened reports what Open found in the earlier runs' spool: the alerts waiting in it, and
// lines that could not be read back (cut short by a crash), which are lost.
func (s *kafkaSink) opened() (backlog, unreadable uint64, err error) {
	if s.spool == nil {
		return 0, 0, nil
	}
	if s.spool.bad > 0 {
		err = setting.Errorf("kafka.spool", s.spool.path, "%d unreadable lines skipped", s.spool.bad)
	}
	return s.spool.old, s.spool.bad, err
}

// checkBrokers asks each broker in turn for the topic's partitions until one answers, all
// within DialTimeout, which also bounds a broker that accepts connections and then says
// nothing, and returns how many the topic has (0 while it is being created). It asks for the
// topic's metadata rather than just connecting so that a wrong password or a missing topic is
// found now, not at the first alert. Its errors name the settings by their keys, the topic's
// being kafka.topic: a caller for another topic renames it.
func checkBrokers(ctx context.Context, acc kafkaAccess) (partitions int, err error) {
	k := acc.k
	ctx, cancel := context.WithTimeout(ctx, k.DialTimeout)
	defer cancel()
	d := acc.dialer()
	var errs []error
	for _, b := range k.Brokers {
		n, err := askPartitions(ctx, d, b, k.Topic)
		if err == nil {
			return n, nil
		}
		if errors.Is(err, kafka.SASLAuthenticationFailed) {
			return 0, setting.Errorf("kafka.sasl.user", k.SASL.User, "%s refused the credentials: %w", b, err)
		}
		if errors.Is(err, kafka.UnknownTopicOrPartition) {
			return 0, setting.Errorf("kafka.topic", k.Topic, "no such topic on %s and the cluster does not create topics on first use: create it", b)
		}
		if errors.Is(err, kafka.TopicAuthorizationFailed) {
			return 0, setting.Errorf("kafka.topic", k.Topic, "not authorized on %s: %w", b, err)
		}
		errs = append(errs, err)
	}
	return 0, setting.Errorf("kafka.brokers", strings.Join(k.Brokers, ","), "no broker answered within %v: %w",
		k.DialTimeout, errs[0])
}

func askPartitions(ctx context.Context, d *kafka.Dialer, broker, topic string) (int, error) {
	conn, err := d.DialContext(ctx, "tcp", broker)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	ps, err := conn.ReadPartitions(topic)
	// A topic being auto-created has no leader for a moment; the Writer waits for it.
	if errors.Is(err, kafka.LeaderNotAvailable) {
		return 0, nil
	}
	return len(ps), err
}

// tlsConfig builds the TLS client configuration, or nil when TLS is off.
func tlsConfig(t TLSConfig) (*tls.Config, error) {
	if !t.enabled() {
		return nil, nil
	}
	c := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: t.Insecure} //nolint:gosec // only when asked for (kafka.tls.insecure)
	if t.CA != "" {
		pem, err := os.ReadFile(t.CA)
		if err != nil {
			return nil, &setting.Error{Key: "kafka.tls.ca", Err: err}
		}
		c.RootCAs = x509.NewCertPool()
		if !c.RootCAs.AppendCertsFromPEM(pem) {
			return nil, setting.Errorf("kafka.tls.ca", t.CA, "no PEM certificate in the file")
		}
	}
	if t.Cert != "" {
		cert, err := tls.LoadX509KeyPair(t.Cert, t.Key)
		if err != nil {
			return nil, setting.Errorf("kafka.tls.cert", t.Cert, "with kafka.tls.key %s: %w", t.Key, err)
		}
		c.Certificates = []tls.Certificate{cert}
	}
	return c, nil
}

// saslMechanism builds the SASL mechanism, or nil without one.
func saslMechanism(c SASLConfig) (sasl.Mechanism, error) {
	switch strings.ToLower(c.Mechanism) {
	case "":
		return nil, nil
	case "plain":
		return plain.Mechanism{Username: c.User, Password: c.Password}, nil
	case "scram-sha-256":
		return scramMechanism(scram.SHA256, c)
	default: // scram-sha-512, as Validate allows nothing else
		return scramMechanism(scram.SHA512, c)
	}
}

func scramMechanism(algo scram.Algorithm, c SASLConfig) (sasl.Mechanism, error) {
	m, err := scram.Mechanism(algo, c.User, c.Password)
	if err != nil {
		return nil, &setting.Error{Key: "kafka.sasl.password", Err: err}
	}
	return m, nil
}

// maxSpoolBatch bounds how many queued alerts the intake appends to the spool in one write.
const maxSpoolBatch = 4096

// run takes the queue until it is closed. With a spool it appends every alert to it and
// leaves the brokers to the shipper; without one it writes to the brokers itself.
func (s *kafkaSink) run(ctx context.Context, q <-chan message, c *counters) {
	if s.spool == nil {
		s.runDirect(ctx, q, c)
		return
	}
	intakeDone, shipped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(shipped)
		s.ship(ctx, c, intakeDone)
	}()
	for m := range q {
		batch := gather(m, q, maxSpoolBatch)
		if err := s.spool.append(batch); err != nil {
			c.fail(err) // lost: counted by their absence from delivered and spooled
			c.given.Add(uint64(len(batch)))
			continue
		}
		c.spooled.Add(uint64(len(batch)))
		select {
		case s.wake <- struct{}{}:
		default: // the shipper has a wake-up waiting already
		}
	}
	close(intakeDone)
	<-shipped
}

// ship writes the spool to the brokers, oldest first, until the intake is done and the spool
// delivered, or ctx ends (Close ran out of time). A batch the brokers refuse is tried again
// after a backoff from BackoffMin doubling to BackoffMax, and the spool is synced, as its
// alerts may now outlive the run. Once the intake is done, a refusal ends the shipping: what
// remains stays in the spool for the next run, and a stop does not wait on a broker that is
// down.
func (s *kafkaSink) ship(ctx context.Context, c *counters, intakeDone <-chan struct{}) {
	backoff := s.cfg.BackoffMin
	for {
		msgs, ends, err := s.spool.next(maxKafkaBatch)
		if err == nil && len(msgs) == 0 {
			select {
			case <-s.wake:
				continue
			case <-intakeDone:
				if s.spool.pending() {
					continue
				}
				return
			case <-ctx.Done():
				return
			}
		}
		var n int
		if err == nil {
			n, err = s.write(ctx, msgs)
			if err != nil {
				err = fmt.Errorf("kafka %s: %w", s.cfg.Topic, err)
			}
		}
		old, cur, cerr := s.spool.consume(n, ends)
		c.replayed.Add(old)
		if old > 0 {
			c.backlog.Add(^(old - 1)) // subtract: delivered from the backlog
		}
		c.delivered.Add(cur)
		if cur > 0 {
			c.spooled.Add(^(cur - 1)) // subtract: those alerts left the spool for the topic
		}
		if err = errors.Join(err, cerr); err == nil {
			backoff = s.cfg.BackoffMin
			continue
		}
		if ctx.Err() != nil {
			return
		}
		c.fail(err)
		if serr := s.spool.sync(); serr != nil {
			c.fail(serr)
		}
		select {
		case <-ctx.Done():
			return
		case <-intakeDone:
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, s.cfg.BackoffMax)
	}
}

// runDirect is run without a spool: each batch is retried for RetryFor, then lost.
func (s *kafkaSink) runDirect(ctx context.Context, q <-chan message, c *counters) {
	for m := range q {
		s.deliver(ctx, gather(m, q, maxKafkaBatch), c)
	}
}

// gather returns m with whatever else is queued, up to max, without waiting.
func gather(m message, q <-chan message, max int) []message {
	batch := []message{m}
	for len(batch) < max {
		select {
		case m, ok := <-q:
			if !ok {
				return batch
			}
			batch = append(batch, m)
		default:
			return batch
		}
	}
	return batch
}

// deliver writes batch, retrying for RetryFor or until ctx ends; what it cannot deliver is
// lost.
func (s *kafkaSink) deliver(ctx context.Context, batch []message, c *counters) {
	deadline := time.Now().Add(s.cfg.RetryFor)
	backoff := s.cfg.BackoffMin
	for {
		n, err := s.write(ctx, batch)
		c.delivered.Add(uint64(n))
		if err == nil {
			return
		}
		batch = batch[n:]
		c.fail(fmt.Errorf("kafka %s: %w", s.cfg.Topic, err))
		if ctx.Err() != nil || !time.Now().Add(backoff).Before(deadline) {
			c.given.Add(uint64(len(batch)))
			return
		}
		select {
		case <-ctx.Done():
			c.given.Add(uint64(len(batch)))
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, s.cfg.BackoffMax)
	}
}

// write writes batch once. On error it keeps the order of what failed by counting as
// delivered only the messages before the first failure, even when kafka-go reports some later
// ones (on other partitions) as written: those are written again, at least once.
func (s *kafkaSink) write(ctx context.Context, batch []message) (int, error) {
	msgs := make([]kafka.Message, len(batch))
	for i, m := range batch {
		msgs[i] = kafka.Message{Key: m.key, Value: m.value, Headers: m.meta.headers(), Time: m.meta.ts}
	}
	err := s.w.WriteMessages(ctx, msgs...)
	if err == nil {
		return len(batch), nil
	}
	if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		if last := s.attempt.last(); last != "" {
			err = fmt.Errorf("stopped while retrying (%w) after %s", err, last)
		}
	}
	var we kafka.WriteErrors
	if errors.As(err, &we) && len(we) == len(batch) {
		for i, e := range we {
			if e != nil {
				return i, e
			}
		}
		return len(batch), nil
	}
	return 0, err
}

// headers are the message headers of an alert: its schema, kind, state and severity, for
// consumers that route or filter without parsing the value (Kafka Connect, ksqlDB, Logstash's
// kafka input with decorate_events). Empty ones (an alert spooled by an older version) are
// left out.
func (m messageMeta) headers() []kafka.Header {
	var h []kafka.Header
	for _, kv := range [...][2]string{{"schema", m.schema}, {"kind", m.kind}, {"state", m.state}, {"severity", m.severity}} {
		if kv[1] != "" {
			h = append(h, kafka.Header{Key: kv[0], Value: []byte(kv[1])})
		}
	}
	return h
}

// writerCloseWait bounds the wait for kafka-go's Writer.Close, which waits for the writes
// in flight: to a frozen broker (connections open, nothing answering) that is its write
// timeouts, tens of seconds. Every alert it holds is in the spool or counted already, so
// the writer is left to finish on its own.
const writerCloseWait = 250 * time.Millisecond

// close settles the spool (emptied, or compacted, or synced) and closes the writer, without
// waiting on a broker that does not answer.
func (s *kafkaSink) close() error {
	var err error
	if s.spool != nil {
		err = s.spool.finish()
	}
	closed := make(chan struct{})
	go func() {
		s.w.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(writerCloseWait):
	}
	return err
}

// compressionCodec maps --kafka-compression to kafka-go's codec; 0 is none.
func compressionCodec(name string) (kafka.Compression, error) {
	switch strings.ToLower(name) {
	case "", "none":
		return 0, nil
	case "gzip":
		return kafka.Gzip, nil
	case "snappy":
		return kafka.Snappy, nil
	case "lz4":
		return kafka.Lz4, nil
	case "zstd":
		return kafka.Zstd, nil
	}
	return 0, fmt.Errorf("unknown compression %q (want none, gzip, snappy, lz4 or zstd)", name)
}

// requiredAcks maps --kafka-acks to kafka-go's setting. The default is all: kafka-go's own
// zero value, RequireNone, would report success for alerts no broker stored.
func requiredAcks(name string) (kafka.RequiredAcks, error) {
	switch strings.ToLower(name) {
	case "", "all", "-1":
		return kafka.RequireAll, nil
	case "one", "1":
		return kafka.RequireOne, nil
	case "none", "0":
		return kafka.RequireNone, nil
	}
	return 0, fmt.Errorf("unknown acks %q (want all, one or none)", name)
}
