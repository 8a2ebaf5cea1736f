package proto_test

import (
	"bytes"
	"testing"

	"github.com/ntpwatch/ntpwatch/decode/proto"
	"github.com/ntpwatch/ntpwatch/internal/testutil"
)

// FuzzNTP checks that any payload classifies without panic, that the mode 6 and mode 7
// headers re-encode to the bytes they came from (every bit field round-trips), and that the
// verdict is consistent.
func FuzzNTP(f *testing.F) {
	f.Add(testutil.MonlistRequest(48))
	f.Add(testutil.MonlistReply(true, testutil.V4Client, testutil.V6Client))
	f.Add(proto.AppendControl(nil, 0, 2, &proto.Control{Response: true, More: true, OpCode: 2, Sequence: 7, Count: 0}))
	f.Add(append([]byte{0x23}, make([]byte, 47)...))
	f.Fuzz(func(t *testing.T, b []byte) {
		var n proto.NTP
		for _, ports := range [][2]uint16{{40000, 123}, {123, 40000}} {
			m := proto.Message{Payload: b, Len: len(b), SrcPort: ports[0], DstPort: ports[1], Vector: proto.NoVector, NTP: &n}
			n.Reset()
			proto.NTPProtocol.Classify(&m)
			if m.Err != proto.WellFormed {
				return
			}
			if (m.Dir == proto.DirNone) != (m.Vector == proto.NoVector) || m.Data && m.Dir != proto.DirResponse {
				t.Errorf("verdict dir %d vector %d data %v", m.Dir, m.Vector, m.Data)
			}
		}
		switch n.Mode {
		case 6:
			if got := proto.AppendControl(nil, n.LI, n.Version, &n.Ctl); !bytes.Equal(got, b[:12]) {
				t.Errorf("mode 6 header %x re-encodes to %x", b[:12], got)
			}
		case 7:
			if got := proto.AppendPrivate(nil, n.Version, &n.Priv); !bytes.Equal(got, b[:8]) {
				t.Errorf("mode 7 header %x re-encodes to %x", b[:8], got)
			}
			if n.Priv.IsMonlistReply() && len(n.Priv.Monlist) > int(n.Priv.Items) {
				t.Errorf("%d monlist addresses for %d items", len(n.Priv.Monlist), n.Priv.Items)
			}
		default:
			if int(n.Std.ExtensionLen)+int(n.Std.MACLen) != len(b)-48 {
				t.Errorf("extension %d + MAC %d != %d trailer bytes", n.Std.ExtensionLen, n.Std.MACLen, len(b)-48)
			}
		}
	})
}

// FuzzClassify gives any payload to every classifier of the default table, from a client to
// the protocol's port, from the port to a client and between the ports the fuzzer picks,
// and checks that none panics and every verdict is consistent: a direction exactly when a
// vector, a vector of the protocol, data and refusals on replies only, and no error from a
// classifier other than NTP's.
func FuzzClassify(f *testing.F) {
	for _, seed := range [][]byte{
		testutil.MonlistRequest(8),
		[]byte("M-SEARCH * HTTP/1.1\r\nST: ssdp:all\r\n\r\n"),
		[]byte("HTTP/1.1 200 OK\r\n\r\n"),
		[]byte("\x00\x01\x00\x00\x00\x01\x00\x00stats\r\n"),
		[]byte("\x30\x84\x00\x00\x00\x2d\x02\x01\x07\x63\x84\x00\x00\x00\x24\x04\x00\x0a\x01\x00\x0a\x01\x00\x02\x01\x00\x02\x01\x64\x01\x01\x00\x87\x0bobjectClass0\x84\x00\x00\x00\x00"),
		[]byte("\x30\x26\x02\x01\x01\x04\x06public\xa5\x19\x02\x04\x00\x00\x30\x39\x02\x01\x00\x02\x01\x0a\x30\x0b\x30\x09\x06\x05\x2b\x06\x01\x02\x01\x05\x00"),
		[]byte("\x80\xF0\x00\x10\x00\x01\x00\x00\x00\x00\x00\x00\x20CKAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\x00\x00\x21\x00\x01"),
		[]byte("\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x01\x03isc\x03org\x00\x00\xff\x00\x01\x00\x00\x29\x10\x00\x00\x00\x00\x00\x00\x00"),
		[]byte("\x01\x02\x03\x04\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01"),
		[]byte("@\x01\x01\xce\xbb.well-known\x04core"),
		[]byte("\x62\x45\x01\xce\x72\x16\xc1\x28\xff</a>"),
		[]byte("\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x10"),
		[]byte("\x00\x03\x00\x01"),
		[]byte("\x20\x00\x00\x00DHIP\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x00\x00\x00\x00\x00\x00\x02\x00\x00\x00\x00\x00\x00\x00{}"),
		{0x05, 0x10, 0x00},
		{0x01, 0x00, 0x00, 0x00},
	} {
		f.Add(seed, uint16(40000), uint16(53))
	}
	f.Fuzz(func(t *testing.T, b []byte, sport, dport uint16) {
		var n proto.NTP
		for _, p := range proto.Default.Protocols() {
			port := p.Ports[0]
			for _, ports := range [][2]uint16{{40000, port}, {port, 40000}, {port, port}, {sport, dport}} {
				for _, cut := range []int{len(b), min(len(b), 8)} {
					m := proto.Message{Payload: b[:cut], Len: len(b), SrcPort: ports[0], DstPort: ports[1], Vector: proto.NoVector, NTP: &n}
					n.Reset()
					p.Classify(&m)
					switch {
					case m.Err != proto.WellFormed && p != proto.Default.ByID(1):
						t.Errorf("%s: error %d", p.Name, m.Err)
					case m.Err != proto.WellFormed:
					case (m.Dir == proto.DirNone) != (m.Vector == proto.NoVector),
						m.Vector >= int8(len(p.Vectors)),
						(m.Data || m.Refusal) && m.Dir != proto.DirResponse:
						t.Errorf("%s %d>%d: verdict dir %d vector %d data %v refusal %v", p.Name, ports[0], ports[1], m.Dir, m.Vector, m.Data, m.Refusal)
					}
				}
			}
		}
	})
}
