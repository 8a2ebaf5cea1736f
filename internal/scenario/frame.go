package scenario

import (
	"encoding/binary"
	"net/netip"
)

// Endpoints says where a datagram goes and how it is framed on the wire.
type Endpoints struct {
	SrcMAC, DstMAC [6]byte
	// VLANs are the 802.1Q tags, outermost first. With two or more, the outer ones use the
	// 802.1ad service tag type (0x88a8), as QinQ links do.
	VLANs   []uint16
	Src     netip.Addr
	Dst     netip.Addr
	SrcPort uint16
	DstPort uint16
}

// Reverse returns the endpoints of the answer: the same link with source and destination
// swapped. The VLANs slice is shared.
func (ep *Endpoints) Reverse() *Endpoints {
	return &Endpoints{
		SrcMAC: ep.DstMAC, DstMAC: ep.SrcMAC, VLANs: ep.VLANs,
		Src: ep.Dst, Dst: ep.Src, SrcPort: ep.DstPort, DstPort: ep.SrcPort,
	}
}

// minFrame is the smallest Ethernet frame without its FCS: shorter frames are padded on the
// wire, and captures show the padding.
const minFrame = 60

// Ethernet types and IP protocol numbers of the frames built here.
const (
	etherTypeIPv4 = 0x0800
	etherTypeIPv6 = 0x86dd
	etherTypeVLAN = 0x8100
	etherTypeQinQ = 0x88a8
	protoTCP      = 6
	protoUDP      = 17
)

// AppendUDP appends to b an Ethernet frame carrying payload in a UDP datagram, as a real
// stack would put it on the wire, so that any tool reads it: IPv4 datagrams get a header
// checksum and no UDP checksum (allowed by RFC 768); IPv6 ones get the mandatory UDP
// checksum (RFC 8200 section 8.1). ipID is the IPv4 identification field.
func AppendUDP(b []byte, ep *Endpoints, ipID uint16, payload []byte) []byte {
	start := len(b)
	udpLen := 8 + len(payload)
	if ep.Src.Is4() {
		b = appendEthernet(b, ep, ep.VLANs, etherTypeIPv4)
		b = appendIPv4(b, ep, ipID, protoUDP, udpLen)
		b = appendUDP(b, ep, udpLen, payload, 0)
	} else {
		b = appendEthernet(b, ep, ep.VLANs, etherTypeIPv6)
		b = appendIPv6(b, ep, protoUDP, udpLen)
		s, d := ep.Src.As16(), ep.Dst.As16()
		// The pseudo-header sum: addresses, upper-layer length and next header.
		var pseudo uint32
		for i := 0; i < 16; i += 2 {
			pseudo += uint32(binary.BigEndian.Uint16(s[i:])) + uint32(binary.BigEndian.Uint16(d[i:]))
		}
		pseudo += uint32(udpLen) + protoUDP
		b = appendUDP(b, ep, udpLen, payload, pseudo)
	}
	return pad(b, start)
}

// appendIPv6 appends a 40-byte IPv6 header for a body of bodyLen bytes of protocol: hop
// limit 64.
func appendIPv6(b []byte, ep *Endpoints, protocol byte, bodyLen int) []byte {
	b = append(b, 0x60, 0, 0, 0)
	b = binary.BigEndian.AppendUint16(b, uint16(bodyLen))
	b = append(b, protocol, 64)
	s, d := ep.Src.As16(), ep.Dst.As16()
	b = append(b, s[:]...)
	return append(b, d[:]...)
}

// appendIP appends an IPv4 or IPv6 header (by ep's address family) and body.
func appendIP(b []byte, ep *Endpoints, ipID uint16, protocol byte, body []byte) []byte {
	if ep.Src.Is4() {
		b = appendIPv4(b, ep, ipID, protocol, len(body))
	} else {
		b = appendIPv6(b, ep, protocol, len(body))
	}
	return append(b, body...)
}

// mtu is the largest IP packet of the scenarios' links: Ethernet's.
const mtu = 1500

// AppendUDPFragments returns the Ethernet frames of a UDP datagram over IPv4 too large for
// one frame, cut into fragments as a stack sends them (RFC 791 section 2.3): the first holds
// the UDP header and the start of the payload, every fragment but the last carries a multiple
// of 8 bytes and the more-fragments flag, and all share the identification ipID. A datagram
// that fits one frame is that frame alone.
func AppendUDPFragments(ep *Endpoints, ipID uint16, payload []byte) [][]byte {
	udpLen := 8 + len(payload)
	if !ep.Src.Is4() || 20+udpLen <= mtu {
		return [][]byte{AppendUDP(nil, ep, ipID, payload)}
	}
	body := appendUDP(nil, ep, udpLen, payload, 0)
	var frames [][]byte
	for off := 0; off < len(body); {
		n := min(len(body)-off, (mtu-20)&^7)
		frag := uint16(off / 8)
		if off+n < len(body) {
			frag |= 0x2000
		}
		b := appendEthernet(nil, ep, ep.VLANs, etherTypeIPv4)
		b = appendIPv4Frag(b, ep, ipID, protoUDP, n, frag)
		frames = append(frames, pad(append(b, body[off:off+n]...), 0))
		off += n
	}
	return frames
}

// AppendTCP appends to b an Ethernet/IPv4 frame with a bare 20-byte TCP header and
// payloadLen zero bytes: background traffic that an NTP analyzer must pass over cheaply.
// ep.VLANs is ignored: the benchmark captures, which are cached by content version, were
// written with untagged TCP.
func AppendTCP(b []byte, ep *Endpoints, ipID uint16, flags byte, payloadLen int) []byte {
	start := len(b)
	b = appendEthernet(b, ep, nil, etherTypeIPv4)
	b = appendIPv4(b, ep, ipID, protoTCP, 20+payloadLen)
	b = binary.BigEndian.AppendUint16(b, ep.SrcPort)
	b = binary.BigEndian.AppendUint16(b, ep.DstPort)
	b = append(b, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, flags, 0xff, 0xff, 0, 0, 0, 0)
	b = append(b, make([]byte, payloadLen)...)
	return pad(b, start)
}

// appendEthernet appends the Ethernet header of ep with the given tags, outermost first.
func appendEthernet(b []byte, ep *Endpoints, vlans []uint16, etherType uint16) []byte {
	b = append(b, ep.DstMAC[:]...)
	b = append(b, ep.SrcMAC[:]...)
	for i, id := range vlans {
		tpid := uint16(etherTypeVLAN)
		if i < len(vlans)-1 {
			tpid = etherTypeQinQ
		}
		b = binary.BigEndian.AppendUint16(b, tpid)
		b = binary.BigEndian.AppendUint16(b, id&0x0fff)
	}
	return binary.BigEndian.AppendUint16(b, etherType)
}

// appendIPv4 appends a 20-byte IPv4 header with its checksum for a body of bodyLen bytes:
// don't fragment, TTL 64.
func appendIPv4(b []byte, ep *Endpoints, ipID uint16, protocol byte, bodyLen int) []byte {
	return appendIPv4Frag(b, ep, ipID, protocol, bodyLen, 0x4000)
}

// appendIPv4Frag is appendIPv4 with the flags and fragment offset field frag (RFC 791
// section 3.1: DF 0x4000, MF 0x2000, the offset in 8-byte units below).
func appendIPv4Frag(b []byte, ep *Endpoints, ipID uint16, protocol byte, bodyLen int, frag uint16) []byte {
	ip := len(b)
	b = append(b, 0x45, 0)
	b = binary.BigEndian.AppendUint16(b, uint16(20+bodyLen))
	b = binary.BigEndian.AppendUint16(b, ipID)
	b = binary.BigEndian.AppendUint16(b, frag)
	b = append(b, 64, protocol, 0, 0)
	s, d := ep.Src.As4(), ep.Dst.As4()
	b = append(b, s[:]...)
	b = append(b, d[:]...)
	binary.BigEndian.PutUint16(b[ip+10:], checksum(b[ip:ip+20], 0))
	return b
}

// appendUDP appends the UDP header and payload; pseudo is the IPv6 pseudo-header sum, or 0
// for IPv4, where the checksum is left out.
func appendUDP(b []byte, ep *Endpoints, udpLen int, payload []byte, pseudo uint32) []byte {
	u := len(b)
	b = binary.BigEndian.AppendUint16(b, ep.SrcPort)
	b = binary.BigEndian.AppendUint16(b, ep.DstPort)
	b = binary.BigEndian.AppendUint16(b, uint16(udpLen))
	b = append(b, 0, 0)
	b = append(b, payload...)
	if ep.Src.Is6() {
		c := checksum(b[u:], pseudo)
		if c == 0 {
			c = 0xffff // RFC 768: a computed zero is sent as all ones
		}
		binary.BigEndian.PutUint16(b[u+6:], c)
	}
	return b
}

// pad pads the frame that starts at b[start] to the Ethernet minimum.
func pad(b []byte, start int) []byte {
	for len(b)-start < minFrame {
		b = append(b, 0)
	}
	return b
}

// checksum is the Internet checksum (RFC 1071) of data, starting from the partial sum.
func checksum(data []byte, sum uint32) uint16 {
	for len(data) >= 2 {
		sum += uint32(binary.BigEndian.Uint16(data))
		data = data[2:]
	}
	if len(data) == 1 {
		sum += uint32(data[0]) << 8
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}
