package flow

import (
	"errors"
	"io"
	"net/netip"
	"testing"
	"time"

	"github.com/google/gopacket"

	"github.com/ntpwatch/ntpwatch/decode"
	"github.com/ntpwatch/ntpwatch/decode/proto"
)

// The fixtures of testdata are what real exporters sent for pcaps/reflection.pcap (home NTP
// server 198.51.100.10 answering 30 forged monlist requests of 203.0.113.7 with 3,000 reply
// packets of 440 bytes, among the mode 3/4 traffic of 40 clients: 3,266 packets), captured
// by testdata/make.sh:
//
//	pmacct-sflow.pcap.gz     pmacctd's sfprobe, sFlow v5 at 1:10, agent 192.0.2.250
//	pmacct-netflow.pcap.gz   pmacctd's nfprobe, NetFlow v9 at 1:10 (a sampler in options data)
//	pmacct-ipfix.pcap.gz     pmacctd's nfprobe, IPFIX of every packet
//	softflowd-psamp.pcap.gz  softflowd -v psamp -s 10: IPFIX packet samples, one in ten, no rate stated
const (
	fixtureSFlow   = "testdata/pmacct-sflow.pcap.gz"
	fixtureNetFlow = "testdata/pmacct-netflow.pcap.gz"
	fixtureIPFIX   = "testdata/pmacct-ipfix.pcap.gz"
	fixturePSAMP   = "testdata/softflowd-psamp.pcap.gz"

	reflectionPackets = 3266
)

var (
	server = netip.MustParseAddr("198.51.100.10")
	victim = netip.MustParseAddr("203.0.113.7")
)

// readAll reads every observation of src with a new decoder and returns copies of them.
func readAll(t testing.TB, src decode.PacketSource) ([]decode.Packet, *decode.Decoder) {
	t.Helper()
	d := decode.NewDecoder(nil)
	return readWith(t, d, src), d
}

// readWith reads every observation of src with d and returns copies of them.
func readWith(t testing.TB, d *decode.Decoder, src decode.PacketSource) []decode.Packet {
	t.Helper()
	var out []decode.Packet
	for {
		var p decode.Packet
		_, err := src.NextPacket(d, &p)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		p.NTP.Priv.Monlist = nil
		out = append(out, p)
	}
}

// openFixture reads a fixture with a collector of cfg.
func openFixture(t testing.TB, cfg Config, name string) (*Collector, []decode.Packet, *decode.Decoder) {
	t.Helper()
	c := NewCollector(cfg)
	in, err := decode.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	src := c.Capture(in, DefaultPorts())
	defer src.Close()
	ps, d := readAll(t, src)
	return c, ps, d
}

// attack sums the packets estimated of the reflection: the server's replies to the victim and
// the victim's requests.
func attack(ps []decode.Packet) (replies, requests, replyBytes uint64) {
	for _, p := range ps {
		if p.Kind != decode.KindMessage {
			continue
		}
		w := uint64(p.Weight)
		switch {
		case p.Src == server && p.Dst == victim:
			replies += w
			replyBytes += w * uint64(p.PayloadLen)
		case p.Src == victim && p.Dst == server:
			requests += w
		}
	}
	return replies, requests, replyBytes
}

// TestPmacctSFlow: pmacct's sFlow at 1:10 gives one sample in ten of the capture's packets,
// each decoded as the tapped frame it was, weighted 10, and the exporter's account.
func TestPmacctSFlow(t *testing.T) {
	c, ps, d := openFixture(t, Config{}, fixtureSFlow)
	st := d.Stats()
	if st.Frames != uint64(len(ps)) || st.Records != 0 || st.Messages != st.Frames {
		t.Errorf("stats: %d frames, %d records, %d messages for %d samples", st.Frames, st.Records, st.Messages, len(ps))
	}
	for _, p := range ps {
		if p.Weight != 10 || p.Samples != 1 || p.Proto == nil || p.Proto.Name != "ntp" {
			t.Fatalf("sample %+v: want an NTP message weighted 10", p)
		}
	}
	// About a tenth of the 3,266 packets, within sampling's 95% bound (+-11% for 327).
	if n := len(ps); n < 290 || n > 365 {
		t.Errorf("%d samples of %d packets at 1:10", n, reflectionPackets)
	}
	replies, requests, bytes := attack(ps)
	t.Logf("estimated replies %d (3,000 sent), requests %d (30), reply bytes %d (1,320,000)", replies, requests, bytes)
	if replies < 2500 || replies > 3500 || bytes != replies*440 {
		t.Errorf("estimated %d replies of %d bytes", replies, bytes)
	}
	es := c.Stats().Exporters
	want := Exporter{Name: "exporter-1", Addr: netip.MustParseAddr("192.0.2.250"), Protocol: SFlow,
		Datagrams: 55, Samples: uint64(len(ps)), Rate: 10}
	if len(es) != 1 || es[0] != want {
		t.Errorf("exporters %+v, want %+v", es, want)
	}
}

// TestPmacctNetFlow: NetFlow v9 records sampled at 1:10, whose rate pmacct states in options
// data (sampler 1, random, interval 10) and each record by its sampler id: the reflection's
// records weigh ten times their packets and carry an unknown vector.
func TestPmacctNetFlow(t *testing.T) {
	c, ps, d := openFixture(t, Config{}, fixtureNetFlow)
	st := d.Stats()
	if st.Frames != 0 || st.Records != uint64(len(ps)) {
		t.Errorf("stats: %d frames, %d records, want %d records", st.Frames, st.Records, len(ps))
	}
	var sampled uint64
	for _, p := range ps {
		sampled += uint64(p.Samples)
		if p.Kind != decode.KindMessage || p.Weight != 10*p.Samples {
			t.Errorf("record %+v: want a message weighted 10 a packet", p)
		}
		if p.Src == server && p.Dst == victim && (p.Dir != proto.DirResponse || !p.Data || p.Vector != proto.VectorUnknown ||
			p.PayloadLen != 440 || p.WireLen != 482) {
			t.Errorf("reply record %+v: want an amplifying reply with data of 440 bytes", p)
		}
		if p.Src == victim && p.Dst == server && (p.Dir != proto.DirRequest || p.PayloadLen != 8) {
			t.Errorf("request record %+v: want an amplifying request of 8 bytes", p)
		}
		if p.Src != server && p.Dst != server || p.Src == server && p.Dst != victim && p.Dir != proto.DirNone {
			t.Errorf("record %+v: time service or a stranger taken for amplification", p)
		}
	}
	replies, requests, _ := attack(ps)
	t.Logf("%d records of %d sampled packets; estimated replies %d (3,000 sent), requests %d (30)", len(ps), sampled, replies, requests)
	if replies < 2500 || replies > 3500 {
		t.Errorf("estimated %d replies", replies)
	}
	if es := c.Stats().Exporters; len(es) != 1 || es[0].Protocol != NetFlow || es[0].Rate != 10 || es[0].Records != uint64(len(ps)) ||
		es[0].Datagrams != 4 || es[0].Lost != 0 || es[0].Addr != netip.MustParseAddr("127.0.0.1") {
		t.Errorf("exporters %+v", es)
	}
}

// TestPmacctIPFIX: IPFIX records of every packet count the capture exactly: 3,266 UDP packets,
// of which the reflection's 3,000 replies of 440 bytes and 30 requests of 8.
func TestPmacctIPFIX(t *testing.T) {
	c, ps, _ := openFixture(t, Config{}, fixtureIPFIX)
	var packets uint64
	for _, p := range ps {
		packets += uint64(p.Weight)
		if p.Weight != p.Samples {
			t.Errorf("record %+v: weight and samples differ at a rate of 1", p)
		}
	}
	replies, requests, bytes := attack(ps)
	if packets != reflectionPackets || replies != 3000 || requests != 30 || bytes != 1_320_000 {
		t.Errorf("%d packets, %d replies of %d bytes, %d requests; want %d, 3,000 of 1,320,000, 30",
			packets, replies, bytes, requests, reflectionPackets)
	}
	if es := c.Stats().Exporters; len(es) != 1 || es[0].Protocol != IPFIX || es[0].Rate != 1 || es[0].Lost != 0 || es[0].Unread != 0 {
		t.Errorf("exporters %+v", es)
	}
}

// TestSoftflowdPSAMP: softflowd's IPFIX packet samples (RFC 5476) are frames decoded like
// sFlow's; softflowd states no rate, so they weigh the configured default, or an exporter's
// configured rate.
func TestSoftflowdPSAMP(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		want uint32
	}{
		{Config{}, 1},
		{Config{DefaultRate: 10}, 10},
		{Config{DefaultRate: 5, Exporters: []ExporterConfig{{Name: "probe", Address: netip.MustParseAddr("127.0.0.1"), SamplingRate: 10}}}, 10},
	} {
		col, ps, d := openFixture(t, c.cfg, fixturePSAMP)
		if len(ps) != 327 || d.Stats().Frames != 327 {
			t.Errorf("%d samples, %d frames; softflowd sent one in ten of %d packets, 327", len(ps), d.Stats().Frames, reflectionPackets)
		}
		for _, p := range ps {
			if p.Kind != decode.KindMessage || p.Weight != c.want || p.Samples != 1 {
				t.Fatalf("sample %+v, want an NTP message of weight %d", p, c.want)
			}
		}
		es := col.Stats().Exporters
		if len(es) != 1 || es[0].Samples != 327 || es[0].Rate != c.want || es[0].Lost != 0 {
			t.Errorf("exporters %+v", es)
		}
		if name := c.cfg.Exporters; name != nil && es[0].Name != "probe" {
			t.Errorf("exporter named %q, want probe", es[0].Name)
		}
	}
}

// memorySource is a source of the datagrams given, from one exporter, a millisecond apart.
func memorySource(c *Collector, p Protocol, from netip.Addr, dgs ...[]byte) *source {
	i := 0
	t0 := time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)
	return c.newSource("memory", func() (datagram, error) {
		if i == len(dgs) {
			return datagram{}, io.EOF
		}
		i++
		return datagram{data: dgs[i-1], from: from, proto: p, time: t0.Add(time.Duration(i) * time.Millisecond)}, nil
	}, func() error { return nil })
}

// fixtureDatagrams returns the export datagrams of a fixture.
func fixtureDatagrams(t testing.TB, name string) [][]byte {
	t.Helper()
	src, err := decode.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	r := &captureReader{src: src, ports: DefaultPorts(), parsers: map[gopacket.LayerType]*gopacket.DecodingLayerParser{}}
	var out [][]byte
	for {
		dg, err := r.read()
		if err != nil {
			return out
		}
		out = append(out, append([]byte(nil), dg.data...))
	}
}
