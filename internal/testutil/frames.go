// Package testutil holds the helpers that tests of several packages share: frame builders,
// real bytes from hex dumps, the paths of the shared reference data. It imports no package of
// ntpwatch but decode/proto and internal/scenario, neither of which imports decode, so that
// every package's tests may use it, decode's own included.
//
// Its frame builders are the small ones of unit tests: bare IP packets without checksums,
// to wrap in any link layer, and single NTP messages. internal/scenario builds whole
// captures of realistic traffic, with checksums and padding, and ntpd's monlist replies.
package testutil

import (
	"encoding/binary"
	"net/netip"
	"time"

	"github.com/ntpwatch/ntpwatch/decode/proto"
	"github.com/ntpwatch/ntpwatch/internal/scenario"
)

// Addresses of the documentation ranges (RFC 5737, RFC 3849) and a time for test frames.
var (
	V4Client = netip.MustParseAddr("192.0.2.7")
	V4Server = netip.MustParseAddr("198.51.100.10")
	V6Client = netip.MustParseAddr("2001:db8::7")
	V6Server = netip.MustParseAddr("2001:db8::123")
	Time     = time.Date(2014, 1, 10, 12, 0, 0, 0, time.UTC)
)

// Ethernet types and tag protocol identifiers (IEEE 802).
const (
	EtherTypeIPv4 = 0x0800
	EtherTypeIPv6 = 0x86dd
	EtherTypeVLAN = 0x8100
	EtherTypeQinQ = 0x88a8
)

// UDP returns an IPv4 or IPv6 packet (by the address family) carrying a UDP datagram, with
// a zero checksum, which the decoder does not check.
func UDP(src, dst netip.Addr, sport, dport uint16, payload []byte) []byte {
	udp := binary.BigEndian.AppendUint16(nil, sport)
	udp = binary.BigEndian.AppendUint16(udp, dport)
	udp = binary.BigEndian.AppendUint16(udp, uint16(8+len(payload)))
	udp = append(udp, 0, 0)
	udp = append(udp, payload...)
	if src.Is4() {
		return IPv4(src, dst, 17, 0x1234, 0, udp)
	}
	return IPv6(src, dst, 17, udp)
}

// IPv4 wraps body in a 20-byte IPv4 header; frag is the flags and offset field.
func IPv4(src, dst netip.Addr, proto uint8, id, frag uint16, body []byte) []byte {
	h := []byte{0x45, 0, 0, 0, 0, 0, 0, 0, 64, proto, 0, 0}
	binary.BigEndian.PutUint16(h[2:], uint16(20+len(body)))
	binary.BigEndian.PutUint16(h[4:], id)
	binary.BigEndian.PutUint16(h[6:], frag)
	h = append(h, src.AsSlice()...)
	h = append(h, dst.AsSlice()...)
	return append(h, body...)
}

// IPv6 wraps body in a 40-byte IPv6 header.
func IPv6(src, dst netip.Addr, nh uint8, body []byte) []byte {
	h := []byte{0x60, 0, 0, 0, 0, 0, nh, 64}
	binary.BigEndian.PutUint16(h[4:], uint16(len(body)))
	h = append(h, src.AsSlice()...)
	h = append(h, dst.AsSlice()...)
	return append(h, body...)
}

// Ethernet wraps an IP packet in an Ethernet header with the given VLAN tags (TPID, VID
// pairs).
func Ethernet(ip []byte, tags ...uint16) []byte {
	f := []byte{0, 0, 0x5e, 0, 0x53, 1, 0, 0, 0x5e, 0, 0x53, 2}
	for i := 0; i+1 < len(tags); i += 2 {
		f = binary.BigEndian.AppendUint16(f, tags[i])
		f = binary.BigEndian.AppendUint16(f, tags[i+1])
	}
	et := uint16(EtherTypeIPv4)
	if ip[0]>>4 == 6 {
		et = EtherTypeIPv6
	}
	f = binary.BigEndian.AppendUint16(f, et)
	return append(f, ip...)
}

// MonlistRequest returns a MON_GETLIST_1 implementation 3 request of size bytes (8, 48 or
// 192 on the wire), as attack tools, nmap and ntpdc send it: the generator's own.
func MonlistRequest(size int) []byte { return scenario.MonlistRequest(size) }

// MonlistReply returns a MON_GETLIST_1 implementation 3 reply payload listing clients in
// 72-byte items (ntpd struct info_monitor_1).
func MonlistReply(more bool, clients ...netip.Addr) []byte {
	h := proto.Private{Response: true, More: more, Implementation: 3, RequestCode: proto.ReqMonGetList1,
		Items: uint16(len(clients)), ItemSize: 72}
	b := proto.AppendPrivate(nil, 2, &h)
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

// Hex decodes a hex dump ("00 01 a2 ..."), ignoring everything but hex digits: real bytes
// pasted from tshark or tcpdump -xx.
func Hex(s string) []byte {
	var b []byte
	hi := -1
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
