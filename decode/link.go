package decode

import (
	"encoding/binary"
	"math/bits"
)

// decodeLink strips the link layer of a frame of type link and hands on what it carries.
func (d *Decoder) decodeLink(b []byte, link LinkType, p *Packet) {
	switch link {
	case LinkTypeEthernet:
		d.decodeEthernet(b, p)
	case LinkTypeLinuxSLL:
		// https://www.tcpdump.org/linktypes/LINKTYPE_LINUX_SLL.html: protocol at bytes 14-15.
		if short(b, 16, p) {
			return
		}
		d.decodeEtherType(binary.BigEndian.Uint16(b[14:16]), b[16:], p)
	case LinkTypeLinuxSLL2:
		// https://www.tcpdump.org/linktypes/LINKTYPE_LINUX_SLL2.html: protocol at bytes 0-1.
		if short(b, 20, p) {
			return
		}
		d.decodeEtherType(binary.BigEndian.Uint16(b[0:2]), b[20:], p)
	case LinkTypeNull, LinkTypeLoop:
		// https://www.tcpdump.org/linktypes/LINKTYPE_NULL.html: a 4-byte address family, in
		// the writing host's byte order for NULL and in network order for LOOP. Families are
		// small, so a value above 0xffff means the other byte order.
		if short(b, 4, p) {
			return
		}
		fam := binary.BigEndian.Uint32(b[0:4])
		if fam > 0xffff {
			fam = binary.LittleEndian.Uint32(b[0:4])
		}
		switch fam {
		case 2: // AF_INET everywhere
			d.decodeIPv4(b[4:], p)
		case 10, 24, 28, 30: // AF_INET6: Linux, NetBSD/OpenBSD, FreeBSD, Darwin
			d.decodeIPv6(b[4:], p)
		default:
			d.stats.NotIP++
		}
	case LinkTypeRaw, LinkTypeRawOld, LinkTypeRawOpenBSD, LinkTypeIPv4, LinkTypeIPv6:
		d.decodeIP(b, p)
	case LinkTypePPP:
		// https://www.tcpdump.org/linktypes/LINKTYPE_PPP.html
		d.decodeFramedPPP(b, p)
	case LinkTypePPPHDLC:
		// https://www.tcpdump.org/linktypes/LINKTYPE_PPP_HDLC.html: address 0xff and control
		// 0x03 then PPP (RFC 1662), or Cisco HDLC framing (address 0x0f or 0x8f).
		if short(b, 2, p) {
			return
		}
		if b[0] == 0xff {
			d.decodePPP(b[2:], p)
			return
		}
		d.decodeCiscoHDLC(b, p)
	case LinkTypeCHDLC:
		d.decodeCiscoHDLC(b, p)
	case LinkTypeNFLOG:
		d.decodeNFLOG(b, p)
	default:
		p.Problem = ProblemLinkType
	}
}

// decodeIP reads an IP packet without a link layer, its version told by its first nibble.
func (d *Decoder) decodeIP(b []byte, p *Packet) {
	if short(b, 1, p) {
		return
	}
	switch b[0] >> 4 {
	case 4:
		d.decodeIPv4(b, p)
	case 6:
		d.decodeIPv6(b, p)
	default:
		p.Problem = ProblemIPHeader
	}
}

// decodeEthernet reads an Ethernet II header (IEEE 802.3): the Ethernet type at bytes 12-13.
// A length there (below 0x0600) is an 802.2 LLC frame (STP, CDP), other traffic.
func (d *Decoder) decodeEthernet(b []byte, p *Packet) {
	if short(b, 14, p) {
		return
	}
	d.decodeEtherType(binary.BigEndian.Uint16(b[12:14]), b[14:], p)
}

// decodeEtherType follows what an Ethernet type announces: VLAN tags, IPv4, IPv6, a PPPoE
// session or an MPLS label stack. Every other type (ARP, LLDP, PPPoE discovery, ...) is
// other traffic, not a problem.
func (d *Decoder) decodeEtherType(etype uint16, b []byte, p *Packet) {
	for i := 0; ; i++ {
		switch etype {
		case etherTypeIPv4:
			d.decodeIPv4(b, p)
			return
		case etherTypeIPv6:
			d.decodeIPv6(b, p)
			return
		case etherTypeVLAN, etherTypeQinQ, etherTypeQinQ1, etherTypeQinQ2:
			// IEEE 802.1Q tag: TCI (PCP 3, DEI 1, VID 12 bits), then the next Ethernet type.
			if i == maxHeaderChain {
				p.Problem = ProblemTunnelDepth
				return
			}
			if short(b, 4, p) {
				return
			}
			id := binary.BigEndian.Uint16(b[0:2]) & 0x0fff
			if d.kinds&(1<<EncapVLAN) == 0 {
				p.VLAN = id // the frame's outermost tag
			}
			d.note(p, EncapVLAN, uint32(id), true)
			etype = binary.BigEndian.Uint16(b[2:4])
			b = b[4:]
		case etherTypePPPoESession:
			d.decodePPPoE(b, p)
			return
		case etherTypeMPLS, etherTypeMPLSMulticast:
			d.decodeMPLS(b, p)
			return
		default:
			d.stats.NotIP++
			return
		}
	}
}

// decodePPPoE reads a PPPoE session header (RFC 2516 section 4): version 1 and type 1 in one
// byte, code 0, the session id, the payload length, then a PPP frame.
func (d *Decoder) decodePPPoE(b []byte, p *Packet) {
	if short(b, 6, p) {
		return
	}
	d.note(p, EncapPPPoE, uint32(binary.BigEndian.Uint16(b[2:4])), true)
	if b[0] != 0x11 || b[1] != 0 {
		p.Problem = ProblemUnsupportedEncap
		return
	}
	if d.tunnel(p) {
		d.decodePPP(b[6:], p)
	}
}

// decodeFramedPPP reads a PPP frame that starts with the address and control bytes ff 03 of
// HDLC-like framing (RFC 1662 section 3.1) unless they were compressed away (RFC 1661
// section 6.6), as on a PPP link or in PPTP's GRE.
func (d *Decoder) decodeFramedPPP(b []byte, p *Packet) {
	if len(b) >= 2 && b[0] == 0xff && b[1] == 0x03 {
		b = b[2:]
	}
	d.decodePPP(b, p)
}

// decodePPP reads the PPP protocol field (RFC 1661 section 2): two bytes, or one when
// protocol field compression left out a leading zero byte (the field's first byte is then
// odd). IPv4, IPv6 and MPLS (RFC 3032 section 4) are followed; LCP, IPCP, CCP and PPP's
// other control protocols are other traffic.
func (d *Decoder) decodePPP(b []byte, p *Packet) {
	if short(b, 1, p) {
		return
	}
	proto, off := uint16(b[0]), 1
	if b[0]&1 == 0 {
		if short(b, 2, p) {
			return
		}
		proto, off = binary.BigEndian.Uint16(b[0:2]), 2
	}
	switch proto {
	case 0x0021:
		d.decodeIPv4(b[off:], p)
	case 0x0057:
		d.decodeIPv6(b[off:], p)
	case 0x0281, 0x0283: // MPLS unicast, multicast
		d.decodeMPLS(b[off:], p)
	default:
		d.stats.NotIP++
	}
}

// decodeCiscoHDLC reads Cisco HDLC framing
// (https://www.tcpdump.org/linktypes/LINKTYPE_C_HDLC.html, RFC 1547 section 4.3.1): an address
// byte (0x0f unicast, 0x8f broadcast), a control byte, then the protocol as an Ethernet type.
// SLARP keepalives (0x8035) are other traffic.
func (d *Decoder) decodeCiscoHDLC(b []byte, p *Packet) {
	if short(b, 4, p) {
		return
	}
	d.decodeEtherType(binary.BigEndian.Uint16(b[2:4]), b[4:], p)
}

// nflogPayload is the TLV type of the logged packet (NFULA_PAYLOAD, linux/netfilter/
// nfnetlink_log.h).
const nflogPayload = 9

// maxNFLOGTLVs bounds the TLVs walked in one NFLOG frame: the kernel writes about 20 kinds.
const maxNFLOGTLVs = 32

// decodeNFLOG reads a Linux NFLOG frame (https://www.tcpdump.org/linktypes/LINKTYPE_NFLOG.html):
// a 4-byte header (address family, version, resource id), then TLVs of a 16-bit length (the
// 4-byte TLV header included, padding to 4 bytes excluded) and a 16-bit type, both in the
// capturing host's byte order. The TLV of type NFULA_PAYLOAD holds the logged network-layer
// packet; a frame without one (a log rule that copies no packet) is other traffic. The byte
// order is told by the first TLV's type: types are small numbers, so a type above 0xff in
// little-endian order means a big-endian host.
func (d *Decoder) decodeNFLOG(b []byte, p *Packet) {
	if short(b, 4, p) {
		return
	}
	order := binary.ByteOrder(binary.LittleEndian)
	if len(b) >= 8 && binary.LittleEndian.Uint16(b[6:8])&0x3fff > 0xff {
		order = binary.BigEndian
	}
	off := 4
	for range maxNFLOGTLVs {
		if off == len(b) {
			return // no packet was logged
		}
		if short(b, off+4, p) {
			return
		}
		// The type's two top bits are netlink's NLA_F_NESTED and NLA_F_NET_BYTEORDER flags.
		l, t := int(order.Uint16(b[off:])), order.Uint16(b[off+2:])&0x3fff
		if l < 4 {
			p.Problem = ProblemTruncated
			return
		}
		if t == nflogPayload {
			d.decodeIP(b[off+4:min(off+l, len(b))], p)
			return
		}
		off += (l + 3) &^ 3
		if off > len(b) {
			p.Problem = ProblemTruncated
			return
		}
	}
	p.Problem = ProblemTunnelDepth
}

// decodeMPLS walks an MPLS label stack (RFC 3032 section 2.1: label 20 bits, traffic class
// 3, bottom of stack 1, TTL 8) and reads what follows its bottom label, which MPLS does not
// name: IPv4 or IPv6 by the first nibble (RFC 4928), a pseudowire control word (first nibble
// 0, RFC 4385) followed by an Ethernet frame (RFC 4448), or an associated channel header
// (first nibble 1, RFC 5586: OAM, other traffic). An Ethernet pseudowire without a control
// word cannot be told from IP by its first nibble, and counts under ProblemUnsupportedEncap
// unless its destination MAC happens to start like IP.
func (d *Decoder) decodeMPLS(b []byte, p *Packet) {
	if !d.tunnel(p) {
		return
	}
	for i := 0; ; i++ {
		if i == maxHeaderChain {
			p.Problem = ProblemTunnelDepth
			return
		}
		if short(b, 4, p) {
			return
		}
		e := binary.BigEndian.Uint32(b[0:4])
		d.note(p, EncapMPLS, e>>12, true)
		b = b[4:]
		if e&0x100 != 0 {
			break
		}
	}
	if short(b, 1, p) {
		return
	}
	switch b[0] >> 4 {
	case 4:
		d.decodeIPv4(b, p)
	case 6:
		d.decodeIPv6(b, p)
	case 0:
		d.note(p, EncapPW, 0, false)
		if short(b, 4, p) {
			return
		}
		d.decodeEthernet(b[4:], p)
	case 1:
		d.stats.NotIP++
	default:
		p.Problem = ProblemUnsupportedEncap
	}
}

// note records an encapsulation header in p and in the frame's kinds.
func (d *Decoder) note(p *Packet, k EncapKind, id uint32, hasID bool) {
	d.kinds |= 1 << k
	p.Encap.push(k, id, hasID)
}

// tunnel counts one more tunnel entered, and reports false, with ProblemTunnelDepth, beyond
// MaxTunnelDepth.
func (d *Decoder) tunnel(p *Packet) bool {
	d.depth++
	if d.depth > MaxTunnelDepth {
		p.Problem = ProblemTunnelDepth
		return false
	}
	return true
}

// countEncaps counts a frame in each encapsulation kind of kinds (a bit per kind).
func (s *Stats) countEncaps(kinds uint32) {
	for kinds != 0 {
		s.Encaps[bits.TrailingZeros32(kinds)]++
		kinds &= kinds - 1
	}
}
