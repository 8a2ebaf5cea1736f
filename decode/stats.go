package decode

import "github.com/ntpwatch/ntpwatch/decode/proto"

// Stats counts what a Decoder saw. Every frame is counted once in Frames, every flow record
// (Decoder.Record) once in Records, and each of them once in exactly one of Other, Messages,
// Malformed and Fragments. It is a plain value: copying it allocates nothing.
type Stats struct {
	Frames    uint64 // frames decoded
	WireBytes uint64 // sum of their wire lengths
	Records   uint64 // flow records counted (NetFlow, IPFIX): observations without a frame
	Other     uint64 // KindOther: on no port of the protocol table, or not decoded down to UDP
	Messages  uint64 // KindMessage
	Malformed uint64 // KindMalformed: on a protocol's port but not a message of it
	Fragments uint64 // KindFragment: non-first fragments attributed to a datagram of the table

	// Protocols counts the messages of each protocol, indexed by proto.Protocol.ID.
	Protocols [proto.MaxProtocols]ProtocolStats
	NTPModes  [8]uint64 // NTP messages by mode
	Partial   uint64    // messages cut short by the snaplen or fragmentation

	// Problems counts frames by reason, indexed by Problem; Problems[ProblemNone] counts the
	// frames without one. Problems[ProblemOrphanFragment] are non-first UDP fragments whose
	// first fragment was not seen.
	Problems [numProblems]uint64

	// NotIP counts the frames whose network layer is neither IPv4 nor IPv6: ARP, LLDP,
	// PPPoE discovery, PPP's control protocols, STP and the like, the link's own traffic.
	// They are among Other and have no Problem.
	NotIP uint64

	// Encaps counts frames by the encapsulations they went through, indexed by EncapKind:
	// a frame counts once in each kind it crossed, however many of its headers were of
	// that kind (two VLAN tags, a stack of MPLS labels).
	Encaps [numEncaps]uint64

	FragmentsTracked  uint64 // datagrams in the fragment table now
	FragmentEvictions uint64 // datagrams pushed out of the full fragment table

	// LinkTypes counts frames by link type, the first maxLinkTypes types seen; frames of
	// further types count in OtherLinkTypes.
	LinkTypes      [maxLinkTypes]LinkCount
	OtherLinkTypes uint64
	lastLink       int // index in LinkTypes of the latest frame's type: captures rarely mix
}

// ProtocolStats counts one protocol's messages.
type ProtocolStats struct {
	Messages  uint64 // well-formed messages
	Malformed uint64 // datagrams on its port that are not its messages (NTP's alone)
	Fragments uint64 // non-first fragments attributed to its datagrams
	// Requests and Responses count the amplifying ones by vector, proto.VectorUnknown's
	// (flow records) after the protocol's own.
	Requests  [proto.VectorSlots]uint64
	Responses [proto.VectorSlots]uint64
}

// LinkCount is the frames of one link type.
type LinkCount struct {
	Type   LinkType
	Frames uint64
}

// maxLinkTypes bounds the link types counted apart: a pcapng file may declare any number of
// interfaces, each with its own type.
const maxLinkTypes = 8

// countLink counts one frame of link type l.
func (s *Stats) countLink(l LinkType) {
	if c := &s.LinkTypes[s.lastLink]; c.Type == l && c.Frames > 0 {
		c.Frames++
		return
	}
	for i := range s.LinkTypes {
		c := &s.LinkTypes[i]
		if c.Frames == 0 || c.Type == l {
			c.Type = l
			c.Frames++
			s.lastLink = i
			return
		}
	}
	s.OtherLinkTypes++
}

// countKind counts p in the counter of its Kind and, a message, in its protocol's.
func (s *Stats) countKind(p *Packet) {
	switch p.Kind {
	case KindMessage:
		s.Messages++
		s.count(p)
	case KindMalformed:
		s.Malformed++
		s.Protocols[p.Proto.ID].Malformed++
	case KindFragment:
		s.Fragments++
		s.Protocols[p.Proto.ID].Fragments++
	default:
		s.Other++
	}
}

// count counts a message of p's protocol.
func (s *Stats) count(p *Packet) {
	ps := &s.Protocols[p.Proto.ID]
	ps.Messages++
	if p.Vector >= 0 {
		switch p.Dir {
		case proto.DirRequest:
			ps.Requests[p.Vector]++
		case proto.DirResponse:
			ps.Responses[p.Vector]++
		}
	}
	if p.NTP.Mode != 0 { // only the NTP classifier fills it, and mode 0 is malformed
		s.NTPModes[p.NTP.Mode&7]++
		if p.NTP.Partial {
			s.Partial++
		}
	}
}

// Add adds o's counters to s, to total the Decoders of several capture goroutines.
// FragmentsTracked is summed too.
func (s *Stats) Add(o Stats) {
	s.Frames += o.Frames
	s.WireBytes += o.WireBytes
	s.Records += o.Records
	s.Other += o.Other
	s.Messages += o.Messages
	s.Malformed += o.Malformed
	s.Fragments += o.Fragments
	for i := range s.Protocols {
		p, q := &s.Protocols[i], &o.Protocols[i]
		p.Messages += q.Messages
		p.Malformed += q.Malformed
		p.Fragments += q.Fragments
		for v := range p.Requests {
			p.Requests[v] += q.Requests[v]
			p.Responses[v] += q.Responses[v]
		}
	}
	for i := range s.NTPModes {
		s.NTPModes[i] += o.NTPModes[i]
	}
	s.Partial += o.Partial
	for i := range s.Problems {
		s.Problems[i] += o.Problems[i]
	}
	s.NotIP += o.NotIP
	for i := range s.Encaps {
		s.Encaps[i] += o.Encaps[i]
	}
	s.FragmentsTracked += o.FragmentsTracked
	s.FragmentEvictions += o.FragmentEvictions
	for _, c := range o.LinkTypes {
		if c.Frames > 0 {
			s.addLink(c)
		}
	}
	s.OtherLinkTypes += o.OtherLinkTypes
}

func (s *Stats) addLink(c LinkCount) {
	for i := range s.LinkTypes {
		d := &s.LinkTypes[i]
		if d.Frames == 0 || d.Type == c.Type {
			d.Type = c.Type
			d.Frames += c.Frames
			return
		}
	}
	s.OtherLinkTypes += c.Frames
}
