package decode

import (
	"net/netip"
	"time"

	"github.com/ntpwatch/ntpwatch/decode/proto"
)

// Kind says how far a frame was decoded and what the rest of the Packet holds.
type Kind uint8

const (
	// KindOther is a frame that is not a UDP datagram to or from a port of the protocol table
	// (or could not be decoded down to UDP). Only Time, WireLen, Weight, VLAN and Encap are
	// set; Problem may say why decoding stopped.
	KindOther Kind = iota
	// KindMessage is a UDP datagram on a protocol's port that its classifier read: every field
	// of Packet is set, the observation included (NTP too for an NTP message).
	KindMessage
	// KindMalformed is a UDP datagram on a protocol's port whose payload is not a valid message
	// of it. Addresses, ports, lengths and Proto are set; Problem says what was wrong.
	KindMalformed
	// KindFragment is a non-first IP fragment attributed to a datagram on a protocol's port
	// whose first fragment was seen: addresses, ports, Proto and the verdict (Dir, Vector,
	// Data, Refusal) are the datagram's, WireLen and IPLen this fragment's, PayloadLen the
	// bytes of the datagram's UDP payload it carries. The datagram was counted as one packet
	// with its first fragment; its fragments add their bytes as they arrive.
	KindFragment
)

// Packet is one decoded frame. It holds values only, never slices into the capture buffer, so
// it stays valid after the source reuses its buffer. A Decoder fills one Packet per call and
// the caller reuses it: NTP.Priv.Monlist keeps its backing array between calls.
//
// The fields from Proto to Refusal are the protocol-neutral observation the detection engine
// reads; NTP is the NTP header for the NTP log and nothing else.
type Packet struct {
	Kind    Kind
	Problem Problem // why decoding stopped or the message was rejected; ProblemNone if it was not

	Time    time.Time // capture timestamp: the only clock detectors use
	WireLen uint32    // bytes that crossed the link (the frame's wire length), not the captured length
	// Weight is how many real packets this one stands for: 1 for a tap, the sampling rate for
	// a sampled packet, the packets of a flow record times its sampling rate. Every packet and
	// byte counter of the engine is weighted by it.
	Weight uint32
	// Samples is how many sampled packets the observation rests on: 0 for full-packet input
	// (a tap, a capture file), 1 for a sampled header (sFlow, an IPFIX packet sample), and
	// for a flow record the packets it counted, before its exporter's sampling rate. The
	// engine gates incidents on it and states it in an alert's sampling.
	Samples uint32

	VLAN uint16 // outermost 802.1Q/802.1ad VLAN id, 0 when untagged
	// Encap is the VLAN tags, tunnels and mirror encapsulations the IP packet was found in,
	// outermost first; Src, Dst and the ports are the innermost packet's.
	Encap   Encap
	Src     netip.Addr
	Dst     netip.Addr
	SrcPort uint16
	DstPort uint16

	// IPLen is the IP datagram length from its header (IPv4 total length, IPv6 payload length
	// plus the fixed 40-byte header), whatever the snaplen cut off.
	IPLen uint32
	// MessageLen is the UDP payload length from the UDP length field (length - 8): the
	// length of the whole message, whatever part of it this frame carries. 0 for a
	// KindFragment.
	MessageLen uint32
	// PayloadLen is the bytes of that payload this frame carries, the byte count of the
	// bandwidth amplification factor: MessageLen for a whole datagram, what a fragment holds
	// for a fragmented one (from the IP header, never the captured length), so that a first
	// fragment whose datagram never completes claims only what crossed the link.
	PayloadLen uint32

	// Proto is the protocol of the datagram (nil for KindOther). It points into the
	// decoder's immutable protocol table.
	Proto *proto.Protocol
	// Dir, Vector, Data and Refusal are the classifier's verdict (proto.Message).
	Dir     proto.Dir
	Vector  int8
	Data    bool
	Refusal bool

	NTP proto.NTP // set when Kind is KindMessage and Proto is NTP
}

// Amplifying reports whether p is an amplifying request or reply: what the engine accounts.
func (p *Packet) Amplifying() bool {
	return p.Kind == KindMessage && p.Dir != proto.DirNone
}
