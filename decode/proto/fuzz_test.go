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
