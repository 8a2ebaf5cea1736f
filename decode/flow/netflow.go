package flow

import (
	"bytes"
	"encoding/binary"
	"math"
	"net/netip"

	"github.com/netsampler/goflow2/v2/decoders/netflow"

	"github.com/ntpwatch/ntpwatch/decode"
)

// NetFlow v9 (RFC 3954) and IPFIX (RFC 7011) are template-based: an exporter sends
// templates (field types and lengths) and then data sets in their layout, and options
// templates and data for what it says of itself, such as its sampling rate. The information
// elements read are IANA's IPFIX registry numbers, which NetFlow v9's field types below 128
// share (RFC 7012, RFC 5477 for the packet sections of PSAMP).
const (
	ieOctetDelta       = 1   // octetDeltaCount, NetFlow IN_BYTES: IP header and payload
	iePacketDelta      = 2   // packetDeltaCount, IN_PKTS
	ieProtocol         = 4   // protocolIdentifier
	ieSrcPort          = 7   // sourceTransportPort
	ieSrcIPv4          = 8   // sourceIPv4Address
	ieDstPort          = 11  // destinationTransportPort
	ieDstIPv4          = 12  // destinationIPv4Address
	iePostOctetDelta   = 23  // postOctetDeltaCount, NetFlow OUT_BYTES
	iePostPacketDelta  = 24  // postPacketDeltaCount, OUT_PKTS
	ieSrcIPv6          = 27  // sourceIPv6Address
	ieDstIPv6          = 28  // destinationIPv6Address
	ieSamplingInterval = 34  // samplingInterval, NetFlow SAMPLING_INTERVAL
	ieSamplerID        = 48  // samplerId, NetFlow FLOW_SAMPLER_ID
	ieSamplerInterval  = 50  // samplerRandomInterval, NetFlow FLOW_SAMPLER_RANDOM_INTERVAL
	ieIPTotalLength    = 224 // ipTotalLength
	ieSelectorID       = 302 // selectorId (PSAMP)
	iePacketInterval   = 305 // samplingPacketInterval: packets selected in a row
	iePacketSpace      = 306 // samplingPacketSpace: packets passed over after them
	ieSamplingSize     = 309 // samplingSize: n of n-out-of-N
	ieSamplingPop      = 310 // samplingPopulation: N
	ieSamplingProb     = 311 // samplingProbability, a float64
	ieFrameSize        = 312 // dataLinkFrameSize
	ieIPHeaderSection  = 313 // ipHeaderPacketSection: the IP packet from its header on
	ieFrameSection     = 315 // dataLinkFrameSection: the frame from its link header on
	ieSectionExported  = 410 // sectionExportedOctets: the section's bytes, without padding

	ipProtoUDP = 17
	// The headers a flow record's bytes count besides the UDP payload (IPv4 without options,
	// IPv6 without extension headers, UDP), and the Ethernet header of the wire length.
	ipv4Header, ipv6Header, udpHeader, ethernetHeader = 20, 40, 8, 14
)

// Bounds on what exporters can make a source keep: templates per exporter address, the
// addresses kept, and the samplers whose rates an exporter declared.
const (
	maxTemplates         = 1024
	maxTemplateExporters = 1024
	maxSamplers          = 256
)

// netflowDatagram decodes one NetFlow v9 or IPFIX datagram from the exporter at from into
// s.items, and accounts it. Data sets whose template has not come yet are counted as
// unread; the rest of the datagram is read.
func (s *source) netflowDatagram(b []byte, from netip.Addr, p Protocol) {
	var v9 netflow.NFv9Packet
	var fix netflow.IPFIXPacket
	ts := s.templates(from)
	err := netflow.DecodeMessageVersion(bytes.NewBuffer(b), ts, &v9, &fix)
	var sets []any
	var domain, seq uint32
	switch {
	case v9.Version == 9:
		p, sets, domain, seq = NetFlow, v9.FlowSets, v9.SourceId, v9.SequenceNumber
	case fix.Version == 10:
		p, sets, domain, seq = IPFIX, fix.FlowSets, fix.ObservationDomainId, fix.SequenceNumber
	}
	if err != nil && sets == nil {
		s.c.countInvalid(p)
		return
	}
	c := s.c
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.exporter(from, p)
	e.Datagrams++
	dk := domainKey{from, p, domain}
	// Options data first: it may state the rate of the records beside it.
	for _, set := range sets {
		if o, ok := set.(netflow.OptionsDataFlowSet); ok {
			for i := range o.Records {
				s.samplingOption(dk, o.Records[i].OptionsValues)
			}
		}
	}
	records, unread := 0, 0
	for _, set := range sets {
		switch v := set.(type) {
		case netflow.DataFlowSet:
			records += len(v.Records)
			for i := range v.Records {
				s.dataRecord(e, dk, v.Records[i].Values)
			}
		case netflow.OptionsDataFlowSet:
			records += len(v.Records)
		case netflow.RawFlowSet:
			unread++ // no template: its record count is unknown too
		}
	}
	e.Unread += uint64(unread)
	if p == NetFlow {
		e.Lost += e.gap(domain, seq, 1)
	} else {
		e.Lost += e.gap(domain, seq, uint32(records))
		if st := e.seq[domain]; st != nil && unread > 0 {
			st.ok = false // the records of the unread sets are not known
		}
	}
}

// domainKey is an exporter's observation domain (IPFIX) or source id (NetFlow v9), in which
// template and sampler ids are unique.
type domainKey struct {
	addr   netip.Addr
	proto  Protocol
	domain uint32
}

// samplers are the sampling rates an observation domain declared in its options data: by
// sampler id, and the one of the domain without an id.
type samplers struct {
	byID   map[uint64]uint32
	domain uint32
}

// samplingOption takes the sampling rate that an options data record declares, for its
// sampler id or for its whole domain. c.mu is held.
func (s *source) samplingOption(dk domainKey, values []netflow.DataField) {
	var f recordFields
	f.read(values)
	if f.rate == 0 {
		return
	}
	sm := s.samplers[dk]
	if sm == nil {
		if len(s.samplers) >= maxTemplateExporters {
			return
		}
		sm = &samplers{byID: map[uint64]uint32{}}
		s.samplers[dk] = sm
	}
	switch {
	case !f.hasSampler:
		sm.domain = f.rate
	case len(sm.byID) < maxSamplers || sm.byID[f.sampler] != 0:
		sm.byID[f.sampler] = f.rate
	}
}

// stated is the rate a record's exporter states for it: its own fields, else its sampler's,
// else its domain's; 0 when none.
func (s *source) stated(dk domainKey, f *recordFields) uint32 {
	if f.rate != 0 {
		return f.rate
	}
	sm := s.samplers[dk]
	switch {
	case sm == nil:
		return 0
	case f.hasSampler && sm.byID[f.sampler] != 0:
		return sm.byID[f.sampler]
	}
	return sm.domain
}

// dataRecord makes the item of one data record: a packet sample when it carries a packet
// section (PSAMP), else a flow record. c.mu is held.
func (s *source) dataRecord(e *exporter, dk domainKey, values []netflow.DataField) {
	var f recordFields
	f.read(values)
	rate := s.c.rateOf(e, s.stated(dk, &f))
	e.Rate = rate
	if f.section != nil {
		e.Samples++
		it := item{header: f.section, link: f.link, wire: len(f.section), rate: rate}
		if f.exported > 0 && f.exported < len(it.header) {
			it.header = it.header[:f.exported] // the rest is the template's padding
		}
		if f.frameSize > 0 {
			it.wire = f.frameSize
		}
		s.items = append(s.items, it)
		return
	}
	e.Records++
	s.items = append(s.items, item{src: f.src, dst: f.dst, sport: f.sport, dport: f.dport, ipProto: f.proto,
		packets: f.packets, bytes: f.bytes, rate: rate})
}

// recordFields are the information elements of a data record that ntpwatch reads.
type recordFields struct {
	src, dst       netip.Addr
	sport, dport   uint16
	proto          uint8
	packets, bytes uint64
	postPackets    uint64
	postBytes      uint64
	rate           uint32 // stated in the record itself; 0 when not
	sampler        uint64
	hasSampler     bool
	section        []byte // a packet sample's bytes, from link
	link           decode.LinkType
	frameSize      int // the sampled frame's length on the wire, 0 when not stated
	exported       int
}

// read takes f's fields from a record's values. Values of enterprise-specific elements (an
// IPFIX biflow's reverse counts, RFC 5103) are passed over; integers may come in fewer bytes
// than their type's (RFC 7011 section 6.2, reduced-size encoding).
func (f *recordFields) read(values []netflow.DataField) {
	var interval, space, size, population uint64
	var probability float64
	for i := range values {
		v := &values[i]
		b, ok := v.Value.([]byte)
		if !ok || v.PenProvided {
			continue
		}
		switch v.Type {
		case ieSrcIPv4, ieSrcIPv6:
			f.src, _ = netip.AddrFromSlice(b)
		case ieDstIPv4, ieDstIPv6:
			f.dst, _ = netip.AddrFromSlice(b)
		case ieSrcPort:
			f.sport = uint16(uintOf(b))
		case ieDstPort:
			f.dport = uint16(uintOf(b))
		case ieProtocol:
			f.proto = uint8(uintOf(b))
		case iePacketDelta:
			f.packets = uintOf(b)
		case ieOctetDelta:
			f.bytes = uintOf(b)
		case iePostPacketDelta:
			f.postPackets = uintOf(b)
		case iePostOctetDelta:
			f.postBytes = uintOf(b)
		case ieSamplingInterval, ieSamplerInterval:
			f.rate = clampRate(uintOf(b))
		case ieSamplerID, ieSelectorID:
			f.sampler, f.hasSampler = uintOf(b), true
		case iePacketInterval:
			interval = uintOf(b)
		case iePacketSpace:
			space = uintOf(b)
		case ieSamplingSize:
			size = uintOf(b)
		case ieSamplingPop:
			population = uintOf(b)
		case ieSamplingProb:
			if len(b) == 8 {
				probability = math.Float64frombits(binary.BigEndian.Uint64(b))
			}
		case ieFrameSection:
			f.section, f.link = b, decode.LinkTypeEthernet
		case ieIPHeaderSection:
			f.section, f.link = b, decode.LinkTypeRaw
		case ieFrameSize, ieIPTotalLength:
			f.frameSize = int(min(uintOf(b), math.MaxInt32))
		case ieSectionExported:
			f.exported = int(uintOf(b))
		}
	}
	// An exporter that counts egress only (OUT_PKTS, OUT_BYTES) counts the same packets.
	if f.packets == 0 && f.bytes == 0 {
		f.packets, f.bytes = f.postPackets, f.postBytes
	}
	// PSAMP's selectors (RFC 5476): systematic count-based sampling selects interval packets
	// and passes over space; n-out-of-N and probabilistic sampling select size of population
	// and one packet in 1/probability.
	switch {
	case f.rate != 0:
	case interval > 0:
		f.rate = clampRate((interval + space) / interval)
	case size > 0 && population > 0:
		f.rate = clampRate(population / size)
	case probability > 0 && probability <= 1:
		f.rate = clampRate(uint64(math.Round(1 / probability)))
	}
}

// uintOf reads an unsigned integer of up to 8 bytes, big-endian.
func uintOf(b []byte) uint64 {
	var v uint64
	for _, c := range b[:min(len(b), 8)] {
		v = v<<8 | uint64(c)
	}
	return v
}

// clampRate is a stated rate as the uint32 a Frame's weight holds.
func clampRate(v uint64) uint32 { return uint32(min(v, math.MaxUint32)) }

// templates returns the template store of the exporter at addr, nil when the source keeps as
// many as it may (goflow2 then reports the data sets as lacking templates).
func (s *source) templates(addr netip.Addr) netflow.NetFlowTemplateSystem {
	t := s.tmpl[addr]
	if t == nil {
		if len(s.tmpl) >= maxTemplateExporters {
			return nil
		}
		t = &templates{m: map[uint64]any{}}
		s.tmpl[addr] = t
	}
	return t
}

// templates is one exporter's templates, as goflow2 stores them, and bounded: an exporter
// cannot make a source keep more than maxTemplates, and a template whose records have no
// length is refused, as goflow2 v2.2.6 would loop forever on its data (a data set's records
// are read while the set holds a record's length, which is then 0).
type templates struct {
	m map[uint64]any
}

func templateKey(version uint16, domain uint32, id uint16) uint64 {
	return uint64(version)<<48 | uint64(domain)<<16 | uint64(id)
}

// AddTemplate keeps a template, or passes over it: its data sets are then unread, and the
// rest of the datagram is read.
func (t *templates) AddTemplate(version uint16, domain uint32, id uint16, template any) error {
	var fields []netflow.Field
	switch v := template.(type) {
	case netflow.TemplateRecord:
		fields = v.Fields
	case netflow.IPFIXOptionsTemplateRecord:
		fields = append(append(fields, v.Scopes...), v.Options...)
	case netflow.NFv9OptionsTemplateRecord:
		fields = append(append(fields, v.Scopes...), v.Options...)
	}
	k := templateKey(version, domain, id)
	if _, ok := t.m[k]; !ok && len(t.m) >= maxTemplates || !hasLength(fields) {
		return nil
	}
	t.m[k] = template
	return nil
}

// hasLength reports whether a record of fields takes at least a byte: a field of fixed length,
// or one of variable length (0xffff), which takes its length byte.
func hasLength(fields []netflow.Field) bool {
	for _, f := range fields {
		if f.Length > 0 {
			return true
		}
	}
	return false
}

// GetTemplate returns a template, or goflow2's ErrorTemplateNotFound.
func (t *templates) GetTemplate(version uint16, domain uint32, id uint16) (any, error) {
	if v, ok := t.m[templateKey(version, domain, id)]; ok {
		return v, nil
	}
	return nil, netflow.ErrorTemplateNotFound
}

// RemoveTemplate removes a template (IPFIX template withdrawal).
func (t *templates) RemoveTemplate(version uint16, domain uint32, id uint16) (any, error) {
	k := templateKey(version, domain, id)
	v, ok := t.m[k]
	if !ok {
		return nil, netflow.ErrorTemplateNotFound
	}
	delete(t.m, k)
	return v, nil
}

// GetTemplates returns every template.
func (t *templates) GetTemplates() netflow.FlowBaseTemplateSet {
	out := make(netflow.FlowBaseTemplateSet, len(t.m))
	for k, v := range t.m {
		out[k] = v
	}
	return out
}
