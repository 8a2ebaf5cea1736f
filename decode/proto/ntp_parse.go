package proto

import (
	"encoding/binary"
	"net/netip"
)

// Header sizes of the three NTP layouts: RFC 5905 section 7.3 for modes 1-5,
// RFC 9327 section 2 for mode 6, ntpd include/ntp_request.h (struct resp_pkt) for mode 7.
const (
	stdHeaderLen  = 48
	ctlHeaderLen  = 12
	privHeaderLen = 8
	// maxMACLen is the longest RFC 5905 MAC: a 4-byte key id and a 20-byte SHA-1 digest. RFC 7822
	// section 7.5 tells a MAC from an extension field by this length.
	maxMACLen = 24
	// minExtensionLen is the shortest RFC 7822 extension field.
	minExtensionLen = 16
)

// Mode 7 request codes whose replies list monitored clients (ntpd include/ntp_request.h).
const (
	ReqMonGetList  = 20 // MON_GETLIST
	ReqMonGetList1 = 42 // MON_GETLIST_1
)

// parseNTP decodes an NTP message into n. payload holds the captured bytes of the UDP payload
// (possibly fewer than declared when the snaplen or fragmentation cut it); declared is the
// payload length from the UDP length field. Validity (version, mode, lengths) is judged from
// declared, so a short snaplen gives the same verdict as a full capture; fields whose bytes were
// not captured stay zero and n.Partial is set. monlist is the reusable backing array for the
// item addresses of a monlist reply.
func parseNTP(payload []byte, declared int, n *NTP) Malformed {
	if declared < 1 {
		return Short
	}
	if len(payload) < 1 {
		return Truncated // the snaplen ended right after the UDP header
	}
	b0 := payload[0]
	n.LI = b0 >> 6
	n.Version = (b0 >> 3) & 7
	n.Mode = b0 & 7
	if n.Mode == 0 {
		return BadMode
	}
	if n.Version == 0 || n.Version > 4 {
		return BadVersion
	}
	switch n.Mode {
	case 6:
		return parseControl(payload, declared, n)
	case 7:
		return parsePrivate(payload, declared, n)
	default:
		return parseStandard(payload, declared, n)
	}
}

// parseStandard decodes the RFC 5905 header (section 7.3) and measures the RFC 7822 extension
// fields and the MAC after it.
func parseStandard(b []byte, declared int, n *NTP) Malformed {
	if declared < stdHeaderLen {
		return Short
	}
	s := &n.Std
	if len(b) < stdHeaderLen {
		n.Partial = true
		// A 64-byte snaplen leaves 10 to 22 bytes of NTP: take every field that is whole.
		if len(b) >= 4 {
			s.Stratum, s.Poll, s.Precision = b[1], int8(b[2]), int8(b[3])
		}
		if len(b) >= 8 {
			s.RootDelay = binary.BigEndian.Uint32(b[4:8])
		}
		if len(b) >= 12 {
			s.RootDispersion = binary.BigEndian.Uint32(b[8:12])
		}
		if len(b) >= 16 {
			copy(s.ReferenceID[:], b[12:16])
		}
		if len(b) >= 24 {
			s.ReferenceTS = binary.BigEndian.Uint64(b[16:24])
		}
		if len(b) >= 32 {
			s.OriginTS = binary.BigEndian.Uint64(b[24:32])
		}
		if len(b) >= 40 {
			s.ReceiveTS = binary.BigEndian.Uint64(b[32:40])
		}
		s.ExtensionLen, s.MACLen = trailerLens(nil, declared-stdHeaderLen)
		return WellFormed
	}
	s.Stratum, s.Poll, s.Precision = b[1], int8(b[2]), int8(b[3])
	s.RootDelay = binary.BigEndian.Uint32(b[4:8])
	s.RootDispersion = binary.BigEndian.Uint32(b[8:12])
	copy(s.ReferenceID[:], b[12:16])
	s.ReferenceTS = binary.BigEndian.Uint64(b[16:24])
	s.OriginTS = binary.BigEndian.Uint64(b[24:32])
	s.ReceiveTS = binary.BigEndian.Uint64(b[32:40])
	s.TransmitTS = binary.BigEndian.Uint64(b[40:48])
	rest := declared - stdHeaderLen
	s.ExtensionLen, s.MACLen = trailerLens(b[stdHeaderLen:], rest)
	if len(b) < declared {
		n.Partial = true
	}
	return WellFormed
}

// trailerLens splits the rest bytes after the 48-byte header into RFC 7822 extension fields and
// a MAC. As in RFC 7822 section 7.5 (and Wireshark's packet-ntp.c), anything of at most 24 bytes
// is a MAC; longer trailers are walked as extension fields (type, length, value; length a
// multiple of 4 and at least 16) while more than a MAC's worth remains, and what is left is the
// MAC. ext holds the captured part of the trailer: where it ends before the walk does, the rest
// is counted as extension bytes.
func trailerLens(ext []byte, rest int) (extLen, macLen uint16) {
	off := 0
	for rest-off > maxMACLen {
		if off+4 > len(ext) {
			return uint16(rest), 0 // not captured: most likely extension fields (NTS)
		}
		l := int(binary.BigEndian.Uint16(ext[off+2 : off+4]))
		if l < minExtensionLen || l%4 != 0 || off+l > rest {
			break
		}
		off += l
	}
	return uint16(off), uint16(rest - off)
}

// parseControl decodes the 12-byte mode 6 header (RFC 9327 section 2, RFC 1305 appendix B).
func parseControl(b []byte, declared int, n *NTP) Malformed {
	if declared < ctlHeaderLen {
		return Short
	}
	if len(b) < ctlHeaderLen {
		n.Partial = true
		return WellFormed // only a snaplen below 54 bytes gets here: keep version and mode
	}
	c := &n.Ctl
	c.Response = b[1]&0x80 != 0
	c.Error = b[1]&0x40 != 0
	c.More = b[1]&0x20 != 0
	c.OpCode = b[1] & 0x1f
	c.Sequence = binary.BigEndian.Uint16(b[2:4])
	c.Status = binary.BigEndian.Uint16(b[4:6])
	c.AssociationID = binary.BigEndian.Uint16(b[6:8])
	c.Offset = binary.BigEndian.Uint16(b[8:10])
	c.Count = binary.BigEndian.Uint16(b[10:12])
	if len(b) < declared {
		n.Partial = true
	}
	if ctlHeaderLen+int(c.Count) > declared {
		return BadLength
	}
	return WellFormed
}

// parsePrivate decodes the 8-byte mode 7 header (ntpd include/ntp_request.h, struct resp_pkt):
// R and M in the two top bits of byte 0, A and the 7-bit sequence in byte 1, then
// implementation, request code, err(4)|nitems(12) and mbz(4)|itemsize(12). For a monlist reply
// it also collects the client addresses of the items present.
func parsePrivate(b []byte, declared int, n *NTP) Malformed {
	if declared < privHeaderLen {
		return Short
	}
	if len(b) < privHeaderLen {
		n.Partial = true
		return WellFormed
	}
	p := &n.Priv
	p.Response = b[0]&0x80 != 0
	p.More = b[0]&0x40 != 0
	p.Auth = b[1]&0x80 != 0
	p.Sequence = b[1] & 0x7f
	p.Implementation = b[2]
	p.RequestCode = b[3]
	p.Err = b[4] >> 4
	p.Items = binary.BigEndian.Uint16(b[4:6]) & 0x0fff
	p.MBZ = b[6] >> 4
	p.ItemSize = binary.BigEndian.Uint16(b[6:8]) & 0x0fff
	if len(b) < declared {
		n.Partial = true
	}
	if privHeaderLen+int(p.Items)*int(p.ItemSize) > declared {
		return BadLength
	}
	if p.IsMonlistReply() {
		p.Monlist = appendMonlist(p.Monlist[:0], b[privHeaderLen:], int(p.Items), int(p.ItemSize))
	}
	return WellFormed
}

// IsMonlistReply reports whether the header is an error-free reply to MON_GETLIST or
// MON_GETLIST_1, whose items name the server's recent clients.
func (p *Private) IsMonlistReply() bool {
	return p.Response && p.Err == 0 && (p.RequestCode == ReqMonGetList || p.RequestCode == ReqMonGetList1)
}

// appendMonlist appends the client address of each whole item in data. The layouts are ntpd's
// include/ntp_request.h: struct info_monitor_1 (72 bytes, MON_GETLIST_1, implementation 3) and
// struct info_monitor (48 bytes, MON_GETLIST) carry an IPv4 addr at offset 16, v6_flag at 32
// (resp. 24) and addr6 at 40 (resp. 32); the pre-IPv6 implementation 2 layouts of 32 and 24
// bytes carry only the IPv4 addr at offset 16. Other item sizes name no addresses.
func appendMonlist(dst []netip.Addr, data []byte, items, size int) []netip.Addr {
	var v6flag, v6addr int
	switch size {
	case 72:
		v6flag, v6addr = 32, 40
	case 48:
		v6flag, v6addr = 24, 32
	case 32, 24:
	default:
		return dst
	}
	for i := 0; i < items && (i+1)*size <= len(data); i++ {
		it := data[i*size : (i+1)*size]
		if v6flag != 0 && binary.BigEndian.Uint32(it[v6flag:v6flag+4]) != 0 {
			dst = append(dst, netip.AddrFrom16([16]byte(it[v6addr:v6addr+16])))
			continue
		}
		dst = append(dst, netip.AddrFrom4([4]byte(it[16:20])))
	}
	return dst
}
