package decode

import (
	"bytes"
	"io"
	"os"
	"testing"

	"github.com/google/gopacket/layers"
)

// FuzzNTP checks that any payload decodes without panic, and that the mode 6 and mode 7
// headers re-encode to the bytes they came from: every bit field round-trips.
func FuzzNTP(f *testing.F) {
	f.Add(mustHex(esnetMonlistRequest)[42:])
	f.Add(monlistReply(true, testV4Client, testV6Client))
	f.Add(AppendControl(nil, 0, 2, &Control{Response: true, More: true, OpCode: 2, Sequence: 7, Count: 0}))
	f.Add(ntpClientRequest())
	f.Fuzz(func(t *testing.T, b []byte) {
		var n NTP
		prob := parseNTP(b, len(b), &n)
		if prob != ProblemNone {
			return
		}
		switch n.Mode {
		case 6:
			if got := AppendControl(nil, n.LI, n.Version, &n.Ctl); !bytes.Equal(got, b[:ctlHeaderLen]) {
				t.Errorf("mode 6 header %x re-encodes to %x", b[:ctlHeaderLen], got)
			}
		case 7:
			if got := AppendPrivate(nil, n.Version, &n.Priv); !bytes.Equal(got, b[:privHeaderLen]) {
				t.Errorf("mode 7 header %x re-encodes to %x", b[:privHeaderLen], got)
			}
			if n.Priv.IsMonlistReply() && len(n.Priv.Monlist) > int(n.Priv.Items) {
				t.Errorf("%d monlist addresses for %d items", len(n.Priv.Monlist), n.Priv.Items)
			}
		default:
			if int(n.Std.ExtensionLen)+int(n.Std.MACLen) != len(b)-stdHeaderLen {
				t.Errorf("extension %d + MAC %d != %d trailer bytes", n.Std.ExtensionLen, n.Std.MACLen, len(b)-stdHeaderLen)
			}
		}
	})
}

// FuzzDecode feeds whole frames of every link type: no panic, and the kinds keep their
// promises about which fields are set.
func FuzzDecode(f *testing.F) {
	for _, fr := range benchFrames() {
		f.Add(fr, uint8(LinkTypeEthernet))
	}
	f.Add(udpPacket(testV6Client, testV6Server, 40000, 123, ntpClientRequest()), uint8(LinkTypeRaw))
	f.Add(append([]byte{2, 0, 0, 0}, udpPacket(testV4Client, testV4Server, 40000, 123, ntpClientRequest())...), uint8(LinkTypeNull))
	d := NewDecoderFragmentCap(16)
	f.Fuzz(func(t *testing.T, frame []byte, link uint8) {
		var p Packet
		k := d.Decode(frame, captureInfo(frame), layers.LinkType(link), &p)
		if k == KindOther && (p.Src.IsValid() || p.SrcPort != 0) {
			t.Errorf("KindOther with addresses: %+v", p)
		}
		if k != KindOther && p.SrcPort != 123 && p.DstPort != 123 {
			t.Errorf("kind %d without port 123: %+v", k, p)
		}
		if k == KindNTP {
			AppendNTPLog(nil, &p)
		}
	})
}

// FuzzOpen feeds capture file bytes: Open and Next end in an error or io.EOF, never a panic,
// and a truncated file says so.
func FuzzOpen(f *testing.F) {
	f.Add(pcapBytes(f, false))
	f.Add(pcapngBytes(f))
	f.Add(gzipped(pcapBytes(f, true)))
	f.Add([]byte("GMBU"))
	path := f.TempDir() + "/fuzz.pcap"
	f.Fuzz(func(t *testing.T, b []byte) {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		src, err := Open(path)
		if err != nil {
			return
		}
		defer src.Close()
		d := NewDecoder()
		var p Packet
		for i := 0; i < 1000; i++ {
			data, ci, link, err := src.Next()
			if err == io.EOF || err != nil {
				return
			}
			d.Decode(data, ci, link, &p)
		}
	})
}
