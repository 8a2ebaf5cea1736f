package flow

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/ntpwatch/ntpwatch/decode"
	"github.com/ntpwatch/ntpwatch/internal/testutil"
)

var exporterAddr = netip.MustParseAddr("192.0.2.250")

// sflowDatagram builds an sFlow v5 datagram of agent 192.0.2.250 (SFLOW-DATAGRAM5): a header
// and the samples given, each a whole sample with its format and length.
func sflowDatagram(seq uint32, samples ...[]byte) []byte {
	be := binary.BigEndian
	b := be.AppendUint32(nil, 5)
	b = be.AppendUint32(b, 1)
	b = append(b, exporterAddr.AsSlice()...)
	b = be.AppendUint32(b, 0)   // sub-agent
	b = be.AppendUint32(b, seq) // sequence number
	b = be.AppendUint32(b, 1000)
	b = be.AppendUint32(b, uint32(len(samples)))
	for _, s := range samples {
		b = append(b, s...)
	}
	return b
}

// flowSample builds a flow sample (format 1) of one raw header record holding frame, an
// Ethernet frame whose wire length the record gives with its FCS (4 bytes stripped).
func flowSample(seq, rate, drops uint32, frame []byte) []byte {
	be := binary.BigEndian
	rec := be.AppendUint32(nil, sflowHeaderEthernet)
	rec = be.AppendUint32(rec, uint32(len(frame)+4))
	rec = be.AppendUint32(rec, 4)
	rec = be.AppendUint32(rec, uint32(len(frame)))
	rec = append(rec, frame...)
	for len(rec)%4 != 0 {
		rec = append(rec, 0)
	}
	body := be.AppendUint32(nil, seq)
	body = be.AppendUint32(body, 3) // source id: ifIndex 3
	body = be.AppendUint32(body, rate)
	body = be.AppendUint32(body, seq*rate) // sample pool
	body = be.AppendUint32(body, drops)
	body = be.AppendUint32(body, 3)
	body = be.AppendUint32(body, 4)
	body = be.AppendUint32(body, 1) // records
	body = be.AppendUint32(body, 1) // raw packet header
	body = be.AppendUint32(body, uint32(len(rec)))
	body = append(body, rec...)
	s := be.AppendUint32(nil, sflowFormatFlow)
	s = be.AppendUint32(s, uint32(len(body)))
	return append(s, body...)
}

// monlistReply is a full monlist reply packet from the server to the victim, as a frame.
func monlistReply() []byte {
	clients := []netip.Addr{victim, victim, victim, victim, victim, victim}
	return testutil.Ethernet(testutil.UDP(server, victim, 123, 40000, testutil.MonlistReply(true, clients...)))
}

// TestSFlowCutShort: a datagram cut anywhere gives the samples it holds whole, and no error:
// goflow2 leaves the slots of the others empty.
func TestSFlowCutShort(t *testing.T) {
	frame := monlistReply()
	dg := sflowDatagram(1, flowSample(1, 100, 0, frame), flowSample(2, 100, 0, frame), flowSample(3, 100, 0, frame))
	one := len(sflowDatagram(1, flowSample(1, 100, 0, frame)))
	d := decode.NewDecoder(nil)
	for cut := 0; cut <= len(dg); cut++ {
		c := NewCollector(Config{})
		ps := readWith(t, d, memorySource(c, SFlow, exporterAddr, dg[:cut]))
		whole := 0
		if cut >= 28 {
			whole = (cut - 28) / (one - 28)
		}
		if len(ps) != whole {
			t.Fatalf("cut at %d of %d: %d samples, want %d", cut, len(dg), len(ps), whole)
		}
		for _, p := range ps {
			if p.Kind != decode.KindMessage || p.Weight != 100 || p.WireLen != uint32(len(frame)) {
				t.Fatalf("cut at %d: sample %+v", cut, p)
			}
		}
	}
}

// TestSequenceGaps: the datagrams that sequence numbers say never came are counted, per
// protocol's unit, and an agent's restart (numbers starting again) is no loss.
func TestSequenceGaps(t *testing.T) {
	lost := func(p Protocol, from netip.Addr, dgs ...[]byte) Exporter {
		c := NewCollector(Config{})
		readAll(t, memorySource(c, p, from, dgs...))
		es := c.Stats().Exporters
		if len(es) != 1 {
			t.Fatalf("%s: exporters %+v", p, es)
		}
		return es[0]
	}
	frame := monlistReply()
	sf := func(seq uint32) []byte { return sflowDatagram(seq, flowSample(seq, 10, 0, frame)) }
	if e := lost(SFlow, exporterAddr, sf(1), sf(2), sf(5), sf(6), sf(1), sf(2)); e.Lost != 2 || e.Datagrams != 6 {
		t.Errorf("sFlow 1 2 5 6, restart 1 2: lost %d of %d datagrams, want 2", e.Lost, e.Datagrams)
	}

	local := netip.MustParseAddr("127.0.0.1")
	nf := fixtureDatagrams(t, fixtureNetFlow)
	if e := lost(NetFlow, local, nf[0], nf[2], nf[3]); e.Lost != 1 {
		t.Errorf("NetFlow v9 without its second datagram: lost %d, want 1", e.Lost)
	}
	// IPFIX numbers records: losing a datagram loses its records. The first datagram
	// carries the templates.
	fix := fixtureDatagrams(t, fixtureIPFIX)
	all := lost(IPFIX, local, fix...)
	second, _ := readAll(t, memorySource(NewCollector(Config{}), IPFIX, local, fix[0], fix[2]))
	first, _ := readAll(t, memorySource(NewCollector(Config{}), IPFIX, local, fix[0]))
	dropped := uint64(len(second) - len(first))
	without := lost(IPFIX, local, append(fix[:2:2], fix[3:]...)...)
	if all.Lost != 0 || without.Lost != dropped || dropped == 0 {
		t.Errorf("IPFIX: lost %d with every datagram, %d without the third, want 0 and its %d records", all.Lost, without.Lost, dropped)
	}
}

// TestAgentDrops: the drops counters of sFlow's data sources add up as they grow.
func TestAgentDrops(t *testing.T) {
	frame := monlistReply()
	c := NewCollector(Config{})
	readAll(t, memorySource(c, SFlow, exporterAddr,
		sflowDatagram(1, flowSample(1, 10, 5, frame)), sflowDatagram(2, flowSample(2, 10, 5, frame)),
		sflowDatagram(3, flowSample(3, 10, 12, frame))))
	if e := c.Stats().Exporters[0]; e.Drops != 12 || e.Samples != 3 {
		t.Errorf("drops %d over %d samples, want 12", e.Drops, e.Samples)
	}
}

// TestSFlowExpandedRecordCount: an expanded flow sample claiming four billion records is
// refused before goflow2 would allocate them.
func TestSFlowExpandedRecordCount(t *testing.T) {
	be := binary.BigEndian
	body := make([]byte, 44)
	be.PutUint32(body[40:], 0xffffffff)
	s := be.AppendUint32(nil, sflowFormatExpand)
	s = be.AppendUint32(s, uint32(len(body)))
	c := NewCollector(Config{})
	ps, _ := readAll(t, memorySource(c, SFlow, exporterAddr, sflowDatagram(1, append(s, body...))))
	if len(ps) != 0 || c.Stats().Invalid[SFlow] != 1 {
		t.Errorf("%d samples, %d invalid datagrams, want none and 1", len(ps), c.Stats().Invalid[SFlow])
	}
}

// netflowV9 builds a NetFlow v9 datagram (RFC 3954 section 5) of the flowsets given.
func netflowV9(seq uint32, sets ...[]byte) []byte {
	be := binary.BigEndian
	b := be.AppendUint16(nil, 9)
	b = be.AppendUint16(b, uint16(len(sets)))
	b = be.AppendUint32(b, 1000)       // uptime
	b = be.AppendUint32(b, 1773478800) // unix seconds
	b = be.AppendUint32(b, seq)
	b = be.AppendUint32(b, 0) // source id
	for _, s := range sets {
		b = append(b, s...)
	}
	return b
}

// flowSet is a flowset of id holding body.
func flowSet(id uint16, body []byte) []byte {
	b := binary.BigEndian.AppendUint16(nil, id)
	b = binary.BigEndian.AppendUint16(b, uint16(4+len(body)))
	return append(b, body...)
}

// TestTemplateWithoutLength: a template whose fields all have length 0 is passed over (goflow2
// would read its data set forever), its data sets counted unread.
func TestTemplateWithoutLength(t *testing.T) {
	be := binary.BigEndian
	tmpl := be.AppendUint16(nil, 256) // template id
	tmpl = be.AppendUint16(tmpl, 2)   // two fields
	tmpl = be.AppendUint16(tmpl, ieSrcPort)
	tmpl = be.AppendUint16(tmpl, 0)
	tmpl = be.AppendUint16(tmpl, ieDstPort)
	tmpl = be.AppendUint16(tmpl, 0)
	dg := netflowV9(1, flowSet(0, tmpl), flowSet(256, make([]byte, 16)))
	c := NewCollector(Config{})
	done := make(chan []decode.Packet)
	go func() {
		ps, _ := readAll(t, memorySource(c, NetFlow, exporterAddr, dg))
		done <- ps
	}()
	if ps := <-done; len(ps) != 0 {
		t.Errorf("%d records from a template without length", len(ps))
	}
	if e := c.Stats().Exporters; len(e) != 1 || e[0].Unread != 1 {
		t.Errorf("exporters %+v, want one data set unread", e)
	}
}

// TestMaxExporters: exporters past the cap are counted together as "other", named ones
// always apart.
func TestMaxExporters(t *testing.T) {
	named := netip.MustParseAddr("192.0.2.200")
	c := NewCollector(Config{MaxExporters: 2, Exporters: []ExporterConfig{{Name: "border-1", Address: named}}})
	frame := monlistReply()
	for i, a := range []string{"192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4", "192.0.2.200"} {
		dg := sflowDatagram(uint32(i+1), flowSample(1, 10, 0, frame))
		copy(dg[8:12], netip.MustParseAddr(a).AsSlice())
		readAll(t, memorySource(c, SFlow, exporterAddr, dg))
	}
	var got []string
	for _, e := range c.Stats().Exporters {
		got = append(got, e.Name+"="+e.Addr.String())
	}
	want := "exporter-1=192.0.2.1 exporter-2=192.0.2.2 border-1=192.0.2.200 other=invalid IP"
	if s := joinStrings(got); s != want {
		t.Errorf("exporters %s, want %s", s, want)
	}
}

func joinStrings(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += " "
		}
		out += x
	}
	return out
}

// TestListen: a collector's socket on 127.0.0.1 (a port the system chose) takes an exporter's
// datagrams as they come, stamped with their arrival; a datagram with nothing to observe, and
// a quiet socket, end NextPacket with decode.ErrTimeout, so that junk sent to the port keeps
// no reader from its context.
func TestListen(t *testing.T) {
	c := NewCollector(Config{})
	src, err := c.Listen(SFlow, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	conn, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(Addr(src)))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	sf := fixtureDatagrams(t, fixtureSFlow)[0]
	before := time.Now()
	for _, dg := range [][]byte{[]byte("junk"), sf} {
		if _, err := conn.Write(dg); err != nil {
			t.Fatal(err)
		}
	}
	d := decode.NewDecoder(nil)
	var p decode.Packet
	if _, err := src.NextPacket(d, &p); !errors.Is(err, decode.ErrTimeout) {
		t.Fatalf("junk: %v, want decode.ErrTimeout", err)
	}
	n := 0
	for {
		_, err := src.NextPacket(d, &p)
		if errors.Is(err, decode.ErrTimeout) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if p.Time.Before(before) || p.Weight != 10 {
			t.Errorf("sample %+v: want its arrival time and weight 10", p)
		}
		n++
	}
	st := c.Stats()
	if n != 7 || st.Invalid[SFlow] != 1 || len(st.Exporters) != 1 || st.Exporters[0].Samples != 7 {
		t.Errorf("%d samples, stats %+v; want the datagram's 7 and one invalid datagram", n, st)
	}
	if want := "sflow " + Addr(src).String(); src.Name() != want {
		t.Errorf("name %q, want %q", src.Name(), want)
	}
}
