package decode

import (
	"encoding/binary"
	"net/netip"

	"github.com/ntpwatch/ntpwatch/decode/proto"
)

// IP protocol numbers the decoder follows (IANA protocol numbers).
const (
	ipProtoIPIP    = 4  // IPv4 in IP (RFC 2003)
	ipProtoUDP     = 17 // RFC 768
	ipProtoIPv6    = 41 // IPv6 in IP (RFC 4213, RFC 2473)
	ipProtoGRE     = 47 // RFC 2784
	ipProtoEtherIP = 97 // RFC 3378
)

// maxHeaderChain bounds the VLAN tags, MPLS labels, IPv6 extension headers and NFLOG TLVs
// walked in one header chain, so a crafted frame cannot make the decoder loop long.
const maxHeaderChain = 8

// Decoder turns frames into Packets. It walks the link layer, tunnels, IP and UDP headers by
// hand rather than through gopacket's DecodingLayerParser: gopacket's IPv4 layer hands every
// fragment, the first included, to LayerTypeFragment, v1.1.19 knows neither SLL2 nor the
// 0x9100 QinQ tag, and a walk that reads only the bytes it needs lets the frames on no port
// of the protocol table leave after a few loads, without building addresses. A datagram on a
// port of the table goes to that protocol's classifier. link.go reads the link layers and
// what Ethernet types carry, tunnel.go the tunnels inside IP and UDP. A Decoder belongs to
// one goroutine.
type Decoder struct {
	table *proto.Table
	stats Stats
	frags fragTable
	msg   proto.Message

	// Per frame: the tunnels entered, and the encapsulation kinds met (a bit per kind), so
	// that Stats counts each kind once per frame.
	depth int
	kinds uint32
	// Per frame: its captured bytes and wire length, and whether its own IP header (not one
	// inside a tunnel or a log message) must fit in the wire length (wireFits).
	data      []byte
	wire      int
	checkWire bool
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
}

// Decode fills *p entirely from one frame, resetting what a previous call left, and returns
// p.Kind. It allocates nothing: NTP.Priv.Monlist reuses p's backing array.
func (d *Decoder) Decode(f *Frame, p *Packet) Kind {
	wire := max(f.WireLen, len(f.Data))
	weight := max(f.Weight, 1)
	// Packet is reset in place, keeping only the backing array of the monitor list: a
	// literal that named p.NTP would be built in a temporary and copied, at twice the cost.
	monlist := p.NTP.Priv.Monlist[:0]
	*p = Packet{Time: f.Time, WireLen: uint32(wire), Weight: weight, Vector: proto.NoVector}
	p.NTP.Priv.Monlist = monlist

	d.depth, d.kinds = 0, 0
	d.data, d.wire, d.checkWire = f.Data, wire, f.Link != LinkTypeNFLOG
	d.decodeLink(f.Data, f.Link, p)
	d.data = nil

	s := &d.stats
	s.Frames++
	s.WireBytes += uint64(wire)
	s.countLink(f.Link)
	s.Problems[p.Problem]++
	if d.kinds != 0 {
		s.countEncaps(d.kinds)
	}
	s.countKind(p)
	return p.Kind
}

// Record counts p, an observation a PacketSource made without a frame (a flow record), in
// the Decoder's Stats as Decode counts a frame: once in Records, once in the counter of its
// Kind and, a message, in its protocol's.
func (d *Decoder) Record(p *Packet) {
	d.stats.Records++
	d.stats.countKind(p)
}

// decodeIPv4 reads the RFC 791 header; options are skipped by the header length.
func (d *Decoder) decodeIPv4(b []byte, p *Packet) {
	if short(b, 20, p) {
		return
	}
	ihl := int(b[0]&0x0f) * 4
	total := int(binary.BigEndian.Uint16(b[2:4]))
	if b[0]>>4 != 4 || ihl < 20 || total < ihl || !d.wireFits(b, total) {
		p.Problem = ProblemIPHeader
		return
	}
	frag := binary.BigEndian.Uint16(b[6:8])
	more, offset := frag&0x2000 != 0, frag&0x1fff
	switch b[9] {
	case ipProtoUDP:
	case ipProtoGRE, ipProtoIPIP, ipProtoIPv6, ipProtoEtherIP:
		switch {
		case offset != 0: // the rest of a tunnel packet whose first fragment was counted
		case more:
			p.Problem = ProblemTunnelFragment
		case len(b) < ihl:
			p.Problem = ProblemTruncated
		default:
			d.decodeIPPayload(b[9], b[ihl:min(total, len(b))], p)
		}
		return
	default:
		return // the cheap exit of most non-NTP traffic
	}
	if short(b, ihl, p) {
		return
	}
	ip := ipInfo{src: b[12:16], dst: b[16:20], ipLen: total}
	if more || offset != 0 {
		ip.key = newFragKey(ip.src, ip.dst, uint32(binary.BigEndian.Uint16(b[4:6])), b[9])
		if offset != 0 {
			d.fragment(&ip, total-ihl, more, p)
			return
		}
		ip.firstFrag = true
	}
	d.decodeUDP(b[ihl:], total-ihl, &ip, p)
}

// decodeIPv6 reads the RFC 8200 header and walks its extension headers to UDP or a tunnel.
func (d *Decoder) decodeIPv6(b []byte, p *Packet) {
	if short(b, 40, p) {
		return
	}
	if b[0]>>4 != 6 {
		p.Problem = ProblemIPHeader
		return
	}
	ip := ipInfo{src: b[8:24], dst: b[24:40], ipLen: 40 + int(binary.BigEndian.Uint16(b[4:6]))}
	if !d.wireFits(b, ip.ipLen) {
		p.Problem = ProblemIPHeader
		return
	}
	nh, off := b[6], 40
	for i := 0; i < maxHeaderChain && nh != ipProtoUDP; i++ {
		var l int
		switch nh {
		case 0, 43, 60: // hop-by-hop, routing, destination options: length in 8-byte units
			if short(b, off+2, p) {
				return
			}
			l = (int(b[off+1]) + 1) * 8
		case 51: // authentication header (RFC 4302): length in 4-byte units, minus 2
			if short(b, off+2, p) {
				return
			}
			l = (int(b[off+1]) + 2) * 4
		case 44: // fragment header (RFC 8200 section 4.5)
			if short(b, off+8, p) {
				return
			}
			fo := binary.BigEndian.Uint16(b[off+2 : off+4])
			offset, more := fo>>3, fo&1 != 0
			ip.key = newFragKey(ip.src, ip.dst, binary.BigEndian.Uint32(b[off+4:off+8]), b[off])
			if offset != 0 {
				if b[off] == ipProtoUDP {
					d.fragment(&ip, ip.ipLen-off-8, more, p)
				}
				return
			}
			ip.firstFrag = more
			l = 8
		case ipProtoGRE, ipProtoIPIP, ipProtoIPv6, ipProtoEtherIP:
			switch {
			case ip.firstFrag:
				p.Problem = ProblemTunnelFragment
			case len(b) < off:
				p.Problem = ProblemTruncated
			default:
				d.decodeIPPayload(nh, b[off:min(ip.ipLen, len(b))], p)
			}
			return
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
	if short(b, off, p) {
		return
	}
	d.decodeUDP(b[off:], ip.ipLen-off, &ip, p)
}

// wireFits reports whether an IP packet of n bytes whose header starts at b fits in the wire
// length of the frame, as every packet a link carried does; lengths come from the headers,
// and a frame of 60 bytes whose headers claim 65,535 must not count 65,535 bytes. The check
// applies to the frame's own IP header only: inside a tunnel or a mirror session the
// packet's headers give its length as it was before the mirror may have cut it (ERSPAN's T
// bit, a traffic mirror's packet length), and an NFLOG rule may copy part of a packet.
func (d *Decoder) wireFits(b []byte, n int) bool {
	if !d.checkWire || d.depth > 0 {
		return true
	}
	// b is a slice of the frame's data that reaches its end, so the capacities tell where
	// it starts.
	return n <= d.wire-(cap(d.data)-cap(b))
}

// decodeUDP reads the RFC 768 header and, for a port of the protocol table on either side,
// hands the payload to the protocol's classifier. room is the IP payload length from the IP
// header; a first fragment carries a UDP length beyond it. The ports of the encapsulations
// carried in UDP are checked first, the destination port of VXLAN, Geneve and GTP-U and the
// source port of GTP-U: proto.NewTable refuses them, so no protocol can claim a tunnel's
// datagrams.
func (d *Decoder) decodeUDP(b []byte, room int, ip *ipInfo, p *Packet) {
	if short(b, 8, p) {
		return
	}
	sport := binary.BigEndian.Uint16(b[0:2])
	dport := binary.BigEndian.Uint16(b[2:4])
	unclaimed, tport := ProblemNone, dport
	if sport == portGTPU {
		tport = portGTPU // GTP-U entities often send from the port too, and some only
	}
	switch tport {
	case portVXLAN, portGeneve, portGTPU:
		var done bool
		if done, unclaimed = d.decodeUDPTunnel(tport, b, room, ip, p); done {
			return
		}
	}
	pr := d.table.Lookup(sport, dport)
	if pr == nil {
		// A reply some protocol sends from a port of no entry (TFTP's data blocks) is told
		// by its length first: other datagrams leave after one comparison.
		if s := d.table.Stray(int(binary.BigEndian.Uint16(b[4:6])) - 8); s != nil && unclaimed == ProblemNone &&
			d.stray(s, b, room, ip, sport, dport, p) {
			return
		}
		if unclaimed != ProblemNone {
			d.note(p, udpTunnelKind(tport), 0, false)
			p.Problem = unclaimed
		}
		if ip.firstFrag {
			d.frags.add(ip.key, fragEntry{sport: sport, dport: dport})
		}
		return
	}
	ulen := int(binary.BigEndian.Uint16(b[4:6]))
	if ulen < 8 || (!ip.firstFrag && ulen > room) || room < 8 {
		p.Problem = ProblemUDPHeader
		if ip.firstFrag {
			d.frags.add(ip.key, fragEntry{sport: sport, dport: dport})
		}
		return
	}
	p.Src, p.Dst = addrOf(ip.src), addrOf(ip.dst)
	p.SrcPort, p.DstPort = sport, dport
	p.IPLen = uint32(ip.ipLen)
	p.MessageLen = uint32(ulen - 8)
	p.PayloadLen = uint32(min(ulen, room) - 8) // what a first fragment carries
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
	if ip.firstFrag {
		d.frags.add(ip.key, fragEntry{sport: sport, dport: dport, proto: p.Proto,
			dir: p.Dir, vector: p.Vector, data: p.Data, refusal: p.Refusal, left: p.MessageLen - p.PayloadLen})
	}
}

// stray hands a datagram on no port of the table whose length is pr's StrayLen to pr's
// classifier, and keeps it as pr's message only when the classifier claims it as a request
// or a reply; otherwise p is left as it was, other traffic, and stray returns false. A
// fragmented datagram is left alone: replies of this kind fit one frame.
func (d *Decoder) stray(pr *proto.Protocol, b []byte, room int, ip *ipInfo, sport, dport uint16, p *Packet) bool {
	ulen := int(binary.BigEndian.Uint16(b[4:6]))
	if ip.firstFrag || ulen > room {
		return false
	}
	d.classify(pr, b[8:min(ulen, len(b))], ulen-8, sport, dport, p)
	if p.Kind != KindMessage || p.Dir == proto.DirNone {
		p.Kind, p.Problem, p.Proto = KindOther, ProblemNone, nil
		p.Dir, p.Vector, p.Data, p.Refusal = proto.DirNone, proto.NoVector, false, false
		return false
	}
	p.Src, p.Dst = addrOf(ip.src), addrOf(ip.dst)
	p.SrcPort, p.DstPort = sport, dport
	p.IPLen = uint32(ip.ipLen)
	p.MessageLen, p.PayloadLen = uint32(ulen-8), uint32(ulen-8)
	return true
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

// fragment attributes a non-first fragment carrying n bytes of its datagram's UDP payload to
// that datagram through the fragment table, with the verdict of its first fragment.
func (d *Decoder) fragment(ip *ipInfo, n int, more bool, p *Packet) {
	e, took, ok := d.frags.carry(ip.key, n, more)
	if !ok {
		p.Problem = ProblemOrphanFragment
		return
	}
	if e.proto == nil {
		return
	}
	p.Kind = KindFragment
	p.Proto = e.proto
	p.Dir, p.Vector, p.Data, p.Refusal = e.dir, e.vector, e.data, e.refusal
	p.Src, p.Dst = addrOf(ip.src), addrOf(ip.dst)
	p.SrcPort, p.DstPort = e.sport, e.dport
	p.IPLen = uint32(ip.ipLen)
	p.PayloadLen = took
}

// short reports whether b holds fewer than the n bytes a header needs, and counts the frame
// as truncated when it does.
func short(b []byte, n int, p *Packet) bool {
	if len(b) < n {
		p.Problem = ProblemTruncated
		return true
	}
	return false
}

// addrOf converts 4 or 16 header bytes to an address without allocating.
func addrOf(b []byte) netip.Addr {
	if len(b) == 4 {
		return netip.AddrFrom4([4]byte(b))
	}
	return netip.AddrFrom16([16]byte(b))
}
