package flow

import (
	"net/netip"
	"testing"

	"github.com/google/gopacket"

	"github.com/ntpwatch/ntpwatch/decode"
)

// fuzzDatagram decodes one datagram of protocol p as a source would, and checks what came
// out: every observation weighs at least one packet, a sampled header is one sample, and
// the exporter's account holds what was handed over.
func fuzzDatagram(t *testing.T, d *decode.Decoder, p Protocol, data []byte) {
	c := NewCollector(Config{})
	ps := readWith(t, d, memorySource(c, p, exporterAddr, data))
	var samples, records uint64
	for _, e := range c.Stats().Exporters {
		samples += e.Samples
		records += e.Records
	}
	if uint64(len(ps)) > samples+records {
		t.Fatalf("%d observations from %d samples and %d records", len(ps), samples, records)
	}
	for _, pk := range ps {
		if pk.Weight < 1 || pk.Samples < 1 && pk.Kind == decode.KindMessage {
			t.Fatalf("observation %+v: weight or samples missing", pk)
		}
	}
}

// FuzzSFlow feeds arbitrary datagrams to the sFlow reader: no panic, no hang, no allocation
// that the datagram's size does not bound. The seeds are pmacct's datagrams and the crafted
// ones of the tests.
func FuzzSFlow(f *testing.F) {
	for _, dg := range fixtureDatagrams(f, fixtureSFlow)[:4] {
		f.Add(dg)
	}
	frame := monlistReply()
	f.Add(sflowDatagram(7, flowSample(1, 1000, 3, frame), flowSample(2, 1000, 3, frame)))
	d := decode.NewDecoder(nil)
	f.Fuzz(func(t *testing.T, data []byte) { fuzzDatagram(t, d, SFlow, data) })
}

// FuzzNetFlow feeds arbitrary datagrams to the NetFlow v9 and IPFIX reader; each fuzzed
// datagram is read by a new source, so that it must carry its own templates, as the seeds'
// first datagrams of pmacct and softflowd do.
func FuzzNetFlow(f *testing.F) {
	for _, name := range []string{fixtureNetFlow, fixtureIPFIX, fixturePSAMP} {
		dgs := fixtureDatagrams(f, name)
		f.Add(dgs[0])
		if len(dgs) > 1 {
			f.Add(append(append([]byte(nil), dgs[0]...), dgs[1]...)) // the next one's bytes after it
		}
	}
	f.Add(netflowV9(1, flowSet(0, []byte{1, 0, 0, 1, 0, 7, 0, 0}), flowSet(256, make([]byte, 12))))
	d := decode.NewDecoder(nil)
	f.Fuzz(func(t *testing.T, data []byte) { fuzzDatagram(t, d, NetFlow, data) })
}

// FuzzCapture: the reader of captures finds the datagrams of any frame without panicking.
func FuzzCapture(f *testing.F) {
	for _, dg := range fixtureDatagrams(f, fixtureSFlow)[:2] {
		f.Add(dg)
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		for _, link := range []decode.LinkType{decode.LinkTypeEthernet, decode.LinkTypeLinuxSLL, decode.LinkTypeNull, decode.LinkTypeRaw} {
			r := &captureReader{ports: DefaultPorts(), parsers: map[gopacket.LayerType]*gopacket.DecodingLayerParser{}}
			r.frame = decode.Frame{Data: frame, Link: link}
			if dg, ok := r.datagram(); ok && (len(dg.data) > len(frame) || !dg.from.IsValid() && dg.from != netip.Addr{}) {
				t.Fatalf("datagram %+v from a frame of %d bytes", dg, len(frame))
			}
		}
	})
}
