package decode

import (
	"encoding/binary"
	"net/netip"
	"slices"
	"testing"

	"github.com/ntpwatch/ntpwatch/decode/proto"
	"github.com/ntpwatch/ntpwatch/internal/testutil"
)

// ntpClientRequest is a 48-byte NTPv4 mode 3 request as ntpd sends it (first byte 0x23).
func ntpClientRequest() []byte {
	b := make([]byte, 48)
	b[0], b[2], b[3] = 0x23, 6, 0xe9
	binary.BigEndian.PutUint64(b[40:], 0xdc5a1e2f00000000)
	return b
}

func TestLinkTypes(t *testing.T) {
	v4 := testutil.UDP(testutil.V4Client, testutil.V4Server, 40000, 123, ntpClientRequest())
	v6 := testutil.UDP(testutil.V6Client, testutil.V6Server, 40000, 123, ntpClientRequest())
	sll := func(ip []byte, proto uint16) []byte {
		h := make([]byte, 16) // packet type, ARPHRD, address length, address, protocol
		binary.BigEndian.PutUint16(h[2:], 1)
		binary.BigEndian.PutUint16(h[14:], proto)
		return append(h, ip...)
	}
	sll2 := func(ip []byte, proto uint16) []byte {
		h := make([]byte, 20) // protocol, reserved, ifindex, ARPHRD, type, address length, address
		binary.BigEndian.PutUint16(h[0:], proto)
		return append(h, ip...)
	}
	null := func(ip []byte, fam uint32, order binary.AppendByteOrder) []byte {
		return append(order.AppendUint32(nil, fam), ip...)
	}
	tests := []struct {
		name  string
		link  LinkType
		frame []byte
		vlan  uint16
		v6    bool
	}{
		{"ethernet ipv4", LinkTypeEthernet, testutil.Ethernet(v4), 0, false},
		{"ethernet ipv6", LinkTypeEthernet, testutil.Ethernet(v6), 0, true},
		{"802.1Q", LinkTypeEthernet, testutil.Ethernet(v4, etherTypeVLAN, 100), 100, false},
		{"802.1ad QinQ", LinkTypeEthernet, testutil.Ethernet(v4, etherTypeQinQ, 200, etherTypeVLAN, 100), 200, false},
		{"0x9100 QinQ ipv6", LinkTypeEthernet, testutil.Ethernet(v6, etherTypeQinQ1, 300, etherTypeVLAN, 100), 300, true},
		{"SLL", LinkTypeLinuxSLL, sll(v4, etherTypeIPv4), 0, false},
		{"SLL ipv6", LinkTypeLinuxSLL, sll(v6, etherTypeIPv6), 0, true},
		{"SLL2", LinkTypeLinuxSLL2, sll2(v4, etherTypeIPv4), 0, false},
		{"raw 101", LinkTypeRaw, v4, 0, false},
		{"raw 101 ipv6", LinkTypeRaw, v6, 0, true},
		{"raw 12", LinkTypeRawOld, v4, 0, false},
		{"raw 14", LinkTypeRawOpenBSD, v6, 0, true},
		{"ipv4 228", LinkTypeIPv4, v4, 0, false},
		{"ipv6 229", LinkTypeIPv6, v6, 0, true},
		{"NULL little-endian", LinkTypeNull, null(v4, 2, binary.LittleEndian), 0, false},
		{"NULL big-endian", LinkTypeNull, null(v4, 2, binary.BigEndian), 0, false},
		{"NULL Darwin ipv6", LinkTypeNull, null(v6, 30, binary.LittleEndian), 0, true},
		{"NULL FreeBSD ipv6", LinkTypeNull, null(v6, 28, binary.BigEndian), 0, true},
		{"LOOP", LinkTypeLoop, null(v4, 2, binary.BigEndian), 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := NewDecoder(nil)
			var p Packet
			if k := d.Decode(frameOf(tt.frame, tt.link), &p); k != KindMessage {
				t.Fatalf("kind %d problem %s", k, p.Problem)
			}
			src, ipLen := testutil.V4Client, uint32(76)
			if tt.v6 {
				src, ipLen = testutil.V6Client, 96
			}
			if p.Src != src || p.SrcPort != 40000 || p.DstPort != 123 || p.VLAN != tt.vlan ||
				p.PayloadLen != 48 || p.IPLen != ipLen || p.WireLen != uint32(len(tt.frame)) ||
				p.NTP.Mode != 3 || p.NTP.Version != 4 || p.NTP.Std.Precision != -23 {
				t.Errorf("got %+v", p)
			}
			if lt := d.Stats().LinkTypes[0]; lt.Type != tt.link || lt.Frames != 1 {
				t.Errorf("link type %d not counted: %+v", tt.link, d.Stats().LinkTypes)
			}
			// A 64-byte snaplen keeps every length and the NTP mode, when the first NTP byte
			// fits (it does not after two VLAN tags and IPv6).
			udpEnd := len(tt.frame) - 48
			if udpEnd < 64 {
				cut := &Frame{Data: tt.frame[:64], WireLen: len(tt.frame), Link: tt.link}
				var q Packet
				d.Decode(cut, &q)
				if q.PayloadLen != p.PayloadLen || q.IPLen != p.IPLen || q.WireLen != p.WireLen ||
					q.Src != p.Src || q.DstPort != p.DstPort || q.NTP.Mode != p.NTP.Mode {
					t.Errorf("snaplen 64: got %+v, full %+v", q, p)
				}
			}
		})
	}
}

func TestProblems(t *testing.T) {
	ntp := ntpClientRequest()
	v4 := testutil.UDP(testutil.V4Client, testutil.V4Server, 40000, 123, ntp)
	badUDP := append([]byte(nil), v4...)
	binary.BigEndian.PutUint16(badUDP[24:], 4) // UDP length below 8
	longUDP := append([]byte(nil), v4...)
	binary.BigEndian.PutUint16(longUDP[24:], 200) // beyond the IP datagram
	badIHL := append([]byte(nil), v4...)
	badIHL[0] = 0x44
	mode0 := append([]byte{0x20}, ntp[1:]...)
	version5 := append([]byte{0x2b}, ntp[1:]...)
	mode6 := proto.AppendControl(nil, 0, 2, &proto.Control{OpCode: 2, Count: 100})
	mode7 := proto.AppendPrivate(nil, 2, &proto.Private{Response: true, Implementation: 3, RequestCode: 42, Items: 6, ItemSize: 72})
	arp := append([]byte{0, 0, 0x5e, 0, 0x53, 1, 0, 0, 0x5e, 0, 0x53, 2, 0x08, 0x06}, make([]byte, 28)...)
	tcp := testutil.Ethernet(testutil.IPv4(testutil.V4Client, testutil.V4Server, 6, 1, 0, make([]byte, 20)))
	tests := []struct {
		name    string
		link    LinkType
		frame   []byte
		kind    Kind
		problem Problem
	}{
		{"tcp", LinkTypeEthernet, tcp, KindOther, ProblemNone},
		{"udp on no table port", LinkTypeEthernet, testutil.Ethernet(testutil.UDP(testutil.V4Client, testutil.V4Server, 40000, 443, ntp)), KindOther, ProblemNone},
		{"arp", LinkTypeEthernet, arp, KindOther, ProblemNone},
		{"short ethernet", LinkTypeEthernet, make([]byte, 10), KindOther, ProblemTruncated},
		{"unknown link", LinkType(147), testutil.Ethernet(v4), KindOther, ProblemLinkType},
		{"bad ihl", LinkTypeRaw, badIHL, KindOther, ProblemIPHeader},
		{"udp length 4", LinkTypeRaw, badUDP, KindOther, ProblemUDPHeader},
		{"udp length beyond ip", LinkTypeRaw, longUDP, KindOther, ProblemUDPHeader},
		{"mode 0", LinkTypeRaw, testutil.UDP(testutil.V4Client, testutil.V4Server, 40000, 123, mode0), KindMalformed, ProblemNTPMode},
		{"version 5", LinkTypeRaw, testutil.UDP(testutil.V4Client, testutil.V4Server, 40000, 123, version5), KindMalformed, ProblemNTPVersion},
		{"mode 3 of 40 bytes", LinkTypeRaw, testutil.UDP(testutil.V4Client, testutil.V4Server, 40000, 123, ntp[:40]), KindMalformed, ProblemNTPShort},
		{"empty payload", LinkTypeRaw, testutil.UDP(testutil.V4Client, testutil.V4Server, 40000, 123, nil), KindMalformed, ProblemNTPShort},
		{"mode 6 count beyond payload", LinkTypeRaw, testutil.UDP(testutil.V4Client, testutil.V4Server, 123, 40000, mode6), KindMalformed, ProblemNTPLength},
		{"mode 7 items beyond payload", LinkTypeRaw, testutil.UDP(testutil.V4Client, testutil.V4Server, 123, 40000, mode7), KindMalformed, ProblemNTPLength},
		{"mode 7 of 6 bytes", LinkTypeRaw, testutil.UDP(testutil.V4Client, testutil.V4Server, 40000, 123, mode7[:6]), KindMalformed, ProblemNTPShort},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := NewDecoder(nil)
			var p Packet
			k := d.Decode(frameOf(tt.frame, tt.link), &p)
			if k != tt.kind || p.Problem != tt.problem {
				t.Errorf("got kind %d problem %s, want kind %d problem %s", k, p.Problem, tt.kind, tt.problem)
			}
			if k == KindOther && (p.Src.IsValid() || p.SrcPort != 0) {
				t.Errorf("KindOther with addresses set: %+v", p)
			}
			if s := d.Stats(); s.Problems[tt.problem] != 1 || s.Frames != 1 {
				t.Errorf("stats: %+v", s.Problems)
			}
		})
	}
}

// fragments splits an IPv4 UDP datagram into a first fragment of firstLen payload bytes
// (a multiple of 8) and a second with the rest.
func fragments4(src, dst netip.Addr, id uint16, udp []byte, firstLen int) (first, second []byte) {
	first = testutil.IPv4(src, dst, 17, id, 0x2000, udp[:firstLen])
	second = testutil.IPv4(src, dst, 17, id, uint16(firstLen/8), udp[firstLen:])
	return first, second
}

func TestFragments(t *testing.T) {
	clients := make([]netip.Addr, 6)
	for i := range clients {
		clients[i] = netip.AddrFrom4([4]byte{203, 0, 113, byte(i + 1)})
	}
	reply := testutil.UDP(testutil.V4Server, testutil.V4Client, 123, 40000, testutil.MonlistReply(false, clients...))
	udp := reply[20:] // the UDP datagram: 448 bytes
	first, second := fragments4(testutil.V4Server, testutil.V4Client, 77, udp, 160)

	d := NewDecoder(nil)
	var p Packet
	if k := d.Decode(frameOf(second, LinkTypeRaw), &p); k != KindOther || p.Problem != ProblemOrphanFragment {
		t.Errorf("second before first: kind %d problem %s, want orphan", k, p.Problem)
	}
	if k := d.Decode(frameOf(first, LinkTypeRaw), &p); k != KindMessage {
		t.Fatalf("first fragment: kind %d problem %s", k, p.Problem)
	}
	// 160 bytes of UDP hold the 8-byte headers and the first 2 of 6 items; the message is
	// 440 bytes, of which the fragment carries 152.
	if p.MessageLen != 440 || p.PayloadLen != 152 || p.IPLen != 180 || p.NTP.Priv.Items != 6 ||
		len(p.NTP.Priv.Monlist) != 2 || p.NTP.Priv.Monlist[1] != clients[1] || !p.NTP.Partial ||
		p.Dir != proto.DirResponse || !p.Data {
		t.Errorf("first fragment: %+v", p)
	}
	if k := d.Decode(frameOf(second, LinkTypeRaw), &p); k != KindFragment {
		t.Fatalf("second fragment: kind %d problem %s", k, p.Problem)
	}
	// The rest of the payload, with the verdict of the first fragment.
	if p.Src != testutil.V4Server || p.SrcPort != 123 || p.DstPort != 40000 || p.PayloadLen != 440-152 ||
		p.WireLen != uint32(len(second)) || p.IPLen != uint32(len(second)) || p.Dir != proto.DirResponse ||
		p.Vector != 0 || !p.Data {
		t.Errorf("second fragment: %+v", p)
	}
	// The last fragment closed the datagram: a repeat is an orphan.
	if d.Decode(frameOf(second, LinkTypeRaw), &p); p.Problem != ProblemOrphanFragment {
		t.Errorf("repeat after the last fragment: problem %s", p.Problem)
	}
	s := d.Stats()
	if s.Fragments != 1 || s.Problems[ProblemOrphanFragment] != 2 || s.Messages != 1 || s.FragmentsTracked != 0 {
		t.Errorf("stats: %+v", s)
	}

	// IPv6: fragment header (RFC 8200 section 4.5) between the fixed header and UDP.
	reply6 := testutil.UDP(testutil.V6Server, testutil.V6Client, 123, 40000, testutil.MonlistReply(false, clients...))
	udp6 := reply6[40:]
	fh := func(offset int, more bool) []byte {
		h := []byte{17, 0, 0, 0, 0, 0, 0, 9}
		fo := uint16(offset/8) << 3
		if more {
			fo |= 1
		}
		binary.BigEndian.PutUint16(h[2:], fo)
		return h
	}
	first6 := testutil.IPv6(testutil.V6Server, testutil.V6Client, 44, append(fh(0, true), udp6[:240]...))
	second6 := testutil.IPv6(testutil.V6Server, testutil.V6Client, 44, append(fh(240, false), udp6[240:]...))
	if k := d.Decode(frameOf(first6, LinkTypeRaw), &p); k != KindMessage || len(p.NTP.Priv.Monlist) != 3 {
		t.Fatalf("first IPv6 fragment: kind %d problem %s monlist %v", k, p.Problem, p.NTP.Priv.Monlist)
	}
	if k := d.Decode(frameOf(second6, LinkTypeRaw), &p); k != KindFragment || p.Src != testutil.V6Server || p.DstPort != 40000 {
		t.Errorf("second IPv6 fragment: kind %d %+v", k, p)
	}

	// A full table evicts its oldest datagram, and counts it.
	d = NewDecoderFragmentCap(nil, 2)
	for id := uint16(1); id <= 3; id++ {
		f, _ := fragments4(testutil.V4Server, testutil.V4Client, id, udp, 160)
		d.Decode(frameOf(f, LinkTypeRaw), &p)
	}
	_, s1 := fragments4(testutil.V4Server, testutil.V4Client, 1, udp, 160)
	if d.Decode(frameOf(s1, LinkTypeRaw), &p); p.Problem != ProblemOrphanFragment {
		t.Errorf("evicted datagram: problem %s", p.Problem)
	}
	if s := d.Stats(); s.FragmentEvictions != 1 || s.FragmentsTracked != 2 {
		t.Errorf("eviction stats: evictions %d tracked %d", s.FragmentEvictions, s.FragmentsTracked)
	}
}

// TestFragmentBytes: a datagram's fragments count the bytes they carry, never more than its
// UDP length says, whatever overlaps. zeek/ipv4_fragmented-1.pcap (zeek/zeek,
// testing/btest/Traces/ipv4/fragmented-1.pcap) holds synthetic overlapping fragments of ID
// 0xf2 on port 123: a first fragment of a 10-byte message carrying all of it, a fragment at
// offset 48 with 116 bytes beyond that message, and another first fragment of a 256-byte
// message that carries all of it in 304 bytes of IP payload.
func TestFragmentBytes(t *testing.T) {
	src, err := Open(testutil.Shared(t, "pcaps/real/zeek/ipv4_fragmented-1.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	d := NewDecoder(nil)
	var got []uint32
	var p Packet
	var f Frame
	for src.Next(&f) == nil {
		d.Decode(&f, &p)
		got = append(got, p.PayloadLen)
	}
	if want := []uint32{10, 0, 256}; !slices.Equal(got, want) {
		t.Errorf("bytes carried %v, want %v", got, want)
	}

	// A first fragment claims only what it carries, however long its UDP header says the
	// datagram is: 18 of 65,527 bytes in a 60-byte frame.
	reply := testutil.MonlistReply(true, testutil.V4Client)
	udp := binary.BigEndian.AppendUint16(nil, 123)
	udp = binary.BigEndian.AppendUint16(udp, 40000)
	udp = append(udp, 0xff, 0xff, 0, 0)
	first := testutil.Ethernet(testutil.IPv4(testutil.V4Server, testutil.V4Client, 17, 1, 0x2000, append(udp, reply[:18]...)))
	if k := d.Decode(frameOf(first, LinkTypeEthernet), &p); k != KindMessage || len(first) != 60 ||
		p.PayloadLen != 18 || p.MessageLen != 65527 || p.Dir != proto.DirResponse || !p.Data {
		t.Errorf("first fragment of %d bytes: kind %d problem %s payload %d of %d", len(first), k, p.Problem, p.PayloadLen, p.MessageLen)
	}
}

func TestIPv6ExtensionHeadersAndIPv4Options(t *testing.T) {
	udp := testutil.UDP(testutil.V6Client, testutil.V6Server, 40000, 123, ntpClientRequest())[40:]
	hbh := []byte{60, 0, 1, 4, 0, 0, 0, 0}                          // hop-by-hop, next: destination options
	dst := []byte{17, 1, 1, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0} // 16 bytes, next: UDP
	v6 := testutil.IPv6(testutil.V6Client, testutil.V6Server, 0, append(append(hbh, dst...), udp...))

	v4 := testutil.UDP(testutil.V4Client, testutil.V4Server, 40000, 123, ntpClientRequest())
	opt := append([]byte{0x46}, v4[1:20]...) // IHL 6: one 4-byte option (NOPs, then end)
	binary.BigEndian.PutUint16(opt[2:], uint16(len(v4)+4))
	opt = append(append(opt, 1, 1, 1, 0), v4[20:]...)

	for name, frame := range map[string][]byte{"ipv6 ext": v6, "ipv4 options": opt} {
		d := NewDecoder(nil)
		var p Packet
		if k := d.Decode(frameOf(frame, LinkTypeRaw), &p); k != KindMessage || p.PayloadLen != 48 ||
			p.IPLen != uint32(len(frame)) || p.NTP.Mode != 3 {
			t.Errorf("%s: kind %d problem %s %+v", name, k, p.Problem, p)
		}
	}
}
