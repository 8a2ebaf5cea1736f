package decode

import (
	"bytes"
	"testing"

	"github.com/ntpwatch/ntpwatch/decode/proto"
	"github.com/ntpwatch/ntpwatch/internal/testutil"
)

// FuzzDecode feeds whole frames of every link type: no panic, and the kinds keep their
// promises about which fields are set. The seeds reach every tunnel, mirror session and link
// type (the frames of TestTunnels, and real tunnel frames in testdata/fuzz/FuzzDecode).
func FuzzDecode(f *testing.F) {
	for _, fr := range benchFrames() {
		f.Add(fr, uint16(LinkTypeEthernet))
	}
	for _, c := range tunnelCases() {
		f.Add(c.frame, uint16(c.link))
	}
	f.Add(testutil.UDP(testutil.V6Client, testutil.V6Server, 40000, 123, ntpClientRequest()), uint16(LinkTypeRaw))
	f.Add(append([]byte{2, 0, 0, 0}, testutil.UDP(testutil.V4Client, testutil.V4Server, 40000, 123, ntpClientRequest())...), uint16(LinkTypeNull))
	d := NewDecoderFragmentCap(nil, 16)
	f.Fuzz(func(t *testing.T, frame []byte, link uint16) {
		var p Packet
		k := d.Decode(frameOf(frame, LinkType(link)), &p)
		if k == KindOther && (p.Src.IsValid() || p.SrcPort != 0) {
			t.Errorf("KindOther with addresses: %+v", p)
		}
		if k != KindOther && (p.Proto == nil || d.Table().Lookup(p.SrcPort, p.DstPort) == nil) {
			t.Errorf("kind %d on no port of the table: %+v", k, p)
		}
		if k != KindOther && (p.Dir == proto.DirNone) != (p.Vector < 0) {
			t.Errorf("kind %d with direction %d and vector %d", k, p.Dir, p.Vector)
		}
		if k == KindMessage && p.PayloadLen > p.MessageLen {
			t.Errorf("a message carrying %d of its %d payload bytes", p.PayloadLen, p.MessageLen)
		}
		// A frame carries no more bytes than crossed the link, but inside tunnels and NFLOG
		// messages, whose packets may have been cut, the headers say how long they were.
		if p.PayloadLen > uint32(len(frame)) && p.Encap.Len() == 0 && LinkType(link) != LinkTypeNFLOG {
			t.Errorf("a frame of %d bytes carrying %d payload bytes: %+v", len(frame), p.PayloadLen, p)
		}
		if p.Encap.Len() > MaxEncap {
			t.Errorf("%d encapsulations recorded", p.Encap.Len())
		}
		if k == KindMessage {
			AppendNTPLog(nil, &p)
		}
	})
}

// FuzzOpen feeds capture file bytes: opening and reading end in an error or io.EOF, never a
// panic, within the bounds the readers promise. It reads from memory through the same
// reader as a file, so that each input costs its parsing, not a temporary file.
func FuzzOpen(f *testing.F) {
	f.Add(pcapBytes(f, false))
	f.Add(pcapngBytes(f))
	f.Add(testutil.Gzip(pcapBytes(f, true)))
	f.Add([]byte("GMBU"))
	d := NewDecoder(nil)
	f.Fuzz(func(t *testing.T, b []byte) {
		src, err := openReader("fuzz", bytes.NewReader(b))
		if err != nil {
			return
		}
		defer src.Close()
		var p Packet
		var fr Frame
		for i := 0; i < 1000; i++ {
			if err := src.Next(&fr); err != nil {
				return
			}
			if fr.WireLen < len(fr.Data) {
				t.Fatalf("wire length %d below the %d bytes captured", fr.WireLen, len(fr.Data))
			}
			d.Decode(&fr, &p)
		}
	})
}
