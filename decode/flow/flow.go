// Package flow reads the sampled telemetry that routers and switches export, so that one
// collector watches every border link without a tap: sFlow v5 datagrams (RFC 3176's
// successor, sflow.org's SFLOW-DATAGRAM5 and SFLOW-STRUCTS5), NetFlow v9 (RFC 3954) and IPFIX
// (RFC 7011, with the packet samples of PSAMP, RFC 5476 and RFC 5477), received on UDP
// sockets (Collector.Listen) or read from captures of them (Collector.OpenCapture).
// Datagrams are decoded with github.com/netsampler/goflow2/v2, the decoders of the
// Akvorado and xSight collectors.
//
// Each source is a decode.PacketSource. A sampled packet header (an sFlow flow sample's raw
// header, an IPFIX packet section) is a decode.Frame that goes through the decoder like a
// tapped frame, link layer, tunnels and protocol classifiers included, weighted by its
// sampling rate. A flow record, which counts packets and bytes without carrying any, becomes
// one decode.Packet: the protocol by port, the verdict of the protocol's flow classifier
// (proto.Protocol.ClassifyFlow) by size, the vector unknown, weighted by its packets times
// its sampling rate. Every observation is stamped with its datagram's arrival: the wall
// clock for a socket, the capture's time for a file.
//
// The Collector keeps the account of every exporter its sources hear from (datagrams,
// samples, records, sequence gaps, the agents' drops, the sampling rate), for the metrics
// and the summary; exporters are few and configured, but datagrams can be forged, so the
// account is capped at Config.MaxExporters, the rest counted together as "other".
//
// Threading: a source belongs to one goroutine; the Collector's account is shared by its
// sources and read from any goroutine.
package flow

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"

	"github.com/ntpwatch/ntpwatch/decode/proto"
)

// Protocol is a flow export protocol.
type Protocol uint8

const (
	SFlow Protocol = iota
	NetFlow
	IPFIX
	numProtocols
)

// protocolNames are the protocols' names in the metrics, the summary and the configuration.
var protocolNames = [numProtocols]string{"sflow", "netflow", "ipfix"}

func (p Protocol) String() string {
	if p < numProtocols {
		return protocolNames[p]
	}
	return fmt.Sprintf("flow protocol %d", uint8(p))
}

// Protocols lists the export protocols in a fixed order.
func Protocols() []Protocol { return []Protocol{SFlow, NetFlow, IPFIX} }

// The UDP ports the protocols are exported to by default: IANA's sflow (6343), ipfix (4739),
// and 2055, the NetFlow port of Cisco's and most collectors' configurations.
const (
	DefaultSFlowPort   = 6343
	DefaultIPFIXPort   = 4739
	DefaultNetFlowPort = 2055
)

// DefaultPort is the port p is exported to by default.
func DefaultPort(p Protocol) uint16 {
	return [numProtocols]uint16{DefaultSFlowPort, DefaultNetFlowPort, DefaultIPFIXPort}[p]
}

// DefaultMaxExporters bounds the exporters accounted apart: a network has a few dozen border
// routers, and every one is a set of metric series.
const DefaultMaxExporters = 64

// Config is what a Collector is told.
type Config struct {
	// Exporters names the exporters by address and may force their sampling rates.
	Exporters []ExporterConfig
	// DefaultRate is the sampling rate of records and packet samples whose exporter states
	// none (softflowd's PSAMP, a NetFlow exporter without sampling options): 0 or 1 for
	// every packet.
	DefaultRate uint32
	// MaxExporters caps the exporters accounted apart; DefaultMaxExporters when 0.
	MaxExporters int
	// Table is the protocol table flow records are looked up in; proto.Default when nil.
	Table *proto.Table
}

// ExporterConfig is one exporter the configuration knows.
type ExporterConfig struct {
	// Name is the exporter's name in the metrics and the summary.
	Name string `yaml:"name"`
	// Address is the sFlow agent address or the NetFlow or IPFIX datagrams' source.
	Address netip.Addr `yaml:"address"`
	// SamplingRate, when not 0, is the exporter's sampling rate whatever its datagrams say:
	// for exporters that state a wrong one or none.
	SamplingRate uint32 `yaml:"sampling_rate"`
}

// Validate reports every problem of c at once, each naming its key under flow.
func (c *Config) Validate() error {
	var errs []error
	names := map[string]bool{}
	addrs := map[netip.Addr]bool{}
	for i, e := range c.Exporters {
		key := fmt.Sprintf("flow.exporters[%d]", i)
		switch {
		case e.Name == "" || e.Name == OtherExporter:
			errs = append(errs, fmt.Errorf("%s.name: must be set, and not %q", key, OtherExporter))
		case names[e.Name]:
			errs = append(errs, fmt.Errorf("%s.name: %q names two exporters", key, e.Name))
		}
		switch {
		case !e.Address.IsValid():
			errs = append(errs, fmt.Errorf("%s.address: must be an IP address", key))
		case addrs[e.Address.Unmap()]:
			errs = append(errs, fmt.Errorf("%s.address: %s is given twice", key, e.Address))
		}
		names[e.Name], addrs[e.Address.Unmap()] = true, true
	}
	if c.MaxExporters < 0 {
		errs = append(errs, fmt.Errorf("flow.max_exporters: must not be negative, got %d", c.MaxExporters))
	}
	return errors.Join(errs...)
}

// OtherExporter names the exporters past Config.MaxExporters, counted together.
const OtherExporter = "other"

// Exporter is one exporter's account.
type Exporter struct {
	// Name is the configured name, or "exporter-N" in the order the exporters were first
	// heard from; OtherExporter for those past the cap, whose Addr is invalid.
	Name     string
	Addr     netip.Addr // the sFlow agent address, or the NetFlow or IPFIX datagrams' source
	Protocol Protocol
	// Datagrams counts the datagrams decoded; Samples the sampled packet headers (sFlow
	// flow samples, IPFIX packet samples), Records the flow records, they carried.
	Datagrams, Samples, Records uint64
	// Lost counts what the sequence numbers say never arrived: datagrams for sFlow and
	// NetFlow v9, flow records for IPFIX (RFC 7011 numbers records).
	Lost uint64
	// Drops counts the samples the agent itself dropped for want of resources (sFlow's
	// drops counters).
	Drops uint64
	// Unread counts what could not be read: sampled headers of a protocol other than
	// Ethernet, IPv4 and IPv6, and NetFlow v9 and IPFIX data sets whose template the
	// exporter had not sent (yet), whose records are lost.
	Unread uint64
	// Rate is the latest sampling rate seen, 1 in Rate; 0 before any.
	Rate uint32
}

// Collector is a run's flow sources and the account of their exporters. See the package
// comment.
type Collector struct {
	cfg     Config
	names   map[netip.Addr]*ExporterConfig
	mu      sync.Mutex
	byKey   map[exporterKey]*exporter
	order   []*exporter // in the order first heard from
	other   [numProtocols]*exporter
	auto    int                  // exporters named automatically so far
	invalid [numProtocols]uint64 // datagrams that could not be decoded at all
}

// exporterKey is an exporter of one protocol.
type exporterKey struct {
	addr  netip.Addr
	proto Protocol
}

// exporter is an Exporter with its sequence numbers.
type exporter struct {
	Exporter
	rate uint32 // the configured rate, 0 when none
	// seq follows each stream of sequence numbers: an sFlow sub-agent, a NetFlow source id,
	// an IPFIX observation domain; drops each sFlow data source's drops counter.
	seq   map[uint32]*sequence
	drops map[uint32]uint32
}

// sequence is the next sequence number a stream should carry; ok is false while unknown.
type sequence struct {
	next uint32
	ok   bool
}

// maxStreams bounds the sequence streams and data sources followed per exporter: a router
// has a few sub-agents or observation domains, and a data source per interface.
const maxStreams = 1024

// NewCollector returns a Collector of cfg, which must have passed Validate.
func NewCollector(cfg Config) *Collector {
	if cfg.MaxExporters == 0 {
		cfg.MaxExporters = DefaultMaxExporters
	}
	if cfg.Table == nil {
		cfg.Table = proto.Default
	}
	c := &Collector{cfg: cfg, names: map[netip.Addr]*ExporterConfig{}, byKey: map[exporterKey]*exporter{}}
	for i := range cfg.Exporters {
		e := &cfg.Exporters[i]
		c.names[e.Address.Unmap()] = e
	}
	return c
}

// exporter returns the account of the exporter at addr, making it (or taking "other") when
// new. c.mu must be held.
func (c *Collector) exporter(addr netip.Addr, p Protocol) *exporter {
	addr = addr.Unmap()
	k := exporterKey{addr, p}
	if e := c.byKey[k]; e != nil {
		return e
	}
	conf := c.names[addr]
	if conf == nil && len(c.byKey) >= c.cfg.MaxExporters {
		if c.other[p] == nil {
			c.other[p] = &exporter{Exporter: Exporter{Name: OtherExporter, Protocol: p}}
		}
		return c.other[p]
	}
	e := &exporter{Exporter: Exporter{Addr: addr, Protocol: p}, seq: map[uint32]*sequence{}, drops: map[uint32]uint32{}}
	if conf != nil {
		e.Name, e.rate = conf.Name, conf.SamplingRate
	} else {
		c.auto++
		e.Name = fmt.Sprintf("exporter-%d", c.auto)
	}
	c.byKey[k] = e
	c.order = append(c.order, e)
	return e
}

// Stats is a Collector's account: its exporters, the named ones in the order first heard
// from, then "other" by protocol, and the datagrams that were no export datagram at all.
type Stats struct {
	Exporters []Exporter
	// Invalid counts by protocol (Protocols order) the datagrams that could not be read as
	// one: another version, too short, a header that does not parse.
	Invalid [numProtocols]uint64
}

// Stats returns the Collector's account so far.
func (c *Collector) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := Stats{Exporters: make([]Exporter, 0, len(c.order)+len(c.other)), Invalid: c.invalid}
	for _, e := range c.order {
		s.Exporters = append(s.Exporters, e.Exporter)
	}
	for _, e := range c.other {
		if e != nil {
			s.Exporters = append(s.Exporters, e.Exporter)
		}
	}
	return s
}

// countInvalid counts a datagram of p that is none.
func (c *Collector) countInvalid(p Protocol) {
	c.mu.Lock()
	c.invalid[p]++
	c.mu.Unlock()
}

// gap accounts sequence number seq of stream id, whose datagram moves it on by n (1 for a
// datagram count, its records for IPFIX), and returns what the sequence says was lost since
// the previous datagram. A number behind the expected one (a reordered datagram or an
// agent's restart) restarts the count without a loss. c.mu must be held.
func (e *exporter) gap(id, seq, n uint32) uint64 {
	s := e.seq[id]
	if s == nil {
		if e.seq == nil || len(e.seq) >= maxStreams { // "other" follows no sequence
			return 0
		}
		s = &sequence{}
		e.seq[id] = s
	}
	var lost uint64
	// Differences are taken modulo 2^32, as the counters wrap; a jump of more than half
	// the space is a step back.
	if d := seq - s.next; s.ok && d != 0 && d < 1<<31 {
		lost = uint64(d)
	}
	s.next, s.ok = seq+n, true
	return lost
}

// dropped accounts the drops counter of a data source and returns its increase since the
// last sample of that source. c.mu must be held.
func (e *exporter) dropped(source, drops uint32) uint64 {
	last, ok := e.drops[source]
	if !ok {
		if e.drops == nil || len(e.drops) >= maxStreams {
			return 0
		}
		e.drops[source] = drops
		return uint64(drops)
	}
	e.drops[source] = drops
	if d := drops - last; d < 1<<31 {
		return uint64(d)
	}
	return 0 // the agent restarted
}

// rateOf is the rate a sample or record of e is weighted by: the configured one, else the
// one its exporter stated, else the default; never 0.
func (c *Collector) rateOf(e *exporter, stated uint32) uint32 {
	switch {
	case e.rate != 0:
		return e.rate
	case stated != 0:
		return stated
	}
	return max(c.cfg.DefaultRate, 1)
}
