package decode

import (
	"encoding/binary"
	"net/netip"
	"time"

	"github.com/google/gopacket"
)

// Frame builders for tests. Addresses are documentation ranges (RFC 5737, RFC 3849).
var (
	testV4Client = netip.MustParseAddr("192.0.2.7")
	testV4Server = netip.MustParseAddr("198.51.100.10")
	testV6Client = netip.MustParseAddr("2001:db8::7")
	testV6Server = netip.MustParseAddr("2001:db8::123")
	testTime     = time.Date(2014, 1, 10, 12, 0, 0, 0, time.UTC)
)

// udpPacket returns an IPv4 or IPv6 packet (by the address family) carrying a UDP datagram.
func udpPacket(src, dst netip.Addr, sport, dport uint16, payload []byte) []byte {
	udp := binary.BigEndian.AppendUint16(nil, sport)
	udp = binary.BigEndian.AppendUint16(udp, dport)
	udp = binary.BigEndian.AppendUint16(udp, uint16(8+len(payload)))
	udp = append(udp, 0, 0)
	udp = append(udp, payload...)
	if src.Is4() {
		return ipv4Packet(src, dst, 17, 0x1234, 0, udp)
	}
	return ipv6Packet(src, dst, 17, udp)
}

// ipv4Packet wraps body in a 20-byte IPv4 header; frag is the flags and offset field.
func ipv4Packet(src, dst netip.Addr, proto uint8, id, frag uint16, body []byte) []byte {
	h := []byte{0x45, 0, 0, 0, 0, 0, 0, 0, 64, proto, 0, 0}
	binary.BigEndian.PutUint16(h[2:], uint16(20+len(body)))
	binary.BigEndian.PutUint16(h[4:], id)
	binary.BigEndian.PutUint16(h[6:], frag)
	h = append(h, src.AsSlice()...)
	h = append(h, dst.AsSlice()...)
	return append(h, body...)
}

// ipv6Packet wraps body in a 40-byte IPv6 header.
func ipv6Packet(src, dst netip.Addr, nh uint8, body []byte) []byte {
	h := []byte{0x60, 0, 0, 0, 0, 0, nh, 64}
	binary.BigEndian.PutUint16(h[4:], uint16(len(body)))
	h = append(h, src.AsSlice()...)
	h = append(h, dst.AsSlice()...)
	return append(h, body...)
}

// ethernet wraps an IP packet in an Ethernet header with the given VLAN tags (TPID, VID pairs).
func ethernet(ip []byte, tags ...uint16) []byte {
	f := []byte{0, 0, 0x5e, 0, 0x53, 1, 0, 0, 0x5e, 0, 0x53, 2}
	for i := 0; i+1 < len(tags); i += 2 {
		f = binary.BigEndian.AppendUint16(f, tags[i])
		f = binary.BigEndian.AppendUint16(f, tags[i+1])
	}
	et := uint16(etherTypeIPv4)
	if ip[0]>>4 == 6 {
		et = etherTypeIPv6
	}
	f = binary.BigEndian.AppendUint16(f, et)
	return append(f, ip...)
}

// monlistReply returns a MON_GETLIST_1 implementation 3 reply payload listing clients in
// 72-byte items (ntpd struct info_monitor_1).
func monlistReply(more bool, clients ...netip.Addr) []byte {
	h := Private{Response: true, More: more, Implementation: 3, RequestCode: ReqMonGetList1,
		Items: uint16(len(clients)), ItemSize: 72}
	b := AppendPrivate(nil, 2, &h)
	for _, c := range clients {
		it := make([]byte, 72)
		binary.BigEndian.PutUint32(it[12:], 5) // count
		if c.Is4() {
			copy(it[16:20], c.AsSlice())
		} else {
			binary.BigEndian.PutUint32(it[32:], 1) // v6_flag
			copy(it[40:56], c.AsSlice())
		}
		binary.BigEndian.PutUint16(it[28:], 40000)
		it[30], it[31] = 7, 2 // mode, version of the client's request
		b = append(b, it...)
	}
	return b
}

func captureInfo(data []byte) gopacket.CaptureInfo {
	return gopacket.CaptureInfo{Timestamp: testTime, CaptureLength: len(data), Length: len(data)}
}

func mustHex(s string) []byte {
	var b []byte
	var hi int = -1
	for _, c := range s {
		var v int
		switch {
		case c >= '0' && c <= '9':
			v = int(c - '0')
		case c >= 'a' && c <= 'f':
			v = int(c-'a') + 10
		default:
			continue
		}
		if hi < 0 {
			hi = v
		} else {
			b = append(b, byte(hi<<4|v))
			hi = -1
		}
	}
	return b
}
