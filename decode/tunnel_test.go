package decode

import (
	"encoding/binary"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/ntpwatch/ntpwatch/decode/proto"
	"github.com/ntpwatch/ntpwatch/internal/testutil"
)

// The tunnels' end points, which detection must never see.
var (
	tunA  = netip.MustParseAddr("192.0.2.100")
	tunB  = netip.MustParseAddr("192.0.2.200")
	tunA6 = netip.MustParseAddr("2001:db8:1::100")
	tunB6 = netip.MustParseAddr("2001:db8:1::200")
)

// The frames below are built by hand from the specifications cited in tunnel.go and link.go;
// TestTunnelsAgreeWithTshark checks the same code on real captures.

// ether is an Ethernet frame of type etype with the given tags (TPID, VID pairs).
func ether(etype uint16, body []byte, tags ...uint16) []byte {
	f := []byte{0, 0, 0x5e, 0, 0x53, 1, 0, 0, 0x5e, 0, 0x53, 2}
	for i := 0; i+1 < len(tags); i += 2 {
		f = binary.BigEndian.AppendUint16(f, tags[i])
		f = binary.BigEndian.AppendUint16(f, tags[i+1])
	}
	f = binary.BigEndian.AppendUint16(f, etype)
	return append(f, body...)
}

// cat joins byte slices.
func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

func u16(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }
func u32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

// outer4 and outer6 carry body between the tunnel's end points.
func outer4(proto uint8, body []byte) []byte { return testutil.IPv4(tunA, tunB, proto, 1, 0, body) }
func outer6(proto uint8, body []byte) []byte { return testutil.IPv6(tunA6, tunB6, proto, body) }

// gre is a GRE header with flags, protocol type and optional 32-bit fields, then body.
func gre(flags, proto uint16, body []byte, fields ...uint32) []byte {
	b := cat(u16(flags), u16(proto))
	for _, f := range fields {
		b = append(b, u32(f)...)
	}
	return append(b, body...)
}

// mplsLabel is one label stack entry; bottom sets the S bit.
func mplsLabel(label uint32, bottom bool) []byte {
	e := label<<12 | 64 // TTL 64
	if bottom {
		e |= 0x100
	}
	return u32(e)
}

// pppoe is a PPPoE session header for session id, then the PPP protocol and body.
func pppoe(id uint16, pppProto uint16, body []byte) []byte {
	return cat([]byte{0x11, 0}, u16(id), u16(uint16(2+len(body))), u16(pppProto), body)
}

// udpTo is a UDP datagram between the tunnel's end points to dport.
func udpTo(dport uint16, payload []byte) []byte {
	return testutil.UDP(tunA, tunB, 50000, dport, payload)
}

// vxlan is a VXLAN header with the I flag and vni, then the frame.
func vxlan(vni uint32, frame []byte) []byte {
	return cat([]byte{0x08, 0, 0, 0}, u32(vni<<8), frame)
}

// nflogTLV is one NFLOG TLV in byte order o, padded to 4 bytes.
func nflogTLV(o binary.AppendByteOrder, typ uint16, v []byte) []byte {
	b := o.AppendUint16(nil, uint16(4+len(v)))
	b = o.AppendUint16(b, typ)
	b = append(b, v...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

// gtpu is a GTP-U G-PDU header (flags 0x30: version 1, PT 1) for teid, then the packet.
func gtpuPDU(teid uint32, packet []byte) []byte {
	return cat([]byte{0x30, 255}, u16(uint16(len(packet))), u32(teid), packet)
}

// tunnelCase is a monlist request in a tunnel, a mirror session or on a link type.
type tunnelCase struct {
	name  string
	link  LinkType
	frame []byte
	encap string // the NTP log's field
	v6    bool   // the request is IPv6's
}

// tunnelCases are the frames of TestTunnels, which seed FuzzDecode too.
func tunnelCases() []tunnelCase {
	req4 := testutil.UDP(testutil.V4Client, testutil.V4Server, 40000, 123, testutil.MonlistRequest(8))
	req6 := testutil.UDP(testutil.V6Client, testutil.V6Server, 40000, 123, testutil.MonlistRequest(8))
	eth4 := testutil.Ethernet(req4)
	le, be := binary.LittleEndian, binary.BigEndian
	nflog := func(o binary.AppendByteOrder, fam byte, packet []byte) []byte {
		return cat([]byte{fam, 0, 0, 5}, nflogTLV(o, 1, []byte{0x08, 0, 3, 0}), nflogTLV(o, 10, []byte("ntp\x00")),
			nflogTLV(o, 9, packet))
	}
	// A GTP-U G-PDU with a PDU session container (TS 38.415), one extension header of 4 bytes.
	gtpExt := cat([]byte{0x34, 255}, u16(uint16(4+4+len(req6))), u32(0x1234), []byte{0, 0, 0, 0x85},
		[]byte{1, 0x10, 9, 0}, req6)
	geneveOpt := cat([]byte{0x02, 0, 0x65, 0x58}, u32(77<<8), []byte{0x01, 0x02, 0x80, 1, 0, 0, 0, 1}, eth4)
	erspan2 := cat(u16(0x1000|23), u16(100), u32(7)) // version 1, VLAN 23; session id 100; index 7
	erspan3 := cat(u16(0x2000), u16(300), u32(0), u16(0), []byte{0, 1})
	erspan3IP := cat(u16(0x2000), u16(301), u32(0), u16(0), []byte{2 << 2, 0})

	return []tunnelCase{
		{"pppoe", LinkTypeEthernet, ether(etherTypePPPoESession, pppoe(0x1234, 0x0021, req4), 0x8100, 100), `["vlan:100","pppoe:4660"]`, false},
		{"pppoe ipv6", LinkTypeEthernet, ether(etherTypePPPoESession, pppoe(7, 0x0057, req6)), `["pppoe:7"]`, true},
		{"pppoe protocol field compressed", LinkTypeEthernet, ether(etherTypePPPoESession, cat([]byte{0x11, 0, 0, 7}, u16(uint16(1+len(req4))), []byte{0x21}, req4)), `["pppoe:7"]`, false},
		{"mpls", LinkTypeEthernet, ether(etherTypeMPLS, cat(mplsLabel(100, false), mplsLabel(200, true), req4)), `["mpls:100","mpls:200"]`, false},
		{"mpls ipv6", LinkTypeEthernet, ether(etherTypeMPLS, cat(mplsLabel(16, true), req6)), `["mpls:16"]`, true},
		{"mpls pseudowire with control word", LinkTypeEthernet, ether(etherTypeMPLS, cat(mplsLabel(300, true), u32(0x00000042), testutil.Ethernet(req4, 0x8100, 5))), `["mpls:300","pw","vlan:5"]`, false},
		{"gre checksum key sequence", LinkTypeEthernet, testutil.Ethernet(outer4(ipProtoGRE, gre(greChecksum|greKey|greSequence, etherTypeIPv4, req4, 0, 42, 9))), `["gre:42"]`, false},
		{"gre over ipv6", LinkTypeEthernet, testutil.Ethernet(outer6(ipProtoGRE, gre(0, etherTypeIPv6, req6))), `["gre"]`, true},
		{"gre transparent ethernet bridging", LinkTypeEthernet, testutil.Ethernet(outer4(ipProtoGRE, gre(greKey, etherTypeTEB, eth4, 5001))), `["gre:5001"]`, false},
		{"gre mpls", LinkTypeEthernet, testutil.Ethernet(outer4(ipProtoGRE, gre(0, etherTypeMPLS, cat(mplsLabel(17, true), req4)))), `["gre","mpls:17"]`, false},
		{"pptp enhanced gre", LinkTypeEthernet, testutil.Ethernet(outer4(ipProtoGRE, cat(u16(0x3081), u16(etherTypePPP), u16(uint16(2+len(req4))), u16(0x99), u32(1), u32(0), []byte{0xff, 0x03}, u16(0x0021), req4))), `["gre:153"]`, false},
		{"erspan type I", LinkTypeEthernet, testutil.Ethernet(outer4(ipProtoGRE, gre(0, etherTypeERSPAN, eth4))), `["gre","erspan"]`, false},
		{"erspan type II", LinkTypeEthernet, testutil.Ethernet(outer4(ipProtoGRE, gre(greSequence, etherTypeERSPAN, cat(erspan2, testutil.Ethernet(req4, 0x8100, 23)), 1))), `["gre","erspan:100","vlan:23"]`, false},
		{"erspan type III platform subheader", LinkTypeEthernet, testutil.Ethernet(outer4(ipProtoGRE, gre(greSequence, etherTypeERSPAN3, cat(erspan3, make([]byte, 8), eth4), 1))), `["gre","erspan:300"]`, false},
		{"erspan type III ip frame", LinkTypeEthernet, testutil.Ethernet(outer6(ipProtoGRE, gre(0, etherTypeERSPAN3, cat(erspan3IP, req6)))), `["gre","erspan:301"]`, true},
		{"vxlan", LinkTypeEthernet, testutil.Ethernet(udpTo(portVXLAN, vxlan(42, eth4))), `["vxlan:42"]`, false},
		{"vxlan ipv6 inside vlan", LinkTypeEthernet, testutil.Ethernet(udpTo(portVXLAN, vxlan(1, testutil.Ethernet(req6, 0x8100, 9)))), `["vxlan:1","vlan:9"]`, true},
		{"geneve options", LinkTypeEthernet, testutil.Ethernet(udpTo(portGeneve, geneveOpt)), `["geneve:77"]`, false},
		{"geneve ipv4", LinkTypeEthernet, testutil.Ethernet(udpTo(portGeneve, cat([]byte{0, 0, 0x08, 0}, u32(3<<8), req4))), `["geneve:3"]`, false},
		{"gtp-u", LinkTypeEthernet, testutil.Ethernet(udpTo(portGTPU, gtpuPDU(0xabcdef, req4))), `["gtpu:11259375"]`, false},
		{"gtp-u extension header", LinkTypeEthernet, testutil.Ethernet(udpTo(portGTPU, gtpExt)), `["gtpu:4660"]`, true},
		{"ip in ip", LinkTypeEthernet, testutil.Ethernet(outer4(ipProtoIPIP, req4)), `["ipip"]`, false},
		{"ipv6 in ipv4", LinkTypeEthernet, testutil.Ethernet(outer4(ipProtoIPv6, req6)), `["ip6ip"]`, true},
		{"ipv6 in ipv6", LinkTypeRaw, outer6(ipProtoIPv6, req6), `["ip6ip"]`, true},
		{"ipv4 in ipv6", LinkTypeRaw, outer6(ipProtoIPIP, req4), `["ipip"]`, false},
		{"ppp", LinkTypePPP, cat([]byte{0xff, 0x03, 0x00, 0x21}, req4), `null`, false},
		{"ppp without address and control", LinkTypePPP, cat([]byte{0x00, 0x57}, req6), `null`, true},
		{"ppp mpls", LinkTypePPP, cat([]byte{0xff, 0x03, 0x02, 0x81}, mplsLabel(18, true), req4), `["mpls:18"]`, false},
		{"ppp hdlc", LinkTypePPPHDLC, cat([]byte{0xff, 0x03, 0x00, 0x21}, req4), `null`, false},
		{"ppp hdlc cisco framing", LinkTypePPPHDLC, cat([]byte{0x0f, 0x00, 0x86, 0xdd}, req6), `null`, true},
		{"cisco hdlc", LinkTypeCHDLC, cat([]byte{0x0f, 0x00, 0x08, 0x00}, req4), `null`, false},
		{"cisco hdlc vlan", LinkTypeCHDLC, cat([]byte{0x8f, 0x00, 0x81, 0x00}, u16(33), u16(etherTypeIPv4), req4), `["vlan:33"]`, false},
		{"nflog little-endian", LinkTypeNFLOG, nflog(le, 2, req4), `null`, false},
		{"nflog big-endian ipv6", LinkTypeNFLOG, nflog(be, 10, req6), `null`, true},
		{"four tunnels", LinkTypeEthernet, ether(etherTypeMPLS, cat(mplsLabel(1, true), outer4(ipProtoGRE, gre(0, etherTypeTEB,
			testutil.Ethernet(udpTo(portVXLAN, vxlan(5, testutil.Ethernet(outer4(ipProtoIPIP, req4))))))))), `["mpls:1","gre","vxlan:5","ipip"]`, false},
	}
}

func TestTunnels(t *testing.T) {
	tests := tunnelCases()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := NewDecoder(nil)
			var p Packet
			if k := d.Decode(frameOf(tt.frame, tt.link), &p); k != KindMessage {
				t.Fatalf("kind %d problem %s encap %s", k, p.Problem, p.Encap.AppendJSON(nil))
			}
			src, dst := testutil.V4Client, testutil.V4Server
			if tt.v6 {
				src, dst = testutil.V6Client, testutil.V6Server
			}
			if p.Src != src || p.Dst != dst || p.SrcPort != 40000 || p.DstPort != 123 || p.Dir != proto.DirRequest ||
				p.PayloadLen != 8 || p.WireLen != uint32(len(tt.frame)) {
				t.Errorf("got %v:%d > %v:%d dir %d payload %d wire %d", p.Src, p.SrcPort, p.Dst, p.DstPort, p.Dir, p.PayloadLen, p.WireLen)
			}
			if got := string(p.Encap.AppendJSON(nil)); got != tt.encap {
				t.Errorf("encap %s, want %s", got, tt.encap)
			}
			if log := string(AppendNTPLog(nil, &p)); !strings.HasSuffix(log, `,"encap":`+tt.encap+`}`) {
				t.Errorf("NTP log: %s", log)
			}
			s := d.Stats()
			for i := range p.Encap.Len() {
				if k, _, _ := p.Encap.At(i); s.Encaps[k] != 1 {
					t.Errorf("%s counted %d times, want once per frame", k, s.Encaps[k])
				}
			}
		})
	}
}

// TestTunnelProblems: what the decoder does not read is counted under its own reason, never
// as none, and other traffic inside or beside tunnels is no problem at all.
func TestTunnelProblems(t *testing.T) {
	req4 := testutil.UDP(testutil.V4Client, testutil.V4Server, 40000, 123, testutil.MonlistRequest(8))
	eth4 := testutil.Ethernet(req4)
	tcp := testutil.IPv4(testutil.V4Client, testutil.V4Server, 6, 1, 0, make([]byte, 20))
	arp := ether(0x0806, make([]byte, 28))
	fragGRE := testutil.Ethernet(testutil.IPv4(tunA, tunB, ipProtoGRE, 9, 0x2000, gre(0, etherTypeIPv4, req4)))
	restGRE := testutil.Ethernet(testutil.IPv4(tunA, tunB, ipProtoGRE, 9, 10, make([]byte, 40)))
	vxlanDatagram := udpTo(portVXLAN, vxlan(42, eth4))
	fragVXLAN := testutil.Ethernet(testutil.IPv4(tunA, tunB, ipProtoUDP, 11, 0x2000, vxlanDatagram[20:60]))
	restVXLAN := testutil.Ethernet(testutil.IPv4(tunA, tunB, ipProtoUDP, 11, 5, vxlanDatagram[60:]))
	// An NTPv3 server's reply to a client that chose port 4789: its first byte, 0x1c, has
	// VXLAN's I flag, but a VXLAN header's last byte is zero and the NTP stratum is not.
	ntp3 := make([]byte, 48)
	ntp3[0], ntp3[1] = 0x1c, 2
	ntp3[7] = 1
	deep := req4
	for range MaxTunnelDepth + 1 {
		deep = outer4(ipProtoIPIP, deep)
	}
	tests := []struct {
		name    string
		frame   []byte
		kind    Kind
		problem Problem
	}{
		{"etherip", testutil.Ethernet(outer4(ipProtoEtherIP, cat([]byte{0x30, 0}, eth4))), KindOther, ProblemUnsupportedEncap},
		{"gre source routing", testutil.Ethernet(outer4(ipProtoGRE, gre(greRouting|greChecksum, etherTypeIPv4, req4, 0))), KindOther, ProblemUnsupportedEncap},
		{"gre version 2", testutil.Ethernet(outer4(ipProtoGRE, gre(2, etherTypeIPv4, req4))), KindOther, ProblemUnsupportedEncap},
		{"gre cut inside its key", testutil.Ethernet(outer4(ipProtoGRE, []byte{0x20, 0, 0x08, 0, 0})), KindOther, ProblemTruncated},
		{"erspan type II version 3", testutil.Ethernet(outer4(ipProtoGRE, gre(greSequence, etherTypeERSPAN, cat(u16(0x3000), make([]byte, 6), eth4), 1))), KindOther, ProblemUnsupportedEncap},
		{"erspan type III frame type 3", testutil.Ethernet(outer4(ipProtoGRE, gre(0, etherTypeERSPAN3, cat(u16(0x2000), make([]byte, 8), []byte{3 << 2, 0}, eth4)))), KindOther, ProblemUnsupportedEncap},
		{"mpls payload of nibble 5", ether(etherTypeMPLS, cat(mplsLabel(1, true), []byte{0x50}, make([]byte, 40))), KindOther, ProblemUnsupportedEncap},
		{"mpls associated channel", ether(etherTypeMPLS, cat(mplsLabel(13, true), []byte{0x10, 0, 0, 0x21}, make([]byte, 40))), KindOther, ProblemNone},
		{"mpls stack of 9", ether(etherTypeMPLS, cat(mplsLabel(1, false), mplsLabel(1, false), mplsLabel(1, false), mplsLabel(1, false), mplsLabel(1, false), mplsLabel(1, false), mplsLabel(1, false), mplsLabel(1, false), mplsLabel(1, true), req4)), KindOther, ProblemTunnelDepth},
		{"nine vlan tags", ether(etherTypeIPv4, req4, 0x8100, 1, 0x8100, 2, 0x8100, 3, 0x8100, 4, 0x8100, 5, 0x8100, 6, 0x8100, 7, 0x8100, 8, 0x8100, 9), KindOther, ProblemTunnelDepth},
		{"gtp-u carrying ethernet", testutil.Ethernet(udpTo(portGTPU, gtpuPDU(1, eth4))), KindOther, ProblemUnsupportedEncap},
		{"gtp-u echo request", testutil.Ethernet(udpTo(portGTPU, cat([]byte{0x32, 1}, u16(4), u32(0), u32(0x00010000)))), KindOther, ProblemNone},
		{"geneve version 1", testutil.Ethernet(udpTo(portGeneve, cat([]byte{0x40, 0, 0x65, 0x58}, u32(0), eth4))), KindOther, ProblemUnsupportedEncap},
		{"vxlan without the I flag", testutil.Ethernet(udpTo(portVXLAN, cat([]byte{0, 0, 0, 0}, u32(0), eth4))), KindOther, ProblemUnsupportedEncap},
		{"vxlan cut by the snaplen", testutil.Ethernet(udpTo(portVXLAN, vxlan(42, eth4))), KindOther, ProblemTruncated},
		{"ntp reply to port 4789", testutil.Ethernet(testutil.UDP(testutil.V4Server, testutil.V4Client, 123, portVXLAN, ntp3)), KindMessage, ProblemNone},
		{"tunnels nested too deep", testutil.Ethernet(deep), KindOther, ProblemTunnelDepth},
		{"ip longer than the wire", testutil.Ethernet(testutil.IPv4(testutil.V4Server, testutil.V4Client, 17, 1, 0, append(cat(u16(123), u16(40000), u16(65535), u16(0)), testutil.MonlistReply(true, testutil.V4Client)...)))[:60], KindOther, ProblemIPHeader},
		{"first fragment of a gre packet", fragGRE, KindOther, ProblemTunnelFragment},
		{"later fragment of a gre packet", restGRE, KindOther, ProblemNone},
		{"tcp in gre", testutil.Ethernet(outer4(ipProtoGRE, gre(0, etherTypeIPv4, tcp))), KindOther, ProblemNone},
		{"arp", arp, KindOther, ProblemNone},
		{"arp in vxlan", testutil.Ethernet(udpTo(portVXLAN, vxlan(1, arp))), KindOther, ProblemNone},
		{"lldp", ether(0x88cc, make([]byte, 40)), KindOther, ProblemNone},
		{"pppoe discovery", ether(0x8863, cat([]byte{0x11, 0x09, 0, 0, 0, 4}, make([]byte, 4))), KindOther, ProblemNone},
		{"pppoe lcp", ether(etherTypePPPoESession, pppoe(3, 0xc021, []byte{1, 1, 0, 4})), KindOther, ProblemNone},
		{"802.3 llc", ether(46, make([]byte, 46)), KindOther, ProblemNone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := NewDecoder(nil)
			var p Packet
			f := frameOf(tt.frame, LinkTypeEthernet)
			if strings.Contains(tt.name, "snaplen") {
				f.Data = f.Data[:14+20+8+4]
			}
			k := d.Decode(f, &p)
			if k != tt.kind || p.Problem != tt.problem {
				t.Errorf("kind %d problem %s encap %s, want kind %d problem %s", k, p.Problem, p.Encap.AppendJSON(nil), tt.kind, tt.problem)
			}
			if k == KindOther && (p.Src.IsValid() || p.SrcPort != 0) {
				t.Errorf("KindOther with addresses: %+v", p)
			}
		})
	}

	// The rest of a fragmented VXLAN datagram is attributed to it, not an orphan.
	d := NewDecoder(nil)
	var p Packet
	for i, f := range [][]byte{fragVXLAN, restVXLAN} {
		want := []Problem{ProblemTunnelFragment, ProblemNone}[i]
		if k := d.Decode(frameOf(f, LinkTypeEthernet), &p); k != KindOther || p.Problem != want {
			t.Errorf("vxlan fragment %d: kind %d problem %s, want %s", i, k, p.Problem, want)
		}
	}
}

// TestPcapLinkTypeFCSBits reads a classic pcap file whose link type field says that frames
// end in a 4-byte FCS (draft-ietf-opsawg-pcap section 4: the F bit, 0x04000000, and the FCS
// length in 16-bit words in the top 4 bits): the link type is Ethernet, as libpcap reads it.
func TestPcapLinkTypeFCSBits(t *testing.T) {
	if got := linkTypeOfHeader(0x24000001); got != LinkTypeEthernet {
		t.Errorf("linkTypeOfHeader(0x24000001) = %v", got)
	}
	b := pcapBytes(t, false)
	binary.LittleEndian.PutUint32(b[20:24], 0x24000000|uint32(LinkTypeEthernet))
	path := t.TempDir() + "/fcs.pcap"
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	src, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var f Frame
	if err := src.Next(&f); err != nil {
		t.Fatal(err)
	}
	var p Packet
	if f.Link != LinkTypeEthernet || NewDecoder(nil).Decode(&f, &p) != KindMessage {
		t.Errorf("link %v, kind %d problem %s", f.Link, p.Kind, p.Problem)
	}
}

// TestTunnelPortsReserved: the ports decodeUDP reads as tunnels are the ones proto.NewTable
// refuses to give a protocol.
func TestTunnelPortsReserved(t *testing.T) {
	ours := []uint16{portGTPU, portVXLAN, portGeneve}
	if !slices.Equal(proto.TunnelPorts, ours) {
		t.Errorf("proto.TunnelPorts %v, decode reads %v", proto.TunnelPorts, ours)
	}
}
