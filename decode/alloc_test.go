package decode

import (
	"net/netip"
	"testing"

	"github.com/ntpwatch/ntpwatch/internal/testutil"
)

// benchFrames are the per-packet paths that must not allocate.
// dnsAQuery is an everyday DNS query (RFC 1035: A of www.example.com, RD, with a 1232-byte
// EDNS0 buffer), which takes no part in amplification.
var dnsAQuery = []byte("\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x01\x03www\x07example\x03com\x00\x00\x01\x00\x01" +
	"\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x00")

func benchFrames() map[string][]byte {
	clients := make([]netip.Addr, 6)
	for i := range clients {
		clients[i] = netip.AddrFrom4([4]byte{203, 0, 113, byte(i + 1)})
	}
	reply := testutil.UDP(testutil.V4Server, testutil.V4Client, 123, 40000, testutil.MonlistReply(true, clients...))
	_, second := fragments4(testutil.V4Server, testutil.V4Client, 9, reply[20:], 160)
	return map[string][]byte{
		"vlan_ipv4_monlist_reply":  testutil.Ethernet(reply, etherTypeVLAN, 10),
		"ipv6_mode3":               testutil.Ethernet(testutil.UDP(testutil.V6Client, testutil.V6Server, 40000, 123, ntpClientRequest())),
		"tcp":                      testutil.Ethernet(testutil.IPv4(testutil.V4Client, testutil.V4Server, 6, 1, 0, make([]byte, 40))),
		"udp_other":                testutil.Ethernet(testutil.UDP(testutil.V4Client, testutil.V4Server, 40000, 443, make([]byte, 60))),
		"dns_query":                testutil.Ethernet(testutil.UDP(testutil.V4Client, testutil.V4Server, 40000, 53, dnsAQuery)),
		"fragment":                 testutil.Ethernet(second),
		"vxlan_ipv4_monlist_reply": testutil.Ethernet(udpTo(portVXLAN, vxlan(42, testutil.Ethernet(reply)))),
	}
}

func TestDecodeAllocatesNothing(t *testing.T) {
	for name, frame := range benchFrames() {
		d := NewDecoder(nil)
		var p Packet
		f := frameOf(frame, LinkTypeEthernet)
		d.Decode(f, &p) // grows Monlist once
		if n := testing.AllocsPerRun(100, func() { d.Decode(f, &p) }); n != 0 {
			t.Errorf("%s: %v allocations per Decode", name, n)
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	for name, frame := range benchFrames() {
		b.Run(name, func(b *testing.B) {
			d := NewDecoder(nil)
			var p Packet
			f := frameOf(frame, LinkTypeEthernet)
			b.ReportAllocs()
			b.SetBytes(int64(len(frame)))
			for b.Loop() {
				d.Decode(f, &p)
			}
		})
	}
}

func BenchmarkAppendNTPLog(b *testing.B) {
	frame := benchFrames()["vlan_ipv4_monlist_reply"]
	var p Packet
	NewDecoder(nil).Decode(frameOf(frame, LinkTypeEthernet), &p)
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendNTPLog(buf[:0], &p)
	}
}
