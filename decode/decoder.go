package decode

import (
	"encoding/binary"
	"net/netip"

	"github.com/ntpwatch/ntpwatch/decode/proto"
)

// ipProtoUDP is the IP protocol number of UDP (RFC 768).
const ipProtoUDP = 17

// maxHeaderChain bounds the VLAN tags and IPv6 extension headers walked in one frame, so a
// crafted frame cannot make the decoder loop long.
const maxHeaderChain = 8

// Decoder turns frames into Packets. It walks the link, IP and UDP headers by hand rather than
// through gopacket's DecodingLayerParser: gopacket's IPv4 layer hands every fragment, the first
// included, to LayerTypeFragment, v1.1.19 knows neither SLL2 nor the 0x9100 QinQ tag, and a
// walk that reads only the bytes it needs lets the frames on no port of the protocol table
// leave after a few loads, without building addresses. A datagram on a port of the table goes
// to that protocol's classifier. A Decoder belongs to one goroutine.
type Decoder struct {
	table *proto.Table
	stats Stats
	frags fragTable
	msg   proto.Message
}

// NewDecoder returns a Decoder of the protocols of table (proto.Default when nil) whose
// fragment table holds DefaultFragmentCap datagrams.
func NewDecoder(table *proto.Table) *Decoder {
	return NewDecoderFragmentCap(table, DefaultFragmentCap)
}

// NewDecoderFragmentCap is NewDecoder with a fragment table of at most n datagrams (at least 1).
func NewDecoderFragmentCap(table *proto.Table, n int) *Decoder {
	if table == nil {
		table = proto.Default
	}
	return &Decoder{table: table, frags: newFragTable(n)}
}

// Table is the protocol table the Decoder classifies with.
func (d *Decoder) Table() *proto.Table { return d.table }

// Stats returns the counters since the Decoder was made.
func (d *Decoder) Stats() Stats {
	s := d.stats
	s.FragmentsTracked = uint64(len(d.frags.m))
	s.FragmentEvictions = d.frags.evictions
	return s
}

// ipInfo is what the IP layer hands to the UDP layer.
type ipInfo struct {
	src, dst  []byte // 4 or 16 bytes, inside the frame
	ipLen     int    // IP datagram length from the header
	firstFrag bool   // offset 0 with more fragments to come
	key       fragKey
	vlan      uint16
}

// Decode fills *p entirely from one frame, resetting what a previous call left, and returns
// p.Kind. It allocates nothing: NTP.Priv.Monlist reuses p's backing array.
func (d *Decoder) Decode(f *Frame, p *Packet) Kind {
	wire := max(f.WireLen, len(f.Data))
	weight := max(f.Weight, 1)
	p.NTP.Reset()
	*p = Packet{Time: f.Time, WireLen: uint32(wire), Weight: weight, Vector: proto.NoVector, NTP: p.NTP}

	d.decodeLink(f.Data, f.Link, p)

	s := &d.stats
	s.Frames++
	s.WireBytes += uint64(wire)
	s.countLink(f.Link)
	s.Problems[p.Problem]++
	switch p.Kind {
	case KindMessage:
		s.Messages++
		s.count(p)
	case KindMalformed:
		s.Malformed++
	case KindFragment:
		s.Fragments++
	default:
		s.Other++
	}
	return p.Kind
}

// decodeLink strips the link layer and any VLAN tags, then hands the IP packet on.
func (d *Decoder) decodeLink(b []byte, link LinkType, p *Packet) {
	var etype uint16
	var off int
	switch link {
	case LinkTypeEthernet:
		if len(b) < 14 {
			p.Problem = ProblemTruncated
			return
		}
		etype, off = binary.BigEndian.Uint16(b[12:14]), 14
	case LinkTypeLinuxSLL:
		// https://www.tcpdump.org/linktypes/LINKTYPE_LINUX_SLL.html: protocol at bytes 14-15.
		if len(b) < 16 {
			p.Problem = ProblemTruncated
			return
		}
		etype, off = binary.BigEndian.Uint16(b[14:16]), 16
	case LinkTypeLinuxSLL2:
		// https://www.tcpdump.org/linktypes/LINKTYPE_LINUX_SLL2.html: protocol at bytes 0-1.
		if len(b) < 20 {
			p.Problem = ProblemTruncated
			return
		}
		etype, off = binary.BigEndian.Uint16(b[0:2]), 20
	case LinkTypeNull, LinkTypeLoop:
		// https://www.tcpdump.org/linktypes/LINKTYPE_NULL.html: a 4-byte address family, in
		// the writing host's byte order for NULL and in network order for LOOP. Families are
		// small, so a value above 0xffff means the other byte order.
		if len(b) < 4 {
			p.Problem = ProblemTruncated
			return
		}
		fam := binary.BigEndian.Uint32(b[0:4])
		if fam > 0xffff {
			fam = binary.LittleEndian.Uint32(b[0:4])
		}
		switch fam {
		case 2: // AF_INET everywhere
			etype = etherTypeIPv4
		case 10, 24, 28, 30: // AF_INET6: Linux, NetBSD/OpenBSD, FreeBSD, Darwin
			etype = etherTypeIPv6
		default:
			p.Problem = ProblemNetwork
			return
		}
		off = 4
	case LinkTypeRaw, LinkTypeRawOld, LinkTypeRawOpenBSD, LinkTypeIPv4, LinkTypeIPv6:
		if len(b) < 1 {
			p.Problem = ProblemTruncated
			return
		}
		switch b[0] >> 4 {
		case 4:
			etype = etherTypeIPv4
		case 6:
			etype = etherTypeIPv6
		default:
			p.Problem = ProblemIPHeader
			return
		}
	default:
		p.Problem = ProblemLinkType
		return
	}

	var vlan uint16
	for i := 0; i < maxHeaderChain; i++ {
		if etype != etherTypeVLAN && etype != etherTypeQinQ && etype != etherTypeQinQ1 && etype != etherTypeQinQ2 {
			break
		}
		// IEEE 802.1Q tag: TCI (PCP 3, DEI 1, VID 12 bits), then the next ethertype.
		if len(b) < off+4 {
			p.Problem = ProblemTruncated
			return
		}
		if i == 0 {
			vlan = binary.BigEndian.Uint16(b[off:off+2]) & 0x0fff
		}
		etype = binary.BigEndian.Uint16(b[off+2 : off+4])
		off += 4
	}
	switch etype {
	case etherTypeIPv4:
		d.decodeIPv4(b[off:], vlan, p)
	case etherTypeIPv6:
		d.decodeIPv6(b[off:], vlan, p)
	default:
		p.Problem = ProblemNetwork
	}
}

// decodeIPv4 reads the RFC 791 header; options are skipped by the header length.
func (d *Decoder) decodeIPv4(b []byte, vlan uint16, p *Packet) {
	if len(b) < 20 {
		p.Problem = ProblemTruncated
		return
	}
	ihl := int(b[0]&0x0f) * 4
	total := int(binary.BigEndian.Uint16(b[2:4]))
	if b[0]>>4 != 4 || ihl < 20 || total < ihl {
		p.Problem = ProblemIPHeader
		return
	}
	if b[9] != ipProtoUDP {
		return // the cheap exit of most non-NTP traffic
	}
	if len(b) < ihl {
		p.Problem = ProblemTruncated
		return
	}
	ip := ipInfo{src: b[12:16], dst: b[16:20], ipLen: total, vlan: vlan}
	frag := binary.BigEndian.Uint16(b[6:8])
	more, offset := frag&0x2000 != 0, frag&0x1fff
	if more || offset != 0 {
		ip.key = newFragKey(ip.src, ip.dst, uint32(binary.BigEndian.Uint16(b[4:6])), b[9])
		if offset != 0 {
			d.fragment(&ip, more, p)
			return
		}
		ip.firstFrag = true
	}
	d.decodeUDP(b[ihl:], total-ihl, &ip, p)
}

// decodeIPv6 reads the RFC 8200 header and walks its extension headers to UDP.
func (d *Decoder) decodeIPv6(b []byte, vlan uint16, p *Packet) {
	if len(b) < 40 {
		p.Problem = ProblemTruncated
		return
	}
	if b[0]>>4 != 6 {
		p.Problem = ProblemIPHeader
		return
	}
	ip := ipInfo{src: b[8:24], dst: b[24:40], ipLen: 40 + int(binary.BigEndian.Uint16(b[4:6])), vlan: vlan}
	nh, off := b[6], 40
	for i := 0; i < maxHeaderChain && nh != ipProtoUDP; i++ {
		var l int
		switch nh {
		case 0, 43, 60: // hop-by-hop, routing, destination options: length in 8-byte units
			if len(b) < off+2 {
				p.Problem = ProblemTruncated
				return
			}
			l = (int(b[off+1]) + 1) * 8
		case 51: // authentication header (RFC 4302): length in 4-byte units, minus 2
			if len(b) < off+2 {
				p.Problem = ProblemTruncated
				return
			}
			l = (int(b[off+1]) + 2) * 4
		case 44: // fragment header (RFC 8200 section 4.5)
			if len(b) < off+8 {
				p.Problem = ProblemTruncated
				return
			}
			fo := binary.BigEndian.Uint16(b[off+2 : off+4])
			offset, more := fo>>3, fo&1 != 0
			ip.key = newFragKey(ip.src, ip.dst, binary.BigEndian.Uint32(b[off+4:off+8]), b[off])
			if offset != 0 {
				if b[off] == ipProtoUDP {
					d.fragment(&ip, more, p)
				}
				return
			}
			ip.firstFrag = more
			l = 8
		default:
			return // not UDP: ESP, TCP, ICMPv6, no next header...
		}
		nh = b[off]
		off += l
		if off > ip.ipLen {
			p.Problem = ProblemIPHeader
			return
		}
	}
	if nh != ipProtoUDP {
		return
	}
	d.decodeUDP(b[off:], ip.ipLen-off, &ip, p)
}

// decodeUDP reads the RFC 768 header and, for a port of the protocol table on either side,
// hands the payload to the protocol's classifier. room is the IP payload length from the IP
// header; a first fragment carries a UDP length beyond it.
func (d *Decoder) decodeUDP(b []byte, room int, ip *ipInfo, p *Packet) {
	if len(b) < 8 {
		p.Problem = ProblemTruncated
		return
	}
	sport := binary.BigEndian.Uint16(b[0:2])
	dport := binary.BigEndian.Uint16(b[2:4])
	pr := d.table.Lookup(sport, dport)
	if ip.firstFrag {
		d.frags.add(ip.key, sport, dport, pr, ip.vlan)
	}
	if pr == nil {
		return
	}
	ulen := int(binary.BigEndian.Uint16(b[4:6]))
	if ulen < 8 || (!ip.firstFrag && ulen > room) {
		p.Problem = ProblemUDPHeader
		return
	}
	p.VLAN = ip.vlan
	p.Src, p.Dst = addrOf(ip.src), addrOf(ip.dst)
	p.SrcPort, p.DstPort = sport, dport
	p.IPLen = uint32(ip.ipLen)
	p.PayloadLen = uint32(ulen - 8)
	end := min(ulen, len(b))
	d.classify(pr, b[8:end], ulen-8, sport, dport, p)
	if p.Dir == proto.DirNone && p.Problem == ProblemNone {
		// Both ports are in the table (a client's ephemeral port that is another protocol's
		// server port): the other protocol may claim the datagram.
		if other := d.table.Second(sport, dport); other != nil {
			var q Packet
			q.NTP.Priv.Monlist = p.NTP.Priv.Monlist
			d.classify(other, b[8:end], ulen-8, sport, dport, &q)
			if q.Dir != proto.DirNone {
				p.Proto, p.Dir, p.Vector, p.Data, p.Refusal, p.NTP = q.Proto, q.Dir, q.Vector, q.Data, q.Refusal, q.NTP
			}
		}
	}
}

// classify runs pr's classifier on a UDP payload and copies its verdict into p.
func (d *Decoder) classify(pr *proto.Protocol, payload []byte, length int, sport, dport uint16, p *Packet) {
	m := &d.msg
	*m = proto.Message{Payload: payload, Len: length, SrcPort: sport, DstPort: dport,
		Vector: proto.NoVector, NTP: &p.NTP}
	pr.Classify(m)
	p.Proto = pr
	if m.Err != proto.WellFormed {
		p.Kind, p.Problem = KindMalformed, problemOf(m.Err)
		return
	}
	p.Kind = KindMessage
	p.Dir, p.Vector, p.Data, p.Refusal = m.Dir, m.Vector, m.Data, m.Refusal
}

// fragment attributes a non-first fragment to its datagram through the fragment table.
func (d *Decoder) fragment(ip *ipInfo, more bool, p *Packet) {
	e, ok := d.frags.lookup(ip.key, more)
	if !ok {
		p.Problem = ProblemOrphanFragment
		return
	}
	if e.proto == nil {
		return
	}
	p.Kind = KindFragment
	p.Proto = e.proto
	p.VLAN = e.vlan
	p.Src, p.Dst = addrOf(ip.src), addrOf(ip.dst)
	p.SrcPort, p.DstPort = e.sport, e.dport
	p.IPLen = uint32(ip.ipLen)
}

// addrOf converts 4 or 16 header bytes to an address without allocating.
func addrOf(b []byte) netip.Addr {
	if len(b) == 4 {
		return netip.AddrFrom4([4]byte(b))
	}
	return netip.AddrFrom16([16]byte(b))
}
