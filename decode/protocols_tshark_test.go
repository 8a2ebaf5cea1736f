package decode

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ntpwatch/ntpwatch/decode/proto"
)

// externalCaptures are the real captures of the protocols beyond NTP that the decode tests
// read: test captures of Debian's tcpdump and ndpi source packages, which `make
// external-pcaps` puts in build/external (never in the repository). Each holds everyday
// traffic of one or more protocols of the table: DNS (with EDNS0 options, DNSSEC, fragmented
// answers, a DNS tunnel), NetBIOS name service, RIPv1 and v2, TFTP, CoAP, SSDP, WS-Discovery,
// Ubiquiti discovery, SNMP, and datagrams on other ports below 1024 for the fallback.
var externalCaptures = []string{
	"tcpdump/dns_udp.pcap", "tcpdump/edns-opts.pcap", "tcpdump/dnssec.pcap", "tcpdump/dns-badvers.pcap",
	"tcpdump/dns-badcookie.pcap", "tcpdump/dns-uri.pcap", "tcpdump/dns_fwdptr.pcap", "tcpdump/dns-zlip-1.pcap",
	"tcpdump/ripv1v2.pcap", "tcpdump/ripv2_auth.pcap", "tcpdump/tftp.pcap", "tcpdump/nbns-valgrind.pcap",
	"tcpdump/snmp-heapoverflow-1.pcap", "tcpdump/eapon1.pcap", "tcpdump/nflog.pcap", "tcpdump/isakmp4500.pcap",
	"tcpdump/syslog_udp.pcap", "tcpdump/dhcp-rfc3004.pcap", "tcpdump/RADIUS.pcap",
	"ndpi/netbios.pcap", "ndpi/coap_mqtt.pcap", "ndpi/ubntac2.pcap", "ndpi/upnp.pcap", "ndpi/tftp.pcap",
	"ndpi/dns_fragmented.pcap", "ndpi/dns-tunnel-iodine.pcap", "ndpi/dns_exfiltration.pcap", "ndpi/bad-dns-traffic.pcap",
	"ndpi/skype.pcap", "ndpi/1kxun.pcap", "ndpi/dos_win98_smb_netbeui.pcap", "ndpi/telegram.pcap",
	"ndpi/anyconnect-vpn.pcap", "ndpi/pps.pcap", "ndpi/malformed_dns.pcap", "ndpi/iphone.pcap", "ndpi/netflix.pcap",
	"ndpi/NTPv2.pcap", "ndpi/wechat.pcap",
}

// externalDir is where `make external-pcaps` put the captures; NTPWATCH_EXTERNAL_PCAPS
// overrides it. The test skips, naming the target, when they are absent.
func externalDir(t *testing.T) string {
	dir := os.Getenv("NTPWATCH_EXTERNAL_PCAPS")
	if dir == "" {
		dir = filepath.Join("..", "build", "external")
	}
	if _, err := os.Stat(filepath.Join(dir, "tcpdump", "dns_udp.pcap")); err != nil {
		t.Skipf("no real captures of the other protocols in %s: run make external-pcaps", dir)
	}
	return dir
}

// protocolFields are the columns of testdata/tshark/protocols/*.tsv: what tshark reads of
// each protocol's header that its classifier judges by.
var protocolFields = []string{
	"frame.number", "ip.flags.mf", "ip.frag_offset", "udp.srcport", "udp.dstport", "udp.length",
	"dns.flags.response", "dns.flags.opcode", "dns.flags.rcode", "dns.flags.truncated", "dns.count.queries",
	"dns.count.answers", "dns.qry.type", "dns.rr.udp_payload_size",
	"nbns.flags.response", "nbns.flags.opcode", "nbns.count.queries", "nbns.count.answers", "nbns.type",
	"rip.command", "rip.version", "rip.family", "rip.metric",
	"tftp.opcode", "tftp.block",
	"coap.version", "coap.code", "coap.opt.uri_path", "coap.opt.ctype",
	"snmp.version", "snmp.data",
	"http.request.method", "http.response.code",
	"ubdp.version", "ubdp.command", "ubdp.size",
}

// protocolArgs is the command line of testdata/tshark/protocols (README.md there): every UDP
// datagram but those quoted inside ICMP errors, every occurrence of a field joined by commas.
func protocolArgs(file string) []string {
	return fieldArgs(file, "udp && !icmp && !icmpv6", protocolFields)
}

// protocolGolden maps ndpi/netbios.pcap to testdata/tshark/protocols/ndpi_netbios.tsv.
func protocolGolden(name string) string {
	base := strings.TrimSuffix(strings.TrimSuffix(filepath.Base(name), ".pcapng"), ".pcap")
	return filepath.Join("testdata", "tshark", "protocols", filepath.Dir(name)+"_"+base+".tsv")
}

// TestProtocolTsharkLive reruns tshark on the captures and checks that its output still
// equals the committed testdata; with -update-tshark it rewrites it.
func TestProtocolTsharkLive(t *testing.T) {
	dir := externalDir(t)
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark not on PATH (Debian package tshark)")
	}
	for _, name := range externalCaptures {
		file := filepath.Join(dir, name)
		checkTshark(t, file, protocolArgs(file), protocolGolden(name))
	}
}

// verdict is a datagram's classification: protocol, direction, vector and whether a reply
// carries the amplifying data.
type verdict struct {
	protocol string // "-" for none
	dir      proto.Dir
	vector   string
	data     bool
}

// TestProtocolsAgreeWithTshark decodes every UDP datagram of the real captures with the
// default table and compares its verdict with the one the protocol's rule gives from
// tshark's reading of the same headers (expectedVerdict): which protocol, request or reply,
// which vector, and for DNS and TFTP whether a reply carries data. IP fragments are left out:
// tshark reads the reassembled datagram on the last, the decoder the first and attributes the
// others to it. Every protocol of the captures must be compared at least once.
func TestProtocolsAgreeWithTshark(t *testing.T) {
	dir := externalDir(t)
	compared := map[string]int{}
	for _, name := range externalCaptures {
		t.Run(name, func(t *testing.T) {
			rows := readRows(t, protocolGolden(name), protocolFields)
			decodeEach(t, filepath.Join(dir, name), NewDecoder(nil), func(frame int, k Kind, p *Packet) {
				row, ok := rows[frame]
				if !ok || k == KindFragment || row["ip.flags.mf"] == "1" || row["ip.frag_offset"] != "0" && row["ip.frag_offset"] != "" {
					return // a fragment (IPv6's too, which the decoder attributes)
				}
				want, checked := expectedVerdict(row)
				if !checked {
					return
				}
				got := verdict{protocol: "-", dir: p.Dir}
				if k == KindMessage {
					got.protocol, got.vector, got.data = p.Proto.Name, p.Proto.VectorName(p.Vector), p.Data
				}
				if want.protocol != "dns" && want.protocol != "tftp" {
					got.data = want.data // compared for DNS and TFTP alone
				}
				if got != want {
					t.Errorf("frame %d (%s > %s): got %+v, tshark's fields give %+v", frame, row["udp.srcport"], row["udp.dstport"], got, want)
				}
				compared[want.protocol]++
			})
		})
	}
	for _, p := range []string{"dns", "netbios", "rip", "tftp", "coap", "ssdp", "wsd", "ubiquiti", "udp", "-"} {
		if compared[p] == 0 {
			t.Errorf("no datagram of %s compared", p)
		}
	}
	t.Logf("datagrams compared by protocol: %v", compared)
}

// expectedVerdict is the verdict of the protocol's rule (the comment of its classifier in
// decode/proto) applied to tshark's reading of the datagram's headers. checked is false for
// a datagram on a port of a protocol the captures do not exercise, or one tshark does not
// read as the protocol of its port.
func expectedVerdict(row map[string]string) (v verdict, checked bool) {
	sport, _ := strconv.Atoi(row["udp.srcport"])
	dport, _ := strconv.Atoi(row["udp.dstport"])
	ulen, _ := strconv.Atoi(row["udp.length"])
	n := ulen - 8
	first := func(f string) string { s, _, _ := strings.Cut(row[f], ","); return s }
	num := func(f string) int { n, _ := strconv.Atoi(first(f)); return n }
	p := proto.Default.Lookup(uint16(sport), uint16(dport))
	if p == nil {
		if s := proto.Default.Stray(n); s != nil && row["tftp.opcode"] == "3" && row["tftp.block"] == "1" && dport != 69 {
			return verdict{"tftp", proto.DirResponse, "tftp/rrq", true}, true
		}
		return verdict{protocol: "-"}, true
	}
	v = verdict{protocol: p.Name}
	req := func(vec string) { v.dir, v.vector = proto.DirRequest, vec }
	resp := func(vec string) { v.dir, v.vector = proto.DirResponse, vec }
	switch p.Name {
	case "dns":
		if row["dns.flags.opcode"] == "" {
			return v, false // not read as DNS by tshark
		}
		if first("dns.flags.opcode") != "0" || first("dns.count.queries") != "1" {
			return v, true
		}
		vec := map[int]string{255: "dns/any", 46: "dns/dnssec", 48: "dns/dnssec", 16: "dns/txt"}[num("dns.qry.type")]
		switch {
		case first("dns.flags.response") == "0" && dport == 53:
			if vec == "" && num("dns.rr.udp_payload_size") > 1232 && first("dns.count.answers") == "0" {
				vec = "dns/edns"
			}
			if vec != "" {
				req(vec)
			}
		case first("dns.flags.response") == "1" && sport == 53:
			if vec == "" && n > 1232 {
				vec = "dns/edns"
			}
			if vec != "" {
				resp(vec)
				v.data = first("dns.flags.rcode") == "0" && num("dns.count.answers") > 0 && n > 512
			}
		}
	case "netbios":
		if row["nbns.flags.opcode"] == "" {
			return v, false
		}
		response := first("nbns.flags.response") == "1"
		count := num("nbns.count.queries")
		if response {
			count = num("nbns.count.answers")
		}
		if first("nbns.flags.opcode") != "0" || count != 1 || first("nbns.type") != "33" {
			return v, true
		}
		switch {
		case !response && dport == 137:
			req("netbios/nbstat")
		case response && sport == 137:
			resp("netbios/nbstat")
		}
	case "rip":
		if row["rip.command"] == "" {
			return v, false
		}
		switch cmd := row["rip.command"]; {
		case cmd == "1" && dport == 520 && n == 24 && row["rip.family"] == "0" && row["rip.metric"] == "16":
			req("rip/request")
		case cmd == "2" && sport == 520 && dport != 520:
			resp("rip/request")
		}
	case "tftp":
		switch op := row["tftp.opcode"]; {
		case op == "1" && dport == 69:
			req("tftp/rrq")
		case op == "5" && sport == 69:
			resp("tftp/rrq")
		}
	case "coap":
		if row["coap.version"] == "" {
			return v, false
		}
		code := num("coap.code")
		switch {
		case code == 1 && dport == 5683 && row["coap.opt.uri_path"] == ".well-known,core":
			req("coap/discovery")
		case code>>5 == 2 && sport == 5683 && first("coap.opt.ctype") == "40":
			resp("coap/discovery")
		}
	case "snmp":
		if row["snmp.version"] == "" {
			return v, false
		}
		switch data, ver := row["snmp.data"], row["snmp.version"]; {
		case data == "5" && ver == "1" && dport == 161:
			req("snmp/getbulk")
		case data == "2" && (ver == "0" || ver == "1") && sport == 161:
			resp("snmp/getbulk")
		}
	case "ssdp":
		switch {
		case row["http.request.method"] == "M-SEARCH" && dport == 1900:
			req("ssdp/m-search")
		case row["http.response.code"] != "" && sport == 1900:
			resp("ssdp/m-search")
		}
	case "wsd":
		switch {
		case sport == dport:
		case dport == 3702:
			req("wsd/probe")
		case sport == 3702 && n > 0:
			resp("wsd/probe")
		}
	case "ubiquiti":
		ver, cmd, size := row["ubdp.version"], row["ubdp.command"], num("ubdp.size")
		switch {
		case sport == dport || ver == "":
		case dport == 10001 && n == 4 && size == 0 && (ver == "1" && cmd == "0" || ver == "2" && cmd == "8"):
			req("ubiquiti/discovery")
		case sport == 10001 && size > 0 && (ver == "1" && cmd == "0" || ver == "2" && (cmd == "6" || cmd == "9" || cmd == "11")):
			resp("ubiquiti/discovery")
		}
	case "udp":
		fb := func(port int) bool { return proto.Default.Lookup(uint16(port), 40000) == p }
		switch {
		case sport == dport:
		case fb(sport) && (!fb(dport) || sport < dport):
			resp("udp")
		case fb(dport):
			req("udp")
		}
	case "ntp":
		return v, false // TestAgreesWithTshark compares NTP field by field
	default:
		return v, false
	}
	return v, true
}
