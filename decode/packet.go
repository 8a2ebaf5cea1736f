package decode

import (
	"net/netip"
	"time"
)

// Kind says how far a frame was decoded and what the rest of the Packet holds.
type Kind uint8

const (
	// KindOther is a frame that is not a UDP datagram to or from port 123 (or could not be
	// decoded down to UDP). Only Time and WireLen are set; Problem may say why decoding stopped.
	KindOther Kind = iota
	// KindNTP is a UDP datagram with port 123 on either side whose NTP header decoded: every
	// field of Packet is set, NTP included.
	KindNTP
	// KindMalformed is a UDP datagram with port 123 on either side whose payload is not a valid
	// NTP message. Addresses, ports and lengths are set; Problem says what was wrong.
	KindMalformed
	// KindFragment is a non-first IP fragment attributed to a port-123 datagram whose first
	// fragment was seen: addresses and ports are the datagram's, WireLen is this fragment's,
	// PayloadLen is 0 (the datagram's payload was counted with its first fragment).
	KindFragment
)

// Packet is one decoded frame. It holds values only, never slices into the capture buffer, so
// it stays valid after the source reuses its buffer. A Decoder fills one Packet per call and
// the caller reuses it: Monlist keeps its backing array between calls.
type Packet struct {
	Kind    Kind
	Problem Problem // why decoding stopped or the NTP message was rejected; ProblemNone if it was not

	Time    time.Time // capture timestamp: the only clock detectors use
	WireLen uint32    // bytes that crossed the link (CaptureInfo.Length), not the captured length

	VLAN    uint16 // outermost 802.1Q/802.1ad VLAN id, 0 when untagged
	Src     netip.Addr
	Dst     netip.Addr
	SrcPort uint16
	DstPort uint16

	// IPLen is the IP datagram length from its header (IPv4 total length, IPv6 payload length
	// plus the fixed 40-byte header), whatever the snaplen cut off.
	IPLen uint32
	// PayloadLen is the UDP payload length from the UDP length field (length - 8): the byte
	// count of the bandwidth amplification factor.
	PayloadLen uint32

	NTP NTP // set when Kind is KindNTP
}

// NTP is a decoded NTP header. Mode selects which of Std, Ctl and Priv is meaningful; the
// others are zero.
type NTP struct {
	LI      uint8 // leap indicator (modes 1-6); for mode 7 the same two bits are R and M, see Priv
	Version uint8
	Mode    uint8 // 1-5 RFC 5905, 6 control (ntpq), 7 private (ntpdc)
	// Partial is set when the snaplen or IP fragmentation cut the message short: the header
	// fields and monlist items whose bytes were not captured are zero or absent, while lengths
	// and counts still come from the headers.
	Partial bool

	Std  Standard // modes 1-5
	Ctl  Control  // mode 6
	Priv Private  // mode 7
}

// Standard is the RFC 5905 header of modes 1-5 (section 7.3).
type Standard struct {
	Stratum        uint8
	Poll           int8
	Precision      int8
	RootDelay      uint32  // NTP short format (16.16 seconds), raw
	RootDispersion uint32  // NTP short format (16.16 seconds), raw
	ReferenceID    [4]byte // raw: an IPv4 address, a four-character code, or an IPv6 hash
	ReferenceTS    uint64  // NTP timestamp format (32.32 seconds since 1900), raw
	OriginTS       uint64
	ReceiveTS      uint64
	TransmitTS     uint64
	ExtensionLen   uint16 // bytes of RFC 7822 extension fields after the 48-byte header
	MACLen         uint16 // bytes of key id + digest at the end (0, 20 or 24 usually)
}

// Control is the 12-byte mode 6 header (RFC 1305 appendix B, RFC 9327).
type Control struct {
	Response      bool // R
	Error         bool // E
	More          bool // M
	OpCode        uint8
	Sequence      uint16
	Status        uint16
	AssociationID uint16
	Offset        uint16
	Count         uint16 // data bytes that follow the header
}

// Private is the 8-byte mode 7 header (ntpd include/ntp_request.h) and, for a monlist reply,
// the client addresses it lists.
type Private struct {
	Response       bool // R
	More           bool // M
	Auth           bool // A
	Sequence       uint8
	Implementation uint8
	RequestCode    uint8
	Err            uint8  // 4 bits
	Items          uint16 // 12 bits
	MBZ            uint8  // 4 bits that must be zero
	ItemSize       uint16 // 12 bits
	// Monlist holds the addresses named by the items of a MON_GETLIST or MON_GETLIST_1 reply.
	// Its backing array belongs to the Packet and is reused by the next Decode.
	Monlist []netip.Addr
}
