package main

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

// minFrame is the smallest Ethernet frame without its FCS: shorter frames are padded on the
// wire, and captures show the padding.
const minFrame = 60

// appendUDPFrame appends an Ethernet frame carrying payload in a UDP datagram. IPv4 datagrams
// get a header checksum and no UDP checksum (allowed by RFC 768); IPv6 ones get the mandatory
// UDP checksum (RFC 8200 section 8.1).
func appendUDPFrame(b []byte, ep *Endpoints, ipID uint16, payload []byte) []byte {
	start := len(b)
	b = append(b, ep.DstMAC[:]...)
	b = append(b, ep.SrcMAC[:]...)
	for i, id := range ep.VLANs {
		tpid := uint16(0x8100)
		if i < len(ep.VLANs)-1 {
			tpid = 0x88a8
		}
		b = binary.BigEndian.AppendUint16(b, tpid)
		b = binary.BigEndian.AppendUint16(b, id&0x0fff)
	}
	udpLen := 8 + len(payload)
	if ep.Src.Is4() {
		b = binary.BigEndian.AppendUint16(b, 0x0800)
		ip := len(b)
		b = append(b, 0x45, 0)
		b = binary.BigEndian.AppendUint16(b, uint16(20+udpLen))
		b = binary.BigEndian.AppendUint16(b, ipID)
		b = append(b, 0x40, 0, 64, 17, 0, 0) // DF, TTL 64, UDP, checksum filled below
		s, d := ep.Src.As4(), ep.Dst.As4()
		b = append(b, s[:]...)
		b = append(b, d[:]...)
		binary.BigEndian.PutUint16(b[ip+10:], checksum(b[ip:ip+20], 0))
		b = appendUDP(b, ep, udpLen, payload, 0)
	} else {
		b = binary.BigEndian.AppendUint16(b, 0x86dd)
		b = append(b, 0x60, 0, 0, 0)
		b = binary.BigEndian.AppendUint16(b, uint16(udpLen))
		b = append(b, 17, 64)
		s, d := ep.Src.As16(), ep.Dst.As16()
		b = append(b, s[:]...)
		b = append(b, d[:]...)
		// The pseudo-header sum: addresses, upper-layer length and next header.
		var pseudo uint32
		for i := 0; i < 16; i += 2 {
			pseudo += uint32(binary.BigEndian.Uint16(s[i:])) + uint32(binary.BigEndian.Uint16(d[i:]))
		}
		pseudo += uint32(udpLen) + 17
		b = appendUDP(b, ep, udpLen, payload, pseudo)
	}
	for len(b)-start < minFrame {
		b = append(b, 0)
	}
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
			c = 0xffff
		}
		binary.BigEndian.PutUint16(b[u+6:], c)
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

// appendTCPFrame appends an Ethernet/IPv4 frame with a bare 20-byte TCP header and payloadLen
// zero bytes: background traffic that an NTP analyzer must pass over cheaply.
func appendTCPFrame(b []byte, ep *Endpoints, ipID uint16, flags byte, payloadLen int) []byte {
	start := len(b)
	b = append(b, ep.DstMAC[:]...)
	b = append(b, ep.SrcMAC[:]...)
	b = binary.BigEndian.AppendUint16(b, 0x0800)
	ip := len(b)
	b = append(b, 0x45, 0)
	b = binary.BigEndian.AppendUint16(b, uint16(40+payloadLen))
	b = binary.BigEndian.AppendUint16(b, ipID)
	b = append(b, 0x40, 0, 64, 6, 0, 0)
	s, d := ep.Src.As4(), ep.Dst.As4()
	b = append(b, s[:]...)
	b = append(b, d[:]...)
	binary.BigEndian.PutUint16(b[ip+10:], checksum(b[ip:ip+20], 0))
	b = binary.BigEndian.AppendUint16(b, ep.SrcPort)
	b = binary.BigEndian.AppendUint16(b, ep.DstPort)
	b = append(b, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, flags, 0xff, 0xff, 0, 0, 0, 0)
	b = append(b, make([]byte, payloadLen)...)
	for len(b)-start < minFrame {
		b = append(b, 0)
	}
	return b
}
