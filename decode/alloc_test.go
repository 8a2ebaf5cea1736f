package decode

import (
	"net/netip"
	"testing"

	"github.com/google/gopacket/layers"
)

// benchFrames are the per-packet paths that must not allocate.
func benchFrames() map[string][]byte {
	clients := make([]netip.Addr, 6)
	for i := range clients {
		clients[i] = netip.AddrFrom4([4]byte{203, 0, 113, byte(i + 1)})
	}
	reply := udpPacket(testV4Server, testV4Client, 123, 40000, monlistReply(true, clients...))
	_, second := fragments4(testV4Server, testV4Client, 9, reply[20:], 160)
	return map[string][]byte{
		"vlan_ipv4_monlist_reply": ethernet(reply, etherTypeVLAN, 10),
		"ipv6_mode3":              ethernet(udpPacket(testV6Client, testV6Server, 40000, 123, ntpClientRequest())),
		"tcp":                     ethernet(ipv4Packet(testV4Client, testV4Server, 6, 1, 0, make([]byte, 40))),
		"fragment":                ethernet(second),
	}
}

func TestDecodeAllocatesNothing(t *testing.T) {
	for name, frame := range benchFrames() {
		d := NewDecoder()
		var p Packet
		ci := captureInfo(frame)
		d.Decode(frame, ci, layers.LinkTypeEthernet, &p) // grows Monlist once
		if n := testing.AllocsPerRun(100, func() { d.Decode(frame, ci, layers.LinkTypeEthernet, &p) }); n != 0 {
			t.Errorf("%s: %v allocations per Decode", name, n)
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	for name, frame := range benchFrames() {
		b.Run(name, func(b *testing.B) {
			d := NewDecoder()
			var p Packet
			ci := captureInfo(frame)
			b.ReportAllocs()
			b.SetBytes(int64(len(frame)))
			for b.Loop() {
				d.Decode(frame, ci, layers.LinkTypeEthernet, &p)
			}
		})
	}
}

func BenchmarkAppendNTPLog(b *testing.B) {
	frame := benchFrames()["vlan_ipv4_monlist_reply"]
	var p Packet
	NewDecoder().Decode(frame, captureInfo(frame), layers.LinkTypeEthernet, &p)
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendNTPLog(buf[:0], &p)
	}
}
