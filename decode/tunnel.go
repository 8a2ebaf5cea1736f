package decode

import "encoding/binary"

// UDP ports of the encapsulations carried in UDP, the destination port of the outer datagram
// (TS 29.281 lets a GTP-U entity pick its source port, and many pick 2152 too).
// proto.TunnelPorts lists the same ports, which no protocol of a table may claim.
const (
	portGTPU   = 2152 // 3GPP TS 29.281 section 4.4.2.3
	portVXLAN  = 4789 // RFC 7348 section 5
	portGeneve = 6081 // RFC 8926 section 3.3
)

// decodeIPPayload reads the payload of an IP packet of protocol proto that carries another
// packet: GRE, IPv4 or IPv6 in IP. b ends where the outer IP packet does.
func (d *Decoder) decodeIPPayload(proto uint8, b []byte, p *Packet) {
	switch proto {
	case ipProtoGRE:
		d.decodeGRE(b, p)
	case ipProtoIPIP:
		d.note(p, EncapIPIP, 0, false)
		if d.tunnel(p) {
			d.decodeIPv4(b, p)
		}
	case ipProtoIPv6:
		d.note(p, EncapIP6IP, 0, false)
		if d.tunnel(p) {
			d.decodeIPv6(b, p)
		}
	case ipProtoEtherIP:
		d.note(p, EncapEtherIP, 0, false)
		p.Problem = ProblemUnsupportedEncap
	}
}

// GRE flags (RFC 2784 section 2, RFC 2890 section 2, RFC 2637 section 4.1).
const (
	greChecksum = 0x8000 // C: checksum and reserved (or offset) fields, 4 bytes
	greRouting  = 0x4000 // R: source routing (RFC 1701), deprecated
	greKey      = 0x2000 // K: key field, 4 bytes
	greSequence = 0x1000 // S: sequence number, 4 bytes
	greAck      = 0x0080 // A, enhanced GRE (version 1) only: acknowledgment number, 4 bytes
)

// decodeGRE reads a GRE header, version 0 (RFC 2784 with RFC 2890's key and sequence number)
// or PPTP's enhanced GRE, version 1 (RFC 2637 section 4.1, always with a key that holds the
// payload length and the call id), and what its protocol type announces: an Ethernet frame
// (0x6558, transparent Ethernet bridging, as NVGRE and Linux gretap use it), ERSPAN, PPP, or
// an Ethernet type (IPv4, IPv6, MPLS...). Source routing (RFC 1701) and other versions count
// under ProblemUnsupportedEncap.
func (d *Decoder) decodeGRE(b []byte, p *Packet) {
	if len(b) < 4 {
		d.note(p, EncapGRE, 0, false)
		p.Problem = ProblemTruncated
		return
	}
	flags, proto := binary.BigEndian.Uint16(b[0:2]), binary.BigEndian.Uint16(b[2:4])
	off, hasKey := 4, flags&greKey != 0
	var key uint32
	switch flags & 7 {
	case 0:
		if flags&greChecksum != 0 {
			off += 4
		}
		if hasKey {
			if len(b) >= off+4 {
				key = binary.BigEndian.Uint32(b[off : off+4])
			}
			off += 4
		}
		if flags&greSequence != 0 {
			off += 4
		}
	case 1:
		if len(b) >= 8 {
			key = uint32(binary.BigEndian.Uint16(b[6:8])) // the call id
		}
		off = 8
		if flags&greSequence != 0 {
			off += 4
		}
		if flags&greAck != 0 {
			off += 4
		}
	default:
		flags |= greRouting // a version this decoder does not read
	}
	d.note(p, EncapGRE, key, hasKey)
	switch {
	case flags&greRouting != 0:
		p.Problem = ProblemUnsupportedEncap
		return
	case len(b) < off:
		p.Problem = ProblemTruncated
		return
	case len(b) == off: // a keepalive, or PPTP's bare acknowledgment: nothing is carried
		return
	case !d.tunnel(p):
		return
	}
	b = b[off:]
	switch proto {
	case etherTypeTEB:
		d.decodeEthernet(b, p)
	case etherTypeERSPAN:
		d.decodeERSPAN(b, flags&greSequence != 0, p)
	case etherTypeERSPAN3:
		d.decodeERSPAN3(b, p)
	case etherTypePPP:
		d.decodeFramedPPP(b, p)
	default:
		d.decodeEtherType(proto, b, p)
	}
}

// decodeERSPAN reads Cisco's ERSPAN of GRE protocol 0x88be (draft-foschiano-erspan-03 section
// 4): type I when the GRE header has no sequence number, the mirrored Ethernet frame right
// after it; type II otherwise, after an 8-byte header of version 1 (version 4 bits, VLAN 12,
// COS 3, encapsulation 2, truncated 1, session id 10; reserved 12, index 20).
func (d *Decoder) decodeERSPAN(b []byte, seq bool, p *Packet) {
	if !seq {
		d.note(p, EncapERSPAN, 0, false)
		d.decodeEthernet(b, p)
		return
	}
	if len(b) < 8 {
		d.note(p, EncapERSPAN, 0, false)
		p.Problem = ProblemTruncated
		return
	}
	d.note(p, EncapERSPAN, uint32(binary.BigEndian.Uint16(b[2:4])&0x03ff), true)
	if b[0]>>4 != 1 {
		p.Problem = ProblemUnsupportedEncap
		return
	}
	d.decodeEthernet(b[8:], p)
}

// decodeERSPAN3 reads ERSPAN type III, GRE protocol 0x22eb (draft-foschiano-erspan-03
// section 4.3): a 12-byte header of version 2 (version 4 bits, VLAN 12, COS 3, BSO 2, T 1,
// session id 10; timestamp 32; SGT 16, P 1, frame type 5, hardware id 6, direction 1,
// granularity 2, O 1), an 8-byte platform-specific subheader when O is set, then the mirrored
// frame: Ethernet (frame type 0) or IP (frame type 2).
func (d *Decoder) decodeERSPAN3(b []byte, p *Packet) {
	if len(b) < 12 {
		d.note(p, EncapERSPAN, 0, false)
		p.Problem = ProblemTruncated
		return
	}
	d.note(p, EncapERSPAN, uint32(binary.BigEndian.Uint16(b[2:4])&0x03ff), true)
	off := 12
	if b[11]&1 != 0 {
		off += 8
	}
	switch {
	case b[0]>>4 != 2:
		p.Problem = ProblemUnsupportedEncap
	case len(b) < off:
		p.Problem = ProblemTruncated
	case b[10]>>2&0x1f == 0:
		d.decodeEthernet(b[off:], p)
	case b[10]>>2&0x1f == 2:
		d.decodeIP(b[off:], p)
	default:
		p.Problem = ProblemUnsupportedEncap
	}
}

// decodeUDPTunnel reads a datagram to the port of an encapsulation carried in UDP. It reports
// whether the datagram was that encapsulation; when its header does not fit (a server's reply
// to a client that chose the port, say), it returns false and the Problem to count should no
// protocol of the table claim the datagram: the encapsulation's variant was not read, or the
// capture was cut inside its header.
func (d *Decoder) decodeUDPTunnel(dport uint16, b []byte, room int, ip *ipInfo, p *Packet) (bool, Problem) {
	ulen := int(binary.BigEndian.Uint16(b[4:6]))
	if ulen < 8 || (!ip.firstFrag && ulen > room) || room < 8 {
		return false, ProblemUDPHeader
	}
	u := b[8:min(ulen, len(b))] // the captured part of the UDP payload
	var kind EncapKind
	var id uint32
	var inner []byte
	var etype uint16
	switch dport {
	case portVXLAN:
		// RFC 7348 section 5: flags (I, 0x08: the VNI is valid), 24 reserved bits, the VNI,
		// 8 reserved bits, then an Ethernet frame.
		if len(u) < 8 {
			return false, truncatedIf(ulen >= 16)
		}
		if u[0]&0x08 == 0 || u[7] != 0 {
			return false, ProblemUnsupportedEncap
		}
		kind, id, inner, etype = EncapVXLAN, binary.BigEndian.Uint32(u[4:8])>>8, u[8:], etherTypeTEB
	case portGeneve:
		// RFC 8926 section 3.4: version (2 bits, 0), options length (6 bits, in 4-byte
		// words), O and C flags, 6 reserved bits, the protocol type (an Ethernet type, 0x6558
		// for an Ethernet frame), the VNI, 8 reserved bits, then the options.
		if len(u) < 8 {
			return false, truncatedIf(ulen >= 16)
		}
		if u[0]>>6 != 0 {
			return false, ProblemUnsupportedEncap
		}
		off := 8 + int(u[0]&0x3f)*4
		if len(u) < off {
			return false, truncatedIf(ulen >= 8+off)
		}
		kind, id, inner = EncapGeneve, binary.BigEndian.Uint32(u[4:8])>>8, u[off:]
		etype = binary.BigEndian.Uint16(u[2:4])
	case portGTPU:
		var ok bool
		if inner, id, ok = d.gtpu(u, ulen, p); !ok {
			return false, ProblemUnsupportedEncap
		}
		kind = EncapGTPU
	}
	d.note(p, kind, id, true)
	switch {
	case p.Problem != ProblemNone: // a GTP-U packet that could not be read
	case ip.firstFrag:
		p.Problem = ProblemTunnelFragment
		d.frags.add(ip.key, fragEntry{})
	case !d.tunnel(p):
	case kind == EncapGTPU:
		if inner != nil { // a G-PDU; GTP-U's own messages carry no packet
			d.decodeIP(inner, p)
		}
	case etype == etherTypeTEB:
		d.decodeEthernet(inner, p)
	default:
		d.decodeEtherType(etype, inner, p)
	}
	return true, ProblemNone
}

// udpTunnelKind is the encapsulation of a tunnel port.
func udpTunnelKind(port uint16) EncapKind {
	switch port {
	case portVXLAN:
		return EncapVXLAN
	case portGeneve:
		return EncapGeneve
	}
	return EncapGTPU
}

// truncatedIf is ProblemTruncated when the datagram is long enough for the header the
// capture cut, and otherwise ProblemUnsupportedEncap: a datagram too short to be the
// encapsulation.
func truncatedIf(long bool) Problem {
	if long {
		return ProblemTruncated
	}
	return ProblemUnsupportedEncap
}

// gtpu reads a GTP-U header (3GPP TS 29.281 section 5.1): flags (version 3 bits, 1; protocol
// type 1, 1 for GTP; a spare bit; E, S and PN, any of which adds a sequence number, an N-PDU
// number and the type of the first extension header), the message type, the length of what
// follows the first 8 bytes, and the TEID. ok is false when u is not GTP-U version 1 with a
// length that matches the datagram. It returns the TEID and the IP packet a G-PDU (message
// type 255) carries; nothing for GTP-U's own messages (echo, error indication, end marker),
// and nothing with p.Problem set for a G-PDU that carries no IP (a PPP or Ethernet PDU
// session) or whose extension headers (section 5.2, skipped by their length in 4-byte words)
// do not fit.
func (d *Decoder) gtpu(u []byte, ulen int, p *Packet) (inner []byte, teid uint32, ok bool) {
	if len(u) < 8 || u[0]>>4 != 0x3 || int(binary.BigEndian.Uint16(u[2:4])) != ulen-16 {
		return nil, 0, false
	}
	teid = binary.BigEndian.Uint32(u[4:8])
	if u[1] != 255 {
		return nil, teid, true
	}
	off := 8
	if u[0]&0x07 != 0 {
		if len(u) < 12 {
			p.Problem = ProblemTruncated
			return nil, teid, true
		}
		next := u[11]
		off = 12
		for i := 0; next != 0; i++ {
			if i == maxHeaderChain {
				p.Problem = ProblemTunnelDepth
				return nil, teid, true
			}
			if len(u) < off+1 || u[off] == 0 || len(u) < off+int(u[off])*4 {
				p.Problem = ProblemTruncated
				return nil, teid, true
			}
			l := int(u[off]) * 4
			next = u[off+l-1]
			off += l
		}
	}
	switch {
	case len(u) <= off:
		p.Problem = ProblemTruncated
	case u[off]>>4 != 4 && u[off]>>4 != 6:
		p.Problem = ProblemUnsupportedEncap
	default:
		inner = u[off:]
	}
	return inner, teid, true
}
