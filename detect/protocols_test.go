package detect

import (
	"net/netip"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/ntpwatch/ntpwatch/decode"
	"github.com/ntpwatch/ntpwatch/decode/proto"
)

// byName is the default table's protocol called name.
func byName(t testing.TB, name string) *proto.Protocol {
	t.Helper()
	if p := protocolNamed(name); p != nil {
		return p
	}
	t.Fatalf("no protocol %s", name)
	return nil
}

// msg is a classified message of protocol p as the decoder fills it: from src:sport to
// dst:dport, payload bytes of UDP payload in a frame 42 bytes longer.
func msg(ts time.Time, p *proto.Protocol, src, dst netip.Addr, sport, dport uint16, dir proto.Dir, vec int8, data bool, payload uint32) decode.Packet {
	return decode.Packet{Kind: decode.KindMessage, Time: ts, WireLen: max(60, payload+42), Weight: 1,
		Src: src, Dst: dst, SrcPort: sport, DstPort: dport, IPLen: payload + 28, MessageLen: payload, PayloadLen: payload,
		Proto: p, Dir: dir, Vector: vec, Data: data}
}

// TestProtocolThresholds: a protocol's thresholds are the kinds' settings, then its own
// defaults, then detect.protocols; NTP's are the kinds' settings.
func TestProtocolThresholds(t *testing.T) {
	cfg := DefaultConfig()
	base := cfg.Thresholds(ntp)
	if got := base.Describe(Thresholds{cfg.Reflection, cfg.VictimFlood, cfg.Scan, cfg.SpoofedEgress, cfg.RequestFlood, cfg.ExposedAmplifier}); got != "" {
		t.Errorf("NTP's thresholds differ from the kinds': %s", got)
	}
	dns := byName(t, "dns")
	if got, want := cfg.Thresholds(dns).Describe(base), "reflection.min_amplification 10, request_flood.min_requests 10000, "+
		"scan.min_targets 256, victim_flood.min_amplification 20"; got != want {
		t.Errorf("dns: %s, want %s", got, want)
	}
	doc := `
reflection:
  min_response_bytes: 2000000
protocols:
  dns:
    reflection:
      min_amplification: 20
    scan:
      min_targets: 1000
  udp:
    victim_flood:
      min_reflectors: 50
`
	if err := yaml.Unmarshal([]byte(doc), &cfg); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if got, want := cfg.Thresholds(dns).Describe(base), "reflection.min_amplification 20, "+
		"reflection.min_response_bytes 2e+06, request_flood.min_requests 10000, scan.min_targets 1000, victim_flood.min_amplification 20"; got != want {
		t.Errorf("dns with the file: %s, want %s", got, want)
	}
	if got := cfg.Thresholds(byName(t, "udp")).VictimFlood; got.MinReflectors != 50 || got.MinAmplification != 10 {
		t.Errorf("udp with the file: %+v", got)
	}
	if got := cfg.Thresholds(ntp).Reflection; got.MinResponseBytes != 2_000_000 || got.MinAmplification != 5 {
		t.Errorf("ntp with the file: %+v", got)
	}
}

// TestProtocolConfigValidate: every problem of the protocols section is reported, by key.
func TestProtocolConfigValidate(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Protocols = map[string]ProtocolConfig{
		"dnss":    {"reflection": {"min_amplification": 10}},
		"dns":     {"reflection": {"min_amplification": 0.5, "min_response_byte": 1}, "scann": {"min_targets": 3}},
		"snmp":    {"scan": {"min_targets": 2.5}, "victim_flood": {"high_bps": 2e9}},
		"cldap":   {"request_flood": {"min_requests": 0}},
		"chargen": {"reflection": {"high_bps": -1}},
	}
	err := cfg.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		"detect.protocols.dnss: no such protocol (want ntp, dns,",
		"detect.protocols.dns.reflection.min_amplification: must be at least 1, got 0.5",
		"detect.protocols.dns.reflection.min_response_byte: not a threshold",
		"detect.protocols.dns.scann.min_targets: not a threshold",
		"detect.protocols.snmp.scan.min_targets: must be a whole number, got 2.5",
		"detect.protocols.snmp.victim_flood.critical_bps: must be at least high_bps (2e+09), got 1e+09",
		"detect.protocols.cldap.request_flood.min_requests: must be at least 1, got 0",
		"detect.protocols.chargen.reflection.high_bps: must be positive, got -1",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("no %q in\n%v", want, err)
		}
	}
	if n := strings.Count(err.Error(), "\n") + 1; n != 8 {
		t.Errorf("%d problems, want 8:\n%v", n, err)
	}
}

// TestProtocolThresholdsApply: DNS answers 8 times their queries, which NTP's threshold
// calls a reflection and DNS's (10) does not; at 30 times both do.
func TestProtocolThresholdsApply(t *testing.T) {
	dns := byName(t, "dns")
	exchange := func(p *proto.Protocol, ratio uint32) []decode.Packet {
		var ps []decode.Packet
		port := p.Ports[0]
		for i := range 2500 { // 1.2 MB of replies at 8 times, within the minute
			ts := at(time.Duration(i) * 20 * time.Millisecond)
			ps = append(ps, msg(ts, p, victim, server, 40000, port, proto.DirRequest, 0, false, 60),
				msg(ts.Add(time.Millisecond), p, server, victim, port, 40000, proto.DirResponse, 0, true, 60*ratio))
		}
		return ps
	}
	for _, c := range []struct {
		p     *proto.Protocol
		ratio uint32
		want  bool
	}{{dns, 8, false}, {dns, 30, true}, {byName(t, "chargen"), 8, true}} {
		alerts, _ := run(t, DefaultConfig(), exchange(c.p, c.ratio))
		got := len(only(alerts, KindReflection)) > 0
		if got != c.want {
			t.Errorf("%s at %d times: reflection %v, want %v\n%s", c.p.Name, c.ratio, got, c.want, lines(alerts))
		}
		for _, a := range alerts {
			if a.Protocol != c.p.Name || a.ServerPort != c.p.Ports[0] || !strings.HasPrefix(a.Vector, c.p.Name+"/") {
				t.Errorf("%s: alert protocol %q port %d vector %q", c.p.Name, a.Protocol, a.ServerPort, a.Vector)
			}
		}
	}
}

// TestFallbackVictimFlood: replies from port 427 of 20 reflectors at a victim that asked for
// none are a victim_flood of udp/427; those of port 300 are another protocol, with its own
// incident; a server's replies raise nothing else, and a client that asked for its replies
// raises nothing.
func TestFallbackVictimFlood(t *testing.T) {
	udp := byName(t, "udp")
	var ps []decode.Packet
	asker := netip.MustParseAddr("198.51.100.99")
	for i := range 20 {
		refl := netip.AddrFrom4([4]byte{192, 0, 2, byte(100 + i)})
		for k := range 100 {
			ts := at(time.Duration(k)*100*time.Millisecond + time.Duration(i)*time.Millisecond)
			ps = append(ps, msg(ts, udp, refl, victim, 427, 80, proto.DirResponse, 0, false, 1200),
				msg(ts, udp, refl, victim, 300, 80, proto.DirResponse, 0, false, 1200),
				// asker asks each reflector for what it gets back.
				msg(ts, udp, asker, refl, 40000, 427, proto.DirRequest, 0, false, 600),
				msg(ts, udp, refl, asker, 427, 40000, proto.DirResponse, 0, false, 1200))
		}
	}
	alerts, _ := run(t, DefaultConfig(), ps)
	var got []string
	for _, a := range alerts {
		if a.State != StateEnd {
			continue
		}
		got = append(got, string(a.Kind)+" "+a.Protocol+" "+a.Vector+" "+a.Subject().String())
		if a.Kind == KindVictimFlood && (a.Reflectors.Count != 20 || a.Responses.Packets != 2000 || a.HasAmplification) {
			t.Errorf("%s: %s", a.Protocol, line(a))
		}
		if a.ServerPort != 427 && a.ServerPort != 300 {
			t.Errorf("server port %d", a.ServerPort)
		}
	}
	want := "victim_flood udp/427 udp/427 203.0.113.7,victim_flood udp/300 udp/300 203.0.113.7"
	if strings.Join(got, ",") != want {
		t.Errorf("incidents:\n%s\nwant %s", strings.Join(got, "\n"), want)
	}
	if alerts[0].ID == alerts[len(alerts)-1].ID {
		t.Error("the two ports' incidents share an id")
	}
}

// TestDocsProtocolThresholds: docs/detection.md's table of the thresholds per protocol lists
// every protocol's own defaults, and nothing else.
func TestDocsProtocolThresholds(t *testing.T) {
	doc, err := os.ReadFile("../docs/detection.md")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| `([a-z]+)` \\| `([a-z_.]+)` \\| `([0-9.e+]+)` \\|")
	documented := map[string][]string{}
	for _, m := range row.FindAllStringSubmatch(string(doc), -1) {
		documented[m[1]] = append(documented[m[1]], m[2]+" "+m[3])
	}
	cfg := DefaultConfig()
	base := cfg.Thresholds(ntp)
	for _, p := range proto.Default.Protocols() {
		got := cfg.Thresholds(p).Describe(base)
		slices.Sort(documented[p.Name]) // Describe's order: by key
		if want := strings.Join(documented[p.Name], ", "); got != want {
			t.Errorf("%s: thresholds %q, docs/detection.md says %q", p.Name, got, want)
		}
		delete(documented, p.Name)
	}
	for name := range documented {
		t.Errorf("docs/detection.md lists thresholds of %s, which the table does not have", name)
	}
}
