package config

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/ntpwatch/ntpwatch/detect"
	"github.com/ntpwatch/ntpwatch/detect/fleet"
	"github.com/ntpwatch/ntpwatch/sinks"
)

// Fleet is the `fleet:` section of the configuration (docs/fleet.md): the evidence sensors
// publish (read, live and flow, with an evidence topic) and the aggregator members read
// (ntpwatch aggregate). The brokers and their TLS and SASL are the output's kafka settings.
type Fleet struct {
	// EvidenceTopic is the topic of the evidence (--evidence-topic): sensors publish there
	// when it is set; aggregate reads it.
	EvidenceTopic string `yaml:"evidence_topic"`
	// EvidenceFloor is the fraction of each threshold above which a sensor publishes a
	// role's window; EvidenceRoles caps the roles a sensor publishes at once.
	EvidenceFloor float64 `yaml:"evidence_floor"`
	EvidenceRoles int     `yaml:"evidence_roles"`

	// GroupID is the aggregators' consumer group (--group): its members share the
	// partitions. SessionTimeout is how long the group waits for a member that stopped
	// answering.
	GroupID        string        `yaml:"group_id"`
	SessionTimeout time.Duration `yaml:"session_timeout"`
	// Settle is how long a window every sensor heard of has ended waits for sensors not yet
	// heard of; Grace how long one some sensor has ended waits for the others.
	Settle time.Duration `yaml:"settle"`
	Grace  time.Duration `yaml:"grace"`
	// MaxSubjects caps the subjects a member keeps.
	MaxSubjects int `yaml:"max_subjects"`
	// SensorGroups names the groups of sensors that tap the same link: their figures are the
	// largest of theirs, not the sum.
	SensorGroups map[string][]string `yaml:"sensor_groups"`
}

// DefaultGroupID is the aggregators' consumer group when none is given.
const DefaultGroupID = "ntpwatch-aggregate"

// DefaultFleet is the fleet section given no file and no flags.
func DefaultFleet() Fleet {
	return Fleet{EvidenceFloor: detect.DefaultEvidenceFloor, EvidenceRoles: detect.DefaultEvidenceMaxRoles,
		GroupID: DefaultGroupID, SessionTimeout: sinks.DefaultSessionTimeout, Settle: fleet.DefaultSettle,
		Grace: fleet.DefaultGrace, MaxSubjects: fleet.DefaultMaxSubjects}
}

// Evidence is the engine's evidence configuration.
func (f *Fleet) Evidence() detect.EvidenceConfig {
	return detect.EvidenceConfig{Floor: f.EvidenceFloor, MaxRoles: f.EvidenceRoles}
}

// Aggregator is the aggregator's configuration over the detection section d.
func (f *Fleet) Aggregator(d detect.Config) fleet.Config {
	groups := map[string]string{}
	for g, sensors := range f.SensorGroups {
		for _, s := range sensors {
			groups[s] = g
		}
	}
	return fleet.Config{Detect: d, Groups: groups, Settle: f.Settle, Grace: f.Grace, MaxSubjects: f.MaxSubjects}
}

// Consumer is the evidence consumer's configuration over the output's kafka settings.
func (f *Fleet) Consumer(k sinks.KafkaConfig) sinks.ConsumerConfig {
	return sinks.ConsumerConfig{Kafka: k, Topic: f.EvidenceTopic, Group: f.GroupID, SessionTimeout: f.SessionTimeout}
}

// Validate reports every problem of the section at once, each naming its key under fleet.
// kafka holds the output's kafka settings, which evidence needs brokers from.
func (f *Fleet) Validate(kafka sinks.KafkaConfig) error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("fleet.%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if f.EvidenceTopic != "" {
		errs = append(errs, sinks.ValidateEvidence(kafka, f.EvidenceTopic))
	}
	if !(f.EvidenceFloor > 0 && f.EvidenceFloor <= 1) {
		bad("evidence_floor", "must be above 0 and at most 1, got %g", f.EvidenceFloor)
	}
	if f.EvidenceRoles < 1 {
		bad("evidence_roles", "must be at least 1, got %d", f.EvidenceRoles)
	}
	if f.GroupID == "" {
		bad("group_id", "must not be empty")
	}
	if f.SessionTimeout < time.Second {
		bad("session_timeout", "must be at least 1s, got %v", f.SessionTimeout)
	}
	if f.Settle <= 0 || f.Grace <= 0 {
		bad("grace", "settle and grace must be positive, got %v and %v", f.Settle, f.Grace)
	}
	if f.MaxSubjects < 1 {
		bad("max_subjects", "must be at least 1, got %d", f.MaxSubjects)
	}
	in := map[string]string{}
	for _, g := range slices.Sorted(maps.Keys(f.SensorGroups)) {
		for _, s := range f.SensorGroups[g] {
			if other, ok := in[s]; ok && other != g {
				bad("sensor_groups", "sensor %q is in %s and %s: a sensor taps one link", s, other, g)
			}
			in[s] = g
		}
	}
	return errors.Join(errs...)
}
