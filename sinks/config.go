package sinks

import (
	"errors"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ntpwatch/ntpwatch/internal/setting"
)

// Defaults of Config and KafkaConfig, applied by Open to the zero values.
const (
	DefaultQueueSize         = 4096
	DefaultKafkaTopic        = "ntpwatch.alerts"
	DefaultKafkaClientID     = "ntpwatch"
	DefaultKafkaBatchTimeout = 20 * time.Millisecond // kafka-go's own default is 1 s
	DefaultKafkaDialTimeout  = 5 * time.Second
	DefaultKafkaRetryFor     = 30 * time.Second
	DefaultKafkaBackoffMin   = 100 * time.Millisecond
	DefaultKafkaBackoffMax   = 5 * time.Second
)

// Config chooses the sinks and their options. The zero value writes JSON lines to stdout.
// The yaml keys are those of the output section of ntpwatch's --config file.
type Config struct {
	Sinks     []string    `yaml:"sinks"`      // --sink: any of "stdout", "file", "kafka"; none means stdout
	Format    string      `yaml:"format"`     // --format: "json" (default), "eve" or "ecs"
	File      string      `yaml:"file"`       // --out: the file of the file sink, opened in append mode; "-" for stdout
	Kafka     KafkaConfig `yaml:"kafka"`      // the kafka sink's options
	QueueSize int         `yaml:"queue_size"` // alerts queued per sink before Send drops (and counts) them; 0: DefaultQueueSize
}

// KafkaConfig holds the options of the kafka sink. The zero value of every field but Brokers
// is a working default.
type KafkaConfig struct {
	Brokers  []string `yaml:"brokers"`   // --kafka-brokers: host:port of one or more bootstrap brokers
	Topic    string   `yaml:"topic"`     // --kafka-topic; "": DefaultKafkaTopic
	ClientID string   `yaml:"client_id"` // --kafka-client-id; "": DefaultKafkaClientID

	TLS  TLSConfig  `yaml:"tls"`
	SASL SASLConfig `yaml:"sasl"`

	Compression string `yaml:"compression"` // --kafka-compression: "none" (default), "gzip", "snappy", "lz4", "zstd"
	Acks        string `yaml:"acks"`        // --kafka-acks: "all" (default), "one", "none"

	// Spool is the file (--spool) every alert passes through on its way to the brokers, as
	// a JSON line, and where those not delivered stay for the next Open, which delivers
	// them first. It must be writable at Open. "" disables spooling: alerts the brokers do
	// not take within RetryFor are then counted as lost.
	Spool string `yaml:"spool"`

	BatchTimeout time.Duration `yaml:"batch_timeout"` // how long a partial batch waits for more alerts; 0: 20 ms
	DialTimeout  time.Duration `yaml:"dial_timeout"`  // bound on the broker check in Open; 0: 5 s
	// RetryFor is how long a batch is retried without a spool, with exponential backoff
	// between BackoffMin and BackoffMax, before its alerts are lost; 0: 30 s. With a spool,
	// the spool is retried with the same backoff for as long as the run lasts.
	RetryFor   time.Duration `yaml:"retry_for"`
	BackoffMin time.Duration `yaml:"backoff_min"` // 0: 100 ms
	BackoffMax time.Duration `yaml:"backoff_max"` // 0: 5 s
}

// TLSConfig enables TLS to the brokers. Setting any file or Insecure implies Enable.
type TLSConfig struct {
	Enable   bool   `yaml:"enable"`   // --kafka-tls: TLS with the system's roots
	CA       string `yaml:"ca"`       // --kafka-tls-ca: PEM file of the CA(s) that sign the brokers' certificates
	Cert     string `yaml:"cert"`     // --kafka-tls-cert: PEM client certificate, for mutual TLS
	Key      string `yaml:"key"`      // --kafka-tls-key: PEM key of Cert
	Insecure bool   `yaml:"insecure"` // --kafka-tls-insecure: do not verify the brokers' certificates
}

func (t TLSConfig) enabled() bool {
	return t.Enable || t.CA != "" || t.Cert != "" || t.Key != "" || t.Insecure
}

// SASLConfig authenticates to the brokers.
type SASLConfig struct {
	Mechanism string `yaml:"mechanism"` // --kafka-sasl-mechanism: "" (none), "plain", "scram-sha-256", "scram-sha-512"
	User      string `yaml:"user"`      // --kafka-sasl-user
	Password  string `yaml:"password"`  // --kafka-sasl-password or NTPWATCH_KAFKA_PASSWORD
}

// Sink names.
const (
	SinkStdout = "stdout"
	SinkFile   = "file"
	SinkKafka  = "kafka"
)

// ErrSetting marks an error of Open that comes from the settings rather than from the
// world: an invalid Config, or a file named by a setting that cannot be read or created
// (file, kafka.tls.ca, ...). An unreachable broker is not one. errors.Is finds it.
var ErrSetting = errors.New("bad setting")

// settingError is an error of the settings, with its own message.
type settingError struct{ err error }

func (e settingError) Error() string        { return e.err.Error() }
func (e settingError) Unwrap() error        { return e.err }
func (e settingError) Is(target error) bool { return target == ErrSetting }

// Validate reports every problem of c at once, each a *setting.Error keyed by the yaml
// key of the value to fix ("kafka.topic"), for the command to name its flag.
func (c Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, setting.Errorf(key, "", format, args...))
	}
	seen := map[string]bool{}
	for _, s := range c.Sinks {
		switch s {
		case SinkStdout, SinkFile, SinkKafka:
			if seen[s] {
				bad("sinks", "%s given twice", s)
			}
			seen[s] = true
		default:
			bad("sinks", "unknown sink %q (want stdout, file or kafka)", s)
		}
	}
	switch c.Format {
	case "", "json", "eve", "ecs":
	default:
		bad("format", "unknown format %q (want json, eve or ecs)", c.Format)
	}
	if seen[SinkFile] && c.File == "" {
		bad("file", "the file sink needs a file name")
	}
	if seen[SinkFile] && seen[SinkStdout] && IsStdout(c.File) {
		bad("file", "%s is stdout, where the stdout sink writes already", c.File)
	}
	if c.QueueSize < 0 {
		bad("queue_size", "%d: must not be negative", c.QueueSize)
	}
	if seen[SinkKafka] {
		errs = append(errs, c.Kafka.validate()...)
	}
	return errors.Join(errs...)
}

func (k KafkaConfig) validate() []error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, setting.Errorf("kafka."+key, "", format, args...))
	}
	if len(k.Brokers) == 0 {
		bad("brokers", "the kafka sink needs at least one broker host:port")
	}
	for _, b := range k.Brokers {
		host, port, err := net.SplitHostPort(b)
		if err != nil {
			bad("brokers", "%q is not host:port", b)
			continue
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || host == "" {
			bad("brokers", "%q is not host:port", b)
		}
	}
	if k.Topic != "" && !validTopic(k.Topic) {
		bad("topic", "%q is not a Kafka topic name (1-249 of a-z A-Z 0-9 . _ -)", k.Topic)
	}
	if _, err := compressionCodec(k.Compression); err != nil {
		bad("compression", "%v", err)
	}
	if _, err := requiredAcks(k.Acks); err != nil {
		bad("acks", "%v", err)
	}
	switch strings.ToLower(k.SASL.Mechanism) {
	case "":
		if k.SASL.User != "" {
			bad("sasl.user", "needs kafka.sasl.mechanism")
		}
	case "plain", "scram-sha-256", "scram-sha-512":
		if k.SASL.User == "" {
			bad("sasl.user", "required by kafka.sasl.mechanism %s", k.SASL.Mechanism)
		}
		if k.SASL.Password == "" {
			bad("sasl.password", "required by kafka.sasl.mechanism %s (or set NTPWATCH_KAFKA_PASSWORD)", k.SASL.Mechanism)
		}
	default:
		bad("sasl.mechanism", "unknown mechanism %q (want plain, scram-sha-256 or scram-sha-512)", k.SASL.Mechanism)
	}
	if (k.TLS.Cert == "") != (k.TLS.Key == "") {
		if k.TLS.Cert == "" {
			bad("tls.cert", "required by kafka.tls.key")
		} else {
			bad("tls.key", "required by kafka.tls.cert")
		}
	}
	for _, d := range []struct {
		key string
		v   time.Duration
	}{
		{"batch_timeout", k.BatchTimeout}, {"dial_timeout", k.DialTimeout},
		{"retry_for", k.RetryFor}, {"backoff_min", k.BackoffMin}, {"backoff_max", k.BackoffMax},
	} {
		if d.v < 0 {
			bad(d.key, "%v: must not be negative", d.v)
		}
	}
	return errs
}

// ValidateEvidence reports every problem of the kafka settings k for the evidence topic
// (docs/fleet.md), whose key is fleet.evidence_topic.
func ValidateEvidence(k KafkaConfig, topic string) error {
	k.Topic = topic
	if len(k.Brokers) == 0 {
		return setting.Errorf("kafka.brokers", "", "the evidence topic %s needs at least one broker host:port", topic)
	}
	errs := k.validate()
	for _, err := range errs {
		var se *setting.Error
		if errors.As(err, &se) && se.Key == "kafka.topic" {
			se.Key = "fleet.evidence_topic"
		}
	}
	return errors.Join(errs...)
}

// validTopic follows Kafka's rule (Topic.java): 1 to 249 characters of [a-zA-Z0-9._-], not
// "." or "..".
func validTopic(t string) bool {
	if len(t) == 0 || len(t) > 249 || t == "." || t == ".." {
		return false
	}
	for _, c := range []byte(t) {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '.' || c == '_' || c == '-'
		if !ok {
			return false
		}
	}
	return true
}

// WritesStdout tells whether alerts go to the standard output: through the stdout sink, the
// default, or a file sink whose file is "-".
func (c Config) WritesStdout() bool {
	return len(c.Sinks) == 0 || slices.Contains(c.Sinks, SinkStdout) || slices.Contains(c.Sinks, SinkFile) && IsStdout(c.File)
}

// withDefaults fills the zero values with the documented defaults.
func (c Config) withDefaults() Config {
	if len(c.Sinks) == 0 {
		c.Sinks = []string{SinkStdout}
	}
	if c.Format == "" {
		c.Format = "json"
	}
	if c.QueueSize == 0 {
		c.QueueSize = DefaultQueueSize
	}
	k := &c.Kafka
	if k.Topic == "" {
		k.Topic = DefaultKafkaTopic
	}
	if k.ClientID == "" {
		k.ClientID = DefaultKafkaClientID
	}
	if k.BatchTimeout == 0 {
		k.BatchTimeout = DefaultKafkaBatchTimeout
	}
	if k.DialTimeout == 0 {
		k.DialTimeout = DefaultKafkaDialTimeout
	}
	if k.RetryFor == 0 {
		k.RetryFor = DefaultKafkaRetryFor
	}
	if k.BackoffMin == 0 {
		k.BackoffMin = DefaultKafkaBackoffMin
	}
	if k.BackoffMax == 0 {
		k.BackoffMax = DefaultKafkaBackoffMax
	}
	if k.BackoffMax < k.BackoffMin {
		k.BackoffMax = k.BackoffMin
	}
	return c
}
