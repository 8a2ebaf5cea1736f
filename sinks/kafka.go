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
// Delivery is at least once. A batch the brokers refuse is retried with exponential backoff
// for RetryFor, then appended to the spool; from then on new alerts join the spool behind it,
// so that per-key order holds, while the sink keeps trying to deliver the spool. What Close
// cannot deliver stays in the spool for the next Open. A write whose outcome is unknown (the
// connection broke after the broker stored the batch, or Close cancelled it) is retried or
// spooled and may reach the topic twice: consumers deduplicate on the alert's id and state.
type kafkaSink struct {
	cfg     KafkaConfig
	w       *kafka.Writer
	spool   *spool // nil without --spool
	replay  uint64 // alerts of earlier runs delivered by Open
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
	s := &kafkaSink{cfg: k}
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
		s.spool = &spool{path: k.Spool}
		if err := s.spool.open(); err != nil {
			s.w.Close()
			return nil, err
		}
		// Deliver the earlier runs' alerts before this run's. When the brokers take them
		// only partly, run keeps trying before anything new.
		ctx, cancel := context.WithTimeout(ctx, k.RetryFor)
		s.replay, _ = s.drain(ctx, nil)
		cancel()
	}
	return s, nil
}

// opened reports what Open did with the earlier runs' spool: alerts delivered, and lines that
// could not be read back (cut short by a crash), which are lost.
func (s *kafkaSink) opened() (replayed, unreadable uint64, err error) {
	if s.spool == nil || s.spool.bad == 0 {
		return s.replay, 0, nil
	}
	return s.replay, s.spool.bad, setting.Errorf("kafka.spool", s.spool.path, "%d unreadable lines skipped", s.spool.bad)
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

// run delivers the queue in batches, spooling what the brokers will not take.
func (s *kafkaSink) run(ctx context.Context, q <-chan message, c *counters) {
	backoff := s.cfg.BackoffMin
	retry := time.NewTimer(0)
	defer retry.Stop()
	for {
		if s.spool.pending() {
			// Spool mode: new alerts queue up behind the spooled ones.
			select {
			case m, ok := <-q:
				if !ok {
					if ctx.Err() == nil {
						s.drain(ctx, c)
					}
					return
				}
				s.toSpool(gather(m, q), c)
				continue
			case <-retry.C:
			}
			if _, err := s.drain(ctx, c); err != nil {
				backoff = min(2*backoff, s.cfg.BackoffMax)
			} else {
				backoff = s.cfg.BackoffMin
			}
			retry.Reset(backoff)
			continue
		}
		m, ok := <-q
		if !ok {
			return
		}
		if rest := s.deliver(ctx, gather(m, q), c); len(rest) > 0 {
			s.toSpool(rest, c)
			backoff = s.cfg.BackoffMin
			retry.Reset(backoff)
		}
	}
}

// gather returns m with whatever else is queued, up to maxKafkaBatch, without waiting.
func gather(m message, q <-chan message) []message {
	batch := []message{m}
	for len(batch) < maxKafkaBatch {
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

// deliver writes batch, retrying for RetryFor or until ctx ends, and returns what could not be
// delivered. c is nil for the spool's replay at Open.
func (s *kafkaSink) deliver(ctx context.Context, batch []message, c *counters) []message {
	deadline := time.Now().Add(s.cfg.RetryFor)
	backoff := s.cfg.BackoffMin
	for {
		n, err := s.write(ctx, batch)
		if c != nil {
			c.delivered.Add(uint64(n))
		}
		if err == nil {
			return nil
		}
		batch = batch[n:]
		if c != nil {
			c.fail(fmt.Errorf("kafka %s: %w", s.cfg.Topic, err))
		}
		if ctx.Err() != nil || !time.Now().Add(backoff).Before(deadline) {
			return batch
		}
		select {
		case <-ctx.Done():
			return batch
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

// toSpool appends msgs to the spool; without one, or when the append fails, they are lost
// (counted by their absence from delivered and spooled).
func (s *kafkaSink) toSpool(msgs []message, c *counters) {
	if s.spool == nil {
		c.given.Add(uint64(len(msgs)))
		return
	}
	if err := s.spool.append(msgs); err != nil {
		c.fail(err)
		c.given.Add(uint64(len(msgs)))
		return
	}
	c.spooled.Add(uint64(len(msgs)))
}

// drain delivers the spool from its start, in batches, and keeps in the spool what remains.
// It returns how many of the delivered alerts came from earlier runs. c is nil at Open.
func (s *kafkaSink) drain(ctx context.Context, c *counters) (uint64, error) {
	msgs, err := s.spool.load()
	if err != nil {
		if c != nil {
			c.fail(err)
		}
		return 0, err
	}
	done := 0
	for done < len(msgs) && err == nil {
		end := min(done+maxKafkaBatch, len(msgs))
		var n int
		n, err = s.write(ctx, msgs[done:end])
		done += n
	}
	if err != nil && c != nil {
		c.fail(fmt.Errorf("kafka %s: spool: %w", s.cfg.Topic, err))
	}
	old, cur, kerr := s.spool.consume(done)
	if c != nil {
		c.replayed.Add(old)
		c.delivered.Add(cur)
		c.spooled.Add(^(cur - 1)) // subtract: those alerts left the spool for the topic
		if kerr != nil {
			c.fail(kerr)
		}
	}
	return old, errors.Join(err, kerr)
}

// writerCloseWait bounds how long close waits for kafka-go's Writer, which finishes the
// batches it holds before it returns: one a stop cut short may be sleeping between two
// attempts for up to BackoffMax, and a stop must not wait for it. Its alerts were already
// accounted for, spooled or lost, when the write returned.
const writerCloseWait = time.Second

func (s *kafkaSink) close() error {
	closed := make(chan error, 1)
	go func() { closed <- s.w.Close() }()
	var err error
	select {
	case err = <-closed:
	case <-time.After(writerCloseWait):
		err = errors.New("the writer was still retrying a batch cut short by the stop; left behind")
	}
	if s.spool != nil {
		err = errors.Join(err, s.spool.close())
	}
	if err != nil {
		return fmt.Errorf("kafka %s: %w", s.cfg.Topic, err)
	}
	return nil
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
