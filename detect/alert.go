package detect

import (
	"net/netip"
	"time"
)

// Kind is what an incident is about.
type Kind string

const (
	KindExposedAmplifier Kind = "exposed_amplifier"
	KindReflection       Kind = "reflection"
	KindVictimFlood      Kind = "victim_flood"
	KindScan             Kind = "scan"
	KindSpoofedEgress    Kind = "spoofed_egress"
	KindRequestFlood     Kind = "request_flood"
)

// State is where an event stands in its incident's lifecycle.
type State string

const (
	StateStart  State = "start"
	StateUpdate State = "update"
	StateEnd    State = "end"
)

// Severity grades an incident for the SIEM.
type Severity string

const (
	SeverityLow      Severity = "low"
	SeverityMedium   Severity = "medium"
	SeverityHigh     Severity = "high"
	SeverityCritical Severity = "critical"
)

// Counter is a packet and byte total. Bytes are UDP payload bytes (the BAF definition).
type Counter struct {
	Packets uint64
	Bytes   uint64
}

// HostStat is one entry of a top list.
type HostStat struct {
	Addr    netip.Addr
	Packets uint64
	Bytes   uint64
}

// HostList is a set of hosts: how many there are and the largest few by bytes.
type HostList struct {
	Count int
	Top   []HostStat
}

// Responder is a scanned host that answered.
type Responder struct {
	Addr netip.Addr
	// Amplifier is true when the host answered with data, false when it answered without
	// amplifying (an 8-byte err=4 "no data" reply: a patched server).
	Amplifier bool
	Packets   uint64
	Bytes     uint64
}

// Targets are the hosts a scanner probed.
type Targets struct {
	Count      int
	Responders []Responder
}

// Alert is one event of an incident: the schema ntpwatch.alert/v1 (docs/alerts.md), as
// values. A zero netip.Addr, an empty string and a false Has* flag are written as null by the
// formatters. Times are packet times.
type Alert struct {
	ID       string // stable: derived from Kind, subject address and FirstSeen
	Kind     Kind
	State    State
	Severity Severity

	TS        time.Time // packet time of this event
	FirstSeen time.Time // the incident's first packet
	LastSeen  time.Time // the incident's latest packet

	// Protocol is the reflection protocol ("ntp"), ServerPort its servers' UDP port, Vector
	// the abused request that carried most of the incident's bytes ("monlist").
	Protocol   string
	ServerPort uint16
	Vector     string

	Reflector netip.Addr
	Victim    netip.Addr
	Scanner   netip.Addr

	Victims    HostList
	Reflectors HostList
	Targets    Targets

	Requests  Counter
	Responses Counter

	// Amplification is Responses.Bytes / Requests.Bytes rounded to two decimals; HasAmplification is false (null in
	// JSON) when no request was seen.
	Amplification    float64
	HasAmplification bool

	WireBytes uint64  // wire bytes of requests and responses
	PeakBPS   float64 // highest wire bit rate over one second of packet time
	PeakPPS   float64 // highest packet rate over one second of packet time

	Direction   string // "inbound", "outbound", "internal", "external"; "" without a home net
	Remediation string // for exposed_amplifier and reflection: what the server's operator should do
	Sensor      string // the sensor's name (--sensor, default hostname)
	Source      string // the file(s) or interface the packets came from

	// Sampling states how the figures were estimated from sampled input; its zero value
	// (no samples: null in JSON) is full-packet input, where every figure is a count.
	Sampling Sampling

	// Scope is ScopeFleet for an incident of the fleet aggregator, whose figures add up the
	// evidence of the Sensors that saw it (docs/fleet.md); empty for a sensor's own alert,
	// whose JSON leaves both out.
	Scope   string
	Sensors []string
}

// ScopeFleet is the Scope of the fleet aggregator's alerts.
const ScopeFleet = "fleet"

// Sampling describes the estimates of an alert from sampled input (sFlow, IPFIX, NetFlow):
// its packet and byte figures are the samples weighted by their sampling rates.
type Sampling struct {
	// Rate is the mean sampling rate, 1 in Rate: the packets estimated per sample.
	Rate uint64
	// Samples is how many sampled packets the figures rest on.
	Samples uint64
	// ErrorPct is the 95% error bound of the packet and byte estimates, in percent:
	// 196/sqrt(Samples), rounded to a tenth; 0 at a rate of 1, where every packet counted.
	ErrorPct float64
	// LowerBounds is set when the distinct counts (victims, reflectors, targets) count only
	// the peers seen in samples: below the rate of 1, a peer may send no sampled packet.
	LowerBounds bool
}

// Subject is the address the incident is about: the key that keeps one incident's events in
// order on one Kafka partition.
func (a *Alert) Subject() netip.Addr {
	switch a.Kind {
	case KindScan:
		return a.Scanner
	case KindVictimFlood, KindSpoofedEgress:
		return a.Victim
	default:
		return a.Reflector
	}
}
