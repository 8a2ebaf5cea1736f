package scenario

import (
	"encoding/binary"
	"net/netip"

	"github.com/google/gopacket/layers"
)

// A carrier puts a scenario's frames on the tapped link as that link carries them: inside a
// tunnel or a mirror session, or on a link that is not Ethernet. Frames() hands it every frame
// in time order, after the scenario is built, so that its sequence numbers and IP
// identifications count up as a real encapsulator's do; a carrier is made afresh for each
// call, as it keeps that state.
type carrier interface {
	// link is the link type of the frames it writes.
	link() layers.LinkType
	// wrap returns the frame on the tapped link that carries f, an Ethernet frame of the
	// scenario from ep's source to its destination.
	wrap(f Frame, ep *Endpoints) []byte
}

// Protocol numbers and types of the encapsulations (IANA; IEEE 802; draft-foschiano-erspan).
const (
	protoIPIP       = 4
	protoIPv6       = 41
	protoGRE        = 47
	etherTypeMPLS   = 0x8847
	etherTypePPPoE  = 0x8864
	etherTypeTEB    = 0x6558
	etherTypeERSPAN = 0x88be
	etherTypeERSP3  = 0x22eb
	portVXLAN       = 4789
	portGeneve      = 6081
	portGTPU        = 2152
)

// The mirror and tunnel infrastructure of the scenarios: end points in 192.0.2.240/28 and
// 2001:db8:ffff::/48, and their MAC addresses.
var (
	macSwitch    = mac(0xf1)
	macCollector = mac(0xf2)
	macPeer      = mac(0xf3)
)

// onEthernet is embedded by the carriers whose frames are Ethernet's.
type onEthernet struct{}

func (onEthernet) link() layers.LinkType { return layers.LinkTypeEthernet }

// ipFamily returns the Ethernet type and the IP protocol number of ip's version.
func ipFamily(ip []byte) (etherType uint16, protocol byte) {
	if ip[0]>>4 == 6 {
		return etherTypeIPv6, protoIPv6
	}
	return etherTypeIPv4, protoIPIP
}

// ipOf returns the IP packet of an Ethernet frame built by AppendUDP: after the VLAN tags,
// without the padding.
func ipOf(frame []byte) []byte {
	b := frame[12:]
	for binary.BigEndian.Uint16(b) == etherTypeVLAN || binary.BigEndian.Uint16(b) == etherTypeQinQ {
		b = b[4:]
	}
	ip := b[2:]
	if ip[0]>>4 == 4 {
		return ip[:binary.BigEndian.Uint16(ip[2:])]
	}
	return ip[:40+int(binary.BigEndian.Uint16(ip[4:]))]
}

// inbound reports whether ep's datagram goes from outside into home.
func inbound(home netip.Prefix, ep *Endpoints) bool { return !home.Contains(ep.Src) }

// tunnelEnds is the outer addressing of a point-to-point tunnel: the home end and the remote
// end, which trade places with the direction of the inner datagram.
type tunnelEnds struct {
	home  netip.Prefix // inner addresses on the home end's side
	local Endpoints    // MACs and addresses of the outer frame from the home end to the remote
}

// outer returns the outer addressing of ep's datagram.
func (t *tunnelEnds) outer(ep *Endpoints) *Endpoints {
	if inbound(t.home, ep) {
		return t.local.Reverse()
	}
	return &t.local
}

// erspanMirror is a Cisco switch's ERSPAN monitor session (draft-foschiano-erspan-03): every
// frame of the mirrored port, whichever way it goes, copied whole to the collector in GRE, as
// type I (no ERSPAN header), type II (GRE sequence number, 8-byte header) or type III (12-byte
// header with a timestamp in 100-microsecond units).
type erspanMirror struct {
	onEthernet
	version int // 1, 2 or 3
	session uint16
	vlan    uint16 // the mirrored port's VLAN, in the type II and III headers
	seq     uint32
	ipID    uint16
}

func (e *erspanMirror) wrap(f Frame, _ *Endpoints) []byte {
	e.seq++
	e.ipID++
	var h []byte
	switch e.version {
	case 1:
		h = []byte{0, 0, etherTypeERSPAN >> 8, etherTypeERSPAN & 0xff}
	case 2:
		h = []byte{0x10, 0, etherTypeERSPAN >> 8, etherTypeERSPAN & 0xff}
		h = binary.BigEndian.AppendUint32(h, e.seq)
		// Version 1, VLAN; COS 0, encapsulation 3 (the tag kept in the frame), session id.
		h = binary.BigEndian.AppendUint16(h, 1<<12|e.vlan)
		h = binary.BigEndian.AppendUint16(h, 3<<11|e.session)
		h = binary.BigEndian.AppendUint32(h, 7) // index: the mirrored port
	case 3:
		h = []byte{0x10, 0, etherTypeERSP3 >> 8, etherTypeERSP3 & 0xff}
		h = binary.BigEndian.AppendUint32(h, e.seq)
		// Version 2, VLAN; COS 0, BSO 0, T 0, session id; timestamp; SGT 0; P 0, frame
		// type 0 (Ethernet), hardware id 1, direction 0, granularity 0 (100 us), O 0.
		h = binary.BigEndian.AppendUint16(h, 2<<12|e.vlan)
		h = binary.BigEndian.AppendUint16(h, e.session)
		h = binary.BigEndian.AppendUint32(h, uint32(f.Time.UnixMicro()/100))
		h = append(h, 0, 0, 0, 1<<4)
	}
	outer := &Endpoints{SrcMAC: macSwitch, DstMAC: macCollector, Src: addr("192.0.2.241"), Dst: addr("192.0.2.242")}
	b := appendEthernet(nil, outer, nil, etherTypeIPv4)
	return appendIP(b, outer, e.ipID, protoGRE, append(h, f.Data...))
}

// vxlanMirror is a cloud traffic mirror session (AWS VPC Traffic Mirroring, RFC 7348 VXLAN):
// every frame of the mirrored interface in a UDP datagram to port 4789 of the mirror target,
// from a source port that hashes the mirrored flow.
type vxlanMirror struct {
	onEthernet
	vni  uint32
	ipID uint16
}

func (v *vxlanMirror) wrap(f Frame, ep *Endpoints) []byte {
	v.ipID++
	h := binary.BigEndian.AppendUint32([]byte{0x08, 0, 0, 0}, v.vni<<8)
	outer := &Endpoints{SrcMAC: macSwitch, DstMAC: macCollector, Src: addr("192.0.2.243"), Dst: addr("192.0.2.244"),
		SrcPort: 49152 + (ep.SrcPort^ep.DstPort)%16384, DstPort: portVXLAN}
	return AppendUDP(nil, outer, v.ipID, append(h, f.Data...))
}

// geneveOverlay is a Geneve overlay (RFC 8926) that carries IP packets (protocol type 0x0800
// or 0x86dd) with three options of one vendor class, as cloud load balancers that steer
// traffic through appliances send it.
type geneveOverlay struct {
	onEthernet
	tunnelEnds
	vni  uint32
	ipID uint16
}

func (g *geneveOverlay) wrap(f Frame, ep *Endpoints) []byte {
	g.ipID++
	ip := ipOf(f.Data)
	etype, _ := ipFamily(ip)
	// Options: class 0x0108, types 1 and 2 of 8 bytes (two words), type 3 of 4 bytes.
	opts := []byte{0x01, 0x08, 1, 2, 0, 0, 0, 0, 0, 0, 0, 0x0a,
		0x01, 0x08, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0x0b,
		0x01, 0x08, 3, 1, 0x5e, 0xed, 0x12, 0x34}
	h := []byte{byte(len(opts) / 4), 0}
	h = binary.BigEndian.AppendUint16(h, etype)
	h = binary.BigEndian.AppendUint32(h, g.vni<<8)
	h = append(append(h, opts...), ip...)
	outer := *g.outer(ep)
	outer.SrcPort, outer.DstPort = 49152+(ep.SrcPort^ep.DstPort)%16384, portGeneve
	return AppendUDP(nil, &outer, g.ipID, h)
}

// greTunnel is a GRE tunnel between two routers (RFC 2784 with RFC 2890's key and sequence
// number, both ways, and the checksum): IP packets, or with teb the Ethernet frames of a
// bridged segment (protocol type 0x6558, as Linux gretap and NVGRE carry them).
type greTunnel struct {
	onEthernet
	tunnelEnds
	key      uint32
	checksum bool
	teb      bool
	seq      [2]uint32
	ipID     uint16
}

func (g *greTunnel) wrap(f Frame, ep *Endpoints) []byte {
	g.ipID++
	payload, ptype := f.Data, uint16(etherTypeTEB)
	if !g.teb {
		payload = ipOf(f.Data)
		ptype, _ = ipFamily(payload)
	}
	dir := 0
	if inbound(g.home, ep) {
		dir = 1
	}
	g.seq[dir]++
	flags := uint16(0x3000) // key and sequence number
	if g.checksum {
		flags |= 0x8000
	}
	h := binary.BigEndian.AppendUint16(nil, flags)
	h = binary.BigEndian.AppendUint16(h, ptype)
	if g.checksum {
		h = append(h, 0, 0, 0, 0)
	}
	h = binary.BigEndian.AppendUint32(h, g.key)
	h = binary.BigEndian.AppendUint32(h, g.seq[dir])
	h = append(h, payload...)
	if g.checksum {
		binary.BigEndian.PutUint16(h[4:], checksum(h, 0))
	}
	outer := g.outer(ep)
	etype := uint16(etherTypeIPv4)
	if outer.Src.Is6() {
		etype = etherTypeIPv6
	}
	b := appendEthernet(nil, outer, nil, etype)
	return appendIP(b, outer, g.ipID, protoGRE, h)
}

// ipTunnel is an IP-in-IP tunnel between two routers: IPv4 in IPv4 (RFC 2003, protocol 4) or
// IPv6 in IPv4 (RFC 4213, protocol 41, a tunnel broker's 6in4).
type ipTunnel struct {
	onEthernet
	tunnelEnds
	ipID uint16
}

func (t *ipTunnel) wrap(f Frame, ep *Endpoints) []byte {
	t.ipID++
	ip := ipOf(f.Data)
	_, protocol := ipFamily(ip)
	outer := t.outer(ep)
	return pad(appendIP(appendEthernet(nil, outer, nil, etherTypeIPv4), outer, t.ipID, protocol, ip), 0)
}

// pppoeAccess is the access link of a broadband service at the provider's edge: a QinQ
// service and customer tag per subscriber, a PPPoE session (RFC 2516) and PPP (RFC 1661)
// carrying the subscriber's IPv4 packets. The subscriber's side is home.
type pppoeAccess struct {
	onEthernet
	home    netip.Prefix
	vlans   []uint16
	session uint16
}

func (a *pppoeAccess) wrap(f Frame, ep *Endpoints) []byte {
	ip := ipOf(f.Data)
	out := &Endpoints{SrcMAC: macPeer, DstMAC: macRouter}
	if inbound(a.home, ep) {
		out = out.Reverse()
	}
	b := appendEthernet(nil, out, a.vlans, etherTypePPPoE)
	b = append(b, 0x11, 0)
	b = binary.BigEndian.AppendUint16(b, a.session)
	b = binary.BigEndian.AppendUint16(b, uint16(2+len(ip)))
	b = append(b, 0x00, 0x21)
	return pad(append(b, ip...), 0)
}

// mplsCore is a link of a provider's MPLS core: each datagram under a transport label and a
// VPN label (an RFC 4364 L3VPN), IPv4 after the bottom label; or, with pw, a customer's whole
// Ethernet frame in a pseudowire (RFC 4448) after one label and a control word (RFC 4385)
// with a sequence number. Labels differ by direction, as label switched paths are one-way.
type mplsCore struct {
	onEthernet
	home   netip.Prefix
	labels [2][]uint32 // outward, inward
	pw     bool
	seq    [2]uint16
}

func (m *mplsCore) wrap(f Frame, ep *Endpoints) []byte {
	dir := 0
	out := &Endpoints{SrcMAC: macRouter, DstMAC: macPeer}
	if inbound(m.home, ep) {
		dir, out = 1, out.Reverse()
	}
	b := appendEthernet(nil, out, nil, etherTypeMPLS)
	for i, l := range m.labels[dir] {
		e := l<<12 | 64
		if i == len(m.labels[dir])-1 {
			e |= 0x100
		}
		b = binary.BigEndian.AppendUint32(b, e)
	}
	if m.pw {
		m.seq[dir]++
		b = append(b, 0, 0)
		b = binary.BigEndian.AppendUint16(b, m.seq[dir])
		return append(b, f.Data...)
	}
	return pad(append(b, ipOf(f.Data)...), 0)
}

// gtpUser is the user plane of a 5G core (N3) or an LTE core (S1-U): the subscriber's
// packets in GTP-U (3GPP TS 29.281) between the base station and the user plane function,
// UDP port 2152 both ways, with a PDU session container extension header (TS 38.415) naming
// the QoS flow. The subscriber's side is home; each direction has its own TEID.
type gtpUser struct {
	onEthernet
	tunnelEnds
	teid [2]uint32 // uplink (the core's), downlink (the base station's)
	ipID uint16
}

func (g *gtpUser) wrap(f Frame, ep *Endpoints) []byte {
	g.ipID++
	ip := ipOf(f.Data)
	dir, pduType := 0, byte(1) // UL PDU SESSION INFORMATION
	if inbound(g.home, ep) {
		dir, pduType = 1, 0 // DL PDU SESSION INFORMATION
	}
	// Flags: version 1, PT 1, E; message type 255 (G-PDU); the length of what follows the
	// TEID; sequence number, N-PDU number, next extension header 0x85 (PDU session
	// container) of one word: type, QFI 9, no next header.
	h := []byte{0x34, 0xff}
	h = binary.BigEndian.AppendUint16(h, uint16(4+4+len(ip)))
	h = binary.BigEndian.AppendUint32(h, g.teid[dir])
	h = append(h, 0, 0, 0, 0x85, 1, pduType<<4, 9, 0)
	outer := *g.outer(ep)
	outer.SrcPort, outer.DstPort = portGTPU, portGTPU
	return AppendUDP(nil, &outer, g.ipID, append(h, ip...))
}

// serialLink is a router's serial or SONET link: PPP in HDLC-like framing (link types PPP and
// PPP_HDLC: ff 03 and the PPP protocol) or Cisco HDLC (address 0x0f, control 0, an Ethernet
// type), carrying IP packets.
type serialLink struct{ lt layers.LinkType }

func (s *serialLink) link() layers.LinkType { return s.lt }

func (s *serialLink) wrap(f Frame, _ *Endpoints) []byte {
	ip := ipOf(f.Data)
	v6 := ip[0]>>4 == 6
	var h []byte
	switch {
	case s.lt == layers.LinkTypeC_HDLC && v6:
		h = []byte{0x0f, 0, 0x86, 0xdd}
	case s.lt == layers.LinkTypeC_HDLC:
		h = []byte{0x0f, 0, 0x08, 0x00}
	case v6:
		h = []byte{0xff, 0x03, 0x00, 0x57}
	default:
		h = []byte{0xff, 0x03, 0x00, 0x21}
	}
	return append(h, ip...)
}

// linkTypeNFLOG is LINKTYPE_NFLOG, which gopacket does not name.
const linkTypeNFLOG = layers.LinkType(239)

// nflogRule is what `tcpdump -i nflog:5` captures on the NTP server itself from an iptables
// rule `-p udp --sport 123 -j NFLOG --nflog-group 5 --nflog-prefix ntp` and its twin for
// --dport (https://www.tcpdump.org/linktypes/LINKTYPE_NFLOG.html): a 4-byte header, then
// TLVs whose length and type are in the capturing host's byte order (little-endian here) and
// whose values are in network order: the packet header (hardware protocol, netfilter hook),
// the prefix, the interface, the timestamp and the packet.
type nflogRule struct{ home netip.Prefix }

func (n *nflogRule) link() layers.LinkType { return linkTypeNFLOG }

func (n *nflogRule) wrap(f Frame, ep *Endpoints) []byte {
	ip := ipOf(f.Data)
	hwProto, _ := ipFamily(ip)
	family := byte(2) // AF_INET
	if hwProto == etherTypeIPv6 {
		family = 10
	}
	hook, ifType := byte(1), uint16(4) // NF_INET_LOCAL_IN, NFULA_IFINDEX_INDEV
	if !inbound(n.home, ep) {
		hook, ifType = 3, 5 // NF_INET_LOCAL_OUT, NFULA_IFINDEX_OUTDEV
	}
	b := []byte{family, 0, 0, 5} // version 0, resource id (the group) 5
	b = nflogTLV(b, 1, append(binary.BigEndian.AppendUint16(nil, hwProto), hook, 0))
	b = nflogTLV(b, 10, []byte("ntp\x00"))
	b = nflogTLV(b, ifType, binary.BigEndian.AppendUint32(nil, 2))
	ts := binary.BigEndian.AppendUint64(nil, uint64(f.Time.Unix()))
	b = nflogTLV(b, 3, binary.BigEndian.AppendUint64(ts, uint64(f.Time.Nanosecond()/1000)))
	return nflogTLV(b, 9, ip)
}

// nflogTLV appends an NFLOG TLV, its header little-endian, padded to 4 bytes.
func nflogTLV(b []byte, typ uint16, v []byte) []byte {
	b = binary.LittleEndian.AppendUint16(b, uint16(4+len(v)))
	b = binary.LittleEndian.AppendUint16(b, typ)
	b = append(b, v...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}
