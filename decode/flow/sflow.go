package flow

import (
	"bytes"
	"encoding/binary"
	"net/netip"

	"github.com/netsampler/goflow2/v2/decoders/sflow"

	"github.com/ntpwatch/ntpwatch/decode"
)

// sFlow v5: a datagram is a header (version 5, the agent's address, sub-agent id, sequence
// number, uptime, sample count) and samples; a flow sample (format 1, or 3 with expanded
// interface numbers) carries the agent's sampling rate, its drops counter and flow records,
// of which the raw packet header (format 1) holds the first bytes of the sampled frame, its
// header protocol and the frame's length. Sources: sflow.org's SFLOW-DATAGRAM5.txt and
// SFLOW-STRUCTS5.txt; Wireshark's epan/dissectors/packet-sflow.c.
const (
	sflowVersion      = 5
	sflowFormatFlow   = 1 // flow_sample, enterprise 0
	sflowFormatExpand = 3 // flow_sample_expanded, enterprise 0
	// The header protocols read, of SFLOW-STRUCTS5's header_protocol.
	sflowHeaderEthernet = 1  // ETHERNET-ISO88023
	sflowHeaderIPv4     = 11 // IPv4
	sflowHeaderIPv6     = 12 // IPv6
	// ethernetFCS is the frame check sequence that an Ethernet sample's frame_length counts
	// ("including FCS octets") and a capture's wire length does not.
	ethernetFCS = 4
	// maxFlowRecords is what goflow2 allows in a flow sample; it does not check an expanded
	// one's count before allocating it, so sflowSafe does.
	maxFlowRecords = 1000
)

// sflowDatagram decodes one sFlow datagram from the exporter at from into s.items, and
// accounts it. A datagram cut short decodes to its whole samples: goflow2 leaves the slots
// of the missing ones empty, and they are skipped.
func (s *source) sflowDatagram(b []byte, from netip.Addr) {
	var pkt sflow.Packet
	if !sflowSafe(b) {
		s.c.countInvalid(SFlow)
		return
	}
	if err := sflow.DecodeMessageVersion(bytes.NewBuffer(b), &pkt); err != nil && pkt.Samples == nil {
		// Without a header there is no exporter to account; a sample that does not decode
		// leaves the ones before it, which are kept.
		s.c.countInvalid(SFlow)
		return
	}
	agent, ok := netip.AddrFromSlice(pkt.AgentIP)
	if !ok {
		agent = from
	}
	c := s.c
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.exporter(agent, SFlow)
	e.Datagrams++
	e.Lost += e.gap(pkt.SubAgentId, pkt.SequenceNumber, 1)
	for _, sample := range pkt.Samples {
		var rate, drops, source uint32
		var records []sflow.FlowRecord
		switch v := sample.(type) {
		case sflow.FlowSample:
			rate, drops, records = v.SamplingRate, v.Drops, v.Records
			source = v.Header.SourceIdType<<24 | v.Header.SourceIdValue
		case sflow.ExpandedFlowSample:
			rate, drops, records = v.SamplingRate, v.Drops, v.Records
			source = v.Header.SourceIdType<<24 | v.Header.SourceIdValue
		default:
			continue // counter samples, drop reports, the empty slots of a cut datagram
		}
		e.Drops += e.dropped(source, drops)
		rate = c.rateOf(e, rate)
		e.Rate = rate
		for _, r := range records {
			h, ok := r.Data.(sflow.SampledHeader)
			if !ok {
				continue // extended data (switch, router, gateway...) and empty slots
			}
			e.Samples++
			it, ok := sampledHeader(&h)
			if !ok {
				e.Unread++
				continue
			}
			it.rate = rate
			s.items = append(s.items, it)
		}
	}
}

// sampledHeader is the item of a raw packet header record.
func sampledHeader(h *sflow.SampledHeader) (item, bool) {
	it := item{header: h.HeaderData, wire: int(h.FrameLength)}
	// goflow2 keeps the record's padding to four bytes; header_length says what it holds.
	if n := int(h.OriginalLength); n < len(it.header) {
		it.header = it.header[:n]
	}
	switch h.Protocol {
	case sflowHeaderEthernet:
		it.link = decode.LinkTypeEthernet
		if h.Stripped >= ethernetFCS && it.wire >= ethernetFCS {
			it.wire -= ethernetFCS
		}
	case sflowHeaderIPv4:
		it.link = decode.LinkTypeIPv4
	case sflowHeaderIPv6:
		it.link = decode.LinkTypeIPv6
	default:
		return item{}, false
	}
	if len(it.header) == 0 {
		return item{}, false
	}
	return it, true
}

// sflowSafe walks the samples of a datagram and refuses one whose expanded flow sample
// declares more flow records than goflow2 allows in the standard ones: goflow2 v2.2.6
// allocates an expanded sample's records before reading them, so that a forged count of
// four billion would take the process down. A datagram too short to walk is left to goflow2,
// which reports it.
func sflowSafe(b []byte) bool {
	be := binary.BigEndian
	if len(b) < 8 {
		return true
	}
	off := 8 // version, address type
	switch be.Uint32(b[4:]) {
	case 1:
		off += 4
	case 2:
		off += 16
	default:
		return true
	}
	off += 12 // sub-agent id, sequence number, uptime
	if len(b) < off+4 {
		return true
	}
	n := be.Uint32(b[off:])
	off += 4
	for i := uint32(0); i < n && len(b)-off >= 8; i++ {
		format, length := be.Uint32(b[off:]), int(be.Uint32(b[off+4:]))
		off += 8
		if length < 0 || length > len(b)-off {
			return true
		}
		// An expanded sample: sequence, source type and index, rate, pool, drops, input
		// format and value, output format and value, then the records' count.
		if format == sflowFormatExpand && length >= 44 && be.Uint32(b[off+40:]) > maxFlowRecords {
			return false
		}
		off += length
	}
	return true
}
