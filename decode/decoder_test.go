package decode

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/ntpwatch/ntpwatch/decode/proto"
	"github.com/ntpwatch/ntpwatch/internal/testutil"
)

// esnetMonlistRequest is frame 1 of esnet/ntp-monlist.pcap (dopheide-esnet/zeek-ntp-monlist,
// tests/pcaps/ntp-monlist.pcap): a 48-byte MON_GETLIST_1 request, 17 00 03 2a + zeros.
const esnetMonlistRequest = `
00 00 00 00 00 01 00 00 00 00 00 02 08 00 45 00 00 4c 71 c7 40 00 40 11 b2 c3 0a 0a 01 01 0a 0a
01 02 b1 b3 00 7b 00 38 49 d4 17 00 03 2a 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00`

// tcpdumpReadvar is frame 1 of tcpdump/ntp-control.pcap (the-tcpdump-group/tcpdump,
// tests/ntp-control.pcap): a 12-byte ntpq READVAR request over IPv6 loopback.
const tcpdumpReadvar = `
00 00 00 00 00 00 00 00 00 00 00 00 86 dd 60 06 2d 8a 00 14 11 40 00 00 00 00 00 00 00 00 00 00
00 00 00 00 00 01 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01 96 83 00 7b 00 14 00 27 16 02
00 44 00 00 00 00 00 00 00 00`

func TestDecodeRealFrames(t *testing.T) {
	d := NewDecoder(nil)
	var p Packet

	data := testutil.Hex(esnetMonlistRequest)
	if k := d.Decode(frameOf(data, LinkTypeEthernet), &p); k != KindMessage {
		t.Fatalf("monlist request: kind %d problem %s", k, p.Problem)
	}
	want := proto.Private{Implementation: 3, RequestCode: proto.ReqMonGetList1, Monlist: p.NTP.Priv.Monlist}
	if p.NTP.Version != 2 || p.NTP.Mode != 7 || !equalPrivate(p.NTP.Priv, want) {
		t.Errorf("monlist request: got %+v", p.NTP)
	}
	if p.Src != netip.MustParseAddr("10.10.1.1") || p.SrcPort != 45491 || p.DstPort != 123 ||
		p.PayloadLen != 48 || p.IPLen != 76 || p.WireLen != 90 {
		t.Errorf("monlist request: addressing %v:%d > %v:%d ip %d payload %d wire %d",
			p.Src, p.SrcPort, p.Dst, p.DstPort, p.IPLen, p.PayloadLen, p.WireLen)
	}

	data = testutil.Hex(tcpdumpReadvar)
	if k := d.Decode(frameOf(data, LinkTypeEthernet), &p); k != KindMessage {
		t.Fatalf("readvar: kind %d problem %s", k, p.Problem)
	}
	wantCtl := proto.Control{OpCode: 2, Sequence: 0x44}
	if p.NTP.Version != 2 || p.NTP.Mode != 6 || p.NTP.Ctl != wantCtl || p.Src != netip.IPv6Loopback() ||
		p.SrcPort != 38531 || p.PayloadLen != 12 || p.IPLen != 60 {
		t.Errorf("readvar: got %+v from %v:%d payload %d ip %d", p.NTP, p.Src, p.SrcPort, p.PayloadLen, p.IPLen)
	}
}

func equalPrivate(a, b proto.Private) bool {
	return slices.Equal(a.Monlist, b.Monlist) && a.Response == b.Response && a.More == b.More &&
		a.Auth == b.Auth && a.Sequence == b.Sequence && a.Implementation == b.Implementation &&
		a.RequestCode == b.RequestCode && a.Err == b.Err && a.Items == b.Items && a.MBZ == b.MBZ &&
		a.ItemSize == b.ItemSize
}

func TestDecodeMonlistReply(t *testing.T) {
	clients := []netip.Addr{
		netip.MustParseAddr("203.0.113.9"), netip.MustParseAddr("2001:db8::9"),
		netip.MustParseAddr("203.0.113.10"), netip.MustParseAddr("203.0.113.11"),
		netip.MustParseAddr("203.0.113.12"), netip.MustParseAddr("203.0.113.13"),
	}
	payload := testutil.MonlistReply(true, clients...)
	frame := testutil.Ethernet(testutil.UDP(testutil.V4Server, testutil.V4Client, 123, 40000, payload), etherTypeVLAN, 42)
	d := NewDecoder(nil)
	var p Packet
	if k := d.Decode(frameOf(frame, LinkTypeEthernet), &p); k != KindMessage {
		t.Fatalf("kind %d problem %s", k, p.Problem)
	}
	if len(payload) != 440 || p.PayloadLen != 440 || p.IPLen != 468 || p.WireLen != 486 || p.VLAN != 42 {
		t.Errorf("lengths: payload %d ip %d wire %d vlan %d", p.PayloadLen, p.IPLen, p.WireLen, p.VLAN)
	}
	pr := p.NTP.Priv
	if !pr.Response || !pr.More || pr.Items != 6 || pr.ItemSize != 72 || pr.Implementation != 3 || p.NTP.LI != 3 {
		t.Errorf("header: %+v", p.NTP)
	}
	if !slices.Equal(pr.Monlist, clients) {
		t.Errorf("monlist: got %v, want %v", pr.Monlist, clients)
	}
	// The same frame cut by a 64-byte snaplen keeps every count from the headers.
	cut := &Frame{Data: frame[:64], Time: testutil.Time, WireLen: len(frame), Link: LinkTypeEthernet}
	if k := d.Decode(cut, &p); k != KindMessage {
		t.Fatalf("snaplen 64: kind %d problem %s", k, p.Problem)
	}
	if p.PayloadLen != 440 || p.IPLen != 468 || p.WireLen != 486 || p.NTP.Priv.Items != 6 ||
		len(p.NTP.Priv.Monlist) != 0 || !p.NTP.Partial {
		t.Errorf("snaplen 64: payload %d ip %d wire %d items %d monlist %v partial %v",
			p.PayloadLen, p.IPLen, p.WireLen, p.NTP.Priv.Items, p.NTP.Priv.Monlist, p.NTP.Partial)
	}
}

// frameOf is a frame of data with link type link at testutil.Time, captured whole.
func frameOf(data []byte, link LinkType) *Frame {
	return &Frame{Data: data, Time: testutil.Time, WireLen: len(data), Link: link}
}
