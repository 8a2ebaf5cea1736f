package detect

import (
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// Config is the detect section of the YAML configuration (`detect:`) plus the sensor and
// source names the command fills in. Durations are Go duration strings in YAML ("60s").
// DefaultConfig returns values that need no tuning; Validate reports every problem at once.
//
// The default thresholds and why they are what they are (docs/detection.md):
//
//	key                                   default      reason
//	window                                60s          ET rules 2017918-21 count per 60 s; rates below are per window
//	update_interval                       60s          an update at most every minute of packet time keeps a SIEM
//	                                                   current without flooding it
//	idle_timeout                          60s          an incident ends after a quiet minute: one window without traffic
//	reflection.min_response_bytes         1,000,000    one full monlist reply is 44,000 payload bytes (600 entries,
//	                                                   100 packets); 1 MB a minute is 22 such replies, which no
//	                                                   administrator's ntpdc produces, while an attack turns 5 Mbit/s
//	                                                   of requests into 1 Gbit/s of replies and crosses it in 10 ms
//	reflection.min_amplification          5            CESNET Nemea: response/request byte ratio above 5
//	reflection.high_bps                   100 Mbit/s   peak wire rate that hurts a typical uplink
//	reflection.critical_bps               1 Gbit/s     the 2014 attacks: 5 Mbit/s of requests became 1 Gbit/s
//	victim_flood.min_reflectors           10           an attack uses hundreds to thousands of amplifiers; a monitoring
//	                                                   station answers to a handful of servers and uses mode 6 lightly
//	victim_flood.min_response_bytes       1,000,000    as reflection: 22 full monlist replies a minute
//	victim_flood.min_amplification        5            Nemea's ratio; with no request seen the ratio is infinite
//	victim_flood.high_bps, critical_bps   as reflection
//	scan.min_targets                      64           a /26 probed with amplifying requests; nmap ntp-monlist and the
//	                                                   2014 census scanners sweep whole /24s and more, while an
//	                                                   administrator queries a few servers
//	spoofed_egress.min_requests           2            ET 2017918/19: 2 monlist requests per 60 s; a forged source
//	                                                   leaving the home net is a BCP 38 violation at any rate
//	request_flood.min_requests            1,000        amplifying requests to one server per window: ntpq -p sends a
//	                                                   dozen, a monitoring station polling every few seconds a few
//	                                                   hundred a minute, a flood at 100,000 a second crosses it in 10 ms
//	request_flood.min_sources             1            a reflection aims its forged requests at one victim: they may
//	                                                   all carry one address
//	exposed_amplifier.min_responses       1            a reply that carries monlist items or mode 6 data cannot come
//	                                                   from a patched server: the first one proves the exposure
//	sampling.min_samples                  4            sampled input (sFlow, IPFIX, NetFlow) estimates a count of S
//	                                                   samples within +-196/sqrt(S) % at 95%: 4 is the fewest whose
//	                                                   interval excludes nothing seen at all (+-98%); 2 samples at 1:1000
//	                                                   (+-139%) stand for 2,000 packets that may as well not have been
//	top_n                                 10           entries in each top list of an alert
//	tables.max_hosts                      100,000      about 78 MB at the cap; evicts least recently seen first
//	tables.max_pairs                      200,000      about 45 MB at the cap; per-host totals stay exact on eviction
//	tables.max_incidents                  10,000       open incidents; more are refused and counted
//	tables.max_history                    1,000        ended incidents kept for the summary
//
// The keys apply to every protocol. A protocol whose everyday use needs other values sets its
// own in its file of decode/proto (Protocol.Thresholds: DNS, CLDAP, SNMP, the fallback), and
// Protocols sets any of them for one protocol (protocols.go, docs/detection.md).
type Config struct {
	// HomeNet lists the networks the sensor protects, like Suricata's HOME_NET. Empty means
	// unknown: no direction, no spoofed_egress, exposed_amplifier for any client.
	HomeNet []netip.Prefix `yaml:"home_net"`

	// Window is the span of packet time over which rate thresholds are counted.
	Window time.Duration `yaml:"window"`
	// UpdateInterval is the least packet time between two events of one incident.
	UpdateInterval time.Duration `yaml:"update_interval"`
	// IdleTimeout is the packet time without traffic after which an incident ends.
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// TopN is how many entries the victims, reflectors and responders lists carry.
	TopN int `yaml:"top_n"`

	Reflection       ReflectionConfig       `yaml:"reflection"`
	VictimFlood      VictimFloodConfig      `yaml:"victim_flood"`
	Scan             ScanConfig             `yaml:"scan"`
	SpoofedEgress    SpoofedEgressConfig    `yaml:"spoofed_egress"`
	RequestFlood     RequestFloodConfig     `yaml:"request_flood"`
	ExposedAmplifier ExposedAmplifierConfig `yaml:"exposed_amplifier"`
	Sampling         SamplingConfig         `yaml:"sampling"`
	Tables           TablesConfig           `yaml:"tables"`
	// Protocols sets thresholds of the kinds above for one protocol (detect.protocols.NAME),
	// over the protocol's own defaults.
	Protocols map[string]ProtocolConfig `yaml:"protocols"`

	// Sensor is copied into every alert. Set by the command from the top-level `sensor`
	// key or --sensor, so it has no key of its own here.
	Sensor string `yaml:"-"`
	// Source is copied into every alert: the files or interface read. Set by the command.
	Source string `yaml:"-"`

	// Evidence chooses the roles a sensor publishes to the fleet (PublishEvidence); set by
	// the command from the fleet section, which validates it.
	Evidence EvidenceConfig `yaml:"-"`
}

// ReflectionConfig holds the thresholds of the reflection detector (subject: the reflector).
type ReflectionConfig struct {
	// MinResponseBytes is the UDP payload bytes of amplifying replies a server must send
	// within one Window.
	MinResponseBytes uint64 `yaml:"min_response_bytes"`
	// MinAmplification is the least response/request byte ratio; no request seen passes.
	MinAmplification float64 `yaml:"min_amplification"`
	// HighBPS and CriticalBPS are the peak wire bit rates (over one second) that raise the
	// severity from medium to high and critical.
	HighBPS     float64 `yaml:"high_bps"`
	CriticalBPS float64 `yaml:"critical_bps"`
}

// VictimFloodConfig holds the thresholds of the victim_flood detector (subject: the victim).
type VictimFloodConfig struct {
	// MinReflectors is the number of distinct hosts that must send amplifying replies.
	MinReflectors int `yaml:"min_reflectors"`
	// MinResponseBytes is the UDP payload bytes of amplifying replies the victim must
	// receive within one Window.
	MinResponseBytes uint64 `yaml:"min_response_bytes"`
	// MinAmplification is the least ratio of replies received to requests the victim sent.
	MinAmplification float64 `yaml:"min_amplification"`
	HighBPS          float64 `yaml:"high_bps"`
	CriticalBPS      float64 `yaml:"critical_bps"`
}

// ScanConfig holds the threshold of the scan detector (subject: the scanner).
type ScanConfig struct {
	// MinTargets is the number of distinct hosts one source must send amplifying requests to.
	MinTargets int `yaml:"min_targets"`
}

// SpoofedEgressConfig holds the threshold of the spoofed_egress detector (needs HomeNet).
type SpoofedEgressConfig struct {
	// MinRequests is the amplifying requests with a forged source that must leave within one
	// Window.
	MinRequests uint64 `yaml:"min_requests"`
}

// RequestFloodConfig holds the thresholds of the request_flood detector (subject: the server
// that receives the requests; victims: their forged sources).
type RequestFloodConfig struct {
	// MinRequests is the amplifying requests a server must receive within one Window,
	// answered or not.
	MinRequests uint64 `yaml:"min_requests"`
	// MinSources is the distinct sources those requests must come from within the episode.
	MinSources int `yaml:"min_sources"`
}

// ExposedAmplifierConfig holds the threshold of the exposed_amplifier detector.
type ExposedAmplifierConfig struct {
	// MinResponses is the amplifying replies with data a server must send to eligible
	// clients within one Window.
	MinResponses uint64 `yaml:"min_responses"`
}

// SamplingConfig gates the incidents of sampled input (sFlow, IPFIX, NetFlow), whose figures
// are estimates.
type SamplingConfig struct {
	// MinSamples is the least number of samples a host's role must rest on before any
	// threshold of it makes an incident. Full-packet input has no samples and no gate.
	MinSamples uint64 `yaml:"min_samples"`
}

// TablesConfig caps the tables keyed by addresses, which attackers fill at will.
type TablesConfig struct {
	// MaxHosts caps per-host accounting; the least recently seen host without an open
	// incident is evicted first.
	MaxHosts int `yaml:"max_hosts"`
	// MaxPairs caps per (server, client) detail; the least recently seen pair is evicted
	// first, and host totals stay exact.
	MaxPairs int `yaml:"max_pairs"`
	// MaxIncidents caps open incidents; further ones are refused and counted.
	MaxIncidents int `yaml:"max_incidents"`
	// MaxHistory caps the ended incidents kept for Stats.
	MaxHistory int `yaml:"max_history"`
}

// DefaultConfig returns the defaults of the table in Config's comment.
func DefaultConfig() Config {
	return Config{
		Window:         60 * time.Second,
		UpdateInterval: 60 * time.Second,
		IdleTimeout:    60 * time.Second,
		TopN:           10,
		Reflection: ReflectionConfig{
			MinResponseBytes: 1_000_000,
			MinAmplification: 5,
			HighBPS:          100e6,
			CriticalBPS:      1e9,
		},
		VictimFlood: VictimFloodConfig{
			MinReflectors:    10,
			MinResponseBytes: 1_000_000,
			MinAmplification: 5,
			HighBPS:          100e6,
			CriticalBPS:      1e9,
		},
		Scan:             ScanConfig{MinTargets: 64},
		SpoofedEgress:    SpoofedEgressConfig{MinRequests: 2},
		RequestFlood:     RequestFloodConfig{MinRequests: 1000, MinSources: 1},
		ExposedAmplifier: ExposedAmplifierConfig{MinResponses: 1},
		Sampling:         SamplingConfig{MinSamples: 4},
		Tables: TablesConfig{
			MaxHosts:     100_000,
			MaxPairs:     200_000,
			MaxIncidents: 10_000,
			MaxHistory:   1_000,
		},
		Evidence: EvidenceConfig{Floor: DefaultEvidenceFloor, MaxRoles: DefaultEvidenceMaxRoles},
	}
}

// minTable is the least cap of a table: with fewer entries, the hosts pinned by open
// incidents and by the packet being accounted would leave little room for anything else.
const minTable = 16

// Validate reports every invalid setting at once, each naming its YAML key under detect.
func (c Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("detect.%s: %s", key, fmt.Sprintf(format, args...)))
	}
	for i, p := range c.HomeNet {
		if !p.IsValid() {
			bad(fmt.Sprintf("home_net[%d]", i), "not a valid CIDR prefix")
		}
	}
	positive := func(key string, d time.Duration) {
		if d <= 0 {
			bad(key, "must be a positive duration, got %s", d)
		}
	}
	positive("window", c.Window)
	positive("update_interval", c.UpdateInterval)
	positive("idle_timeout", c.IdleTimeout)
	if c.TopN < 1 || c.TopN > 1000 {
		bad("top_n", "must be between 1 and 1000, got %d", c.TopN)
	}
	atLeastOne := func(key string, v float64) {
		if !(v >= 1) {
			bad(key, "must be at least 1, got %g", v)
		}
	}
	rates := func(prefix string, high, critical float64) {
		if !(high > 0) {
			bad(prefix+".high_bps", "must be positive, got %g", high)
		}
		if !(critical >= high) {
			bad(prefix+".critical_bps", "must be at least high_bps (%g), got %g", high, critical)
		}
	}
	nonZero := func(key string, v uint64) {
		if v == 0 {
			bad(key, "must be positive")
		}
	}
	atLeast := func(key string, n, least int) {
		if n < least {
			bad(key, "must be at least %d, got %d", least, n)
		}
	}
	nonZero("reflection.min_response_bytes", c.Reflection.MinResponseBytes)
	atLeastOne("reflection.min_amplification", c.Reflection.MinAmplification)
	rates("reflection", c.Reflection.HighBPS, c.Reflection.CriticalBPS)
	atLeast("victim_flood.min_reflectors", c.VictimFlood.MinReflectors, 1)
	nonZero("victim_flood.min_response_bytes", c.VictimFlood.MinResponseBytes)
	atLeastOne("victim_flood.min_amplification", c.VictimFlood.MinAmplification)
	rates("victim_flood", c.VictimFlood.HighBPS, c.VictimFlood.CriticalBPS)
	atLeast("scan.min_targets", c.Scan.MinTargets, 1)
	nonZero("spoofed_egress.min_requests", c.SpoofedEgress.MinRequests)
	nonZero("request_flood.min_requests", c.RequestFlood.MinRequests)
	atLeast("request_flood.min_sources", c.RequestFlood.MinSources, 1)
	nonZero("exposed_amplifier.min_responses", c.ExposedAmplifier.MinResponses)
	nonZero("sampling.min_samples", c.Sampling.MinSamples)
	atLeast("tables.max_hosts", c.Tables.MaxHosts, minTable)
	atLeast("tables.max_pairs", c.Tables.MaxPairs, minTable)
	atLeast("tables.max_incidents", c.Tables.MaxIncidents, 1)
	atLeast("tables.max_history", c.Tables.MaxHistory, 0)
	c.validateProtocols(bad)
	return errors.Join(errs...)
}

// inHome reports whether a lies in the home net.
func (c *Config) inHome(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range c.HomeNet {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// outside reports whether a lies outside the home net: not in it, and an address that can
// cross a border at all. Loopback (127.0.0.0/8, ::1), link-local (169.254.0.0/16,
// fe80::/10), unspecified, multicast and limited broadcast addresses never leave the link
// or the host (RFC 6890's special-purpose registries: not forwardable), so that ntpq run on
// a server against 127.0.0.1 is neither forged traffic leaving the network nor a client
// outside it.
func (c *Config) outside(a netip.Addr) bool {
	a = a.Unmap()
	if a.IsLoopback() || a.IsLinkLocalUnicast() || a.IsUnspecified() || a.IsMulticast() ||
		a == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
		return false
	}
	return !c.inHome(a)
}

// Direction names the way traffic from from to to crosses the home net's border: inbound,
// outbound, internal or external. An unknown end counts as outside, an address that cannot
// cross a border as inside.
func (c *Config) Direction(from, to netip.Addr) string {
	fi := from.IsValid() && !c.outside(from)
	ti := to.IsValid() && !c.outside(to)
	switch {
	case fi && ti:
		return "internal"
	case fi:
		return "outbound"
	case ti:
		return "inbound"
	}
	return "external"
}
