package decode

import (
	"net/netip"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ntpwatch/ntpwatch/decode/proto"
)

// tsharkInnerFields are the columns of testdata/tshark/inner/*.tsv: every frame, with every
// occurrence of each field (tunnels repeat them), of which the test takes the innermost.
var tsharkInnerFields = []string{
	"frame.number", "frame.protocols", "ip.src", "ipv6.src", "udp.srcport", "ip.dst", "ipv6.dst",
	"udp.dstport", "ip.flags.mf", "ip.frag_offset",
}

// tsharkInnerArgs is the command line that made testdata/tshark/inner.
func tsharkInnerArgs(file string) []string {
	args := []string{"-n", "-r", file, "-T", "fields", "-E", "header=y", "-E", "separator=/t",
		"-E", "occurrence=a", "-E", "aggregator=,"}
	for _, f := range tsharkInnerFields {
		args = append(args, "-e", f)
	}
	return args
}

// innerGoldenName maps tunnels/zeek_erspan.pcap to testdata/tshark/inner/tunnels_zeek_erspan.tsv.
func innerGoldenName(file string) string {
	return filepath.Join("testdata", "tshark", "inner", filepath.Base(goldenName(file)))
}

// innerRow is tshark's view of one frame: its innermost UDP datagram, if that is what the
// frame carries, or why the frame is not compared.
type innerRow struct {
	protocols string
	encaps    string // the encapsulations of frame.protocols, in the NTP log's names
	udp       bool   // the innermost transport is UDP, not quoted inside an ICMP error
	fragment  bool   // an IP header of the frame is a fragment's: tshark reassembles, we do not
	src, dst  netip.Addr
	sport     uint16
	dport     uint16
}

// TestInnerAgreesWithTshark decodes every real capture, the tunnels of
// ../shared/pcaps/real/tunnels among them, and checks that the decoder reaches the innermost
// UDP datagram tshark shows in each frame, with the same addresses and ports. The decoder
// fills addresses only for datagrams on a port of its table, so the test gives it a table of
// one catch-all protocol on every innermost port that appears. A frame whose innermost layer
// is not UDP must be other traffic without a problem: decoding does not stop where tshark
// goes on.
func TestInnerAgreesWithTshark(t *testing.T) {
	for _, f := range realPcaps(t) {
		t.Run(filepath.Base(filepath.Dir(f))+"/"+filepath.Base(f), func(t *testing.T) {
			rows := readInnerGolden(t, innerGoldenName(f))
			compared := 0
			decodeEach(t, f, NewDecoder(catchAllTable(t, rows)), func(frame int, k Kind, p *Packet) {
				want, ok := rows[frame]
				if !ok {
					t.Fatalf("frame %d: not in %s", frame, innerGoldenName(f))
				}
				if got := encapKinds(&p.Encap); !want.fragment && got != want.encaps {
					t.Errorf("frame %d (%s): encapsulations %q, tshark %q", frame, want.protocols, got, want.encaps)
				}
				switch {
				case want.fragment:
					// tshark reassembles fragmented datagrams and tunnel packets at their last
					// fragment; the decoder reads a first fragment's headers and counts a
					// fragmented tunnel as a problem.
				case want.udp && (slices.Contains(proto.TunnelPorts, want.dport) || want.sport == portGTPU):
					if k != KindOther || p.Problem != ProblemNone {
						t.Errorf("frame %d (%s): kind %d problem %s, want a tunnel's own message", frame, want.protocols, k, p.Problem)
					}
				case want.udp:
					compared++
					if k != KindMessage || p.Src != want.src || p.Dst != want.dst || p.SrcPort != want.sport || p.DstPort != want.dport {
						t.Errorf("frame %d (%s): kind %d problem %s %v:%d > %v:%d, tshark %v:%d > %v:%d", frame, want.protocols,
							k, p.Problem, p.Src, p.SrcPort, p.Dst, p.DstPort, want.src, want.sport, want.dst, want.dport)
					}
				default:
					if k != KindOther || p.Problem != ProblemNone {
						t.Errorf("frame %d (%s): kind %d problem %s, want other traffic", frame, want.protocols, k, p.Problem)
					}
				}
			})
			t.Logf("%d frames, %d inner UDP datagrams compared", len(rows), compared)
		})
	}
}

// catchAllTable is a protocol table of one protocol on every innermost UDP port of rows but
// the tunnels' own, which no protocol may claim.
func catchAllTable(t *testing.T, rows map[int]innerRow) *proto.Table {
	var ports []uint16
	for _, r := range rows {
		for _, port := range []uint16{r.sport, r.dport} {
			if r.udp && !slices.Contains(proto.TunnelPorts, port) && !slices.Contains(ports, port) {
				ports = append(ports, port)
			}
		}
	}
	if len(ports) == 0 {
		ports = []uint16{proto.NTPPort}
	}
	slices.Sort(ports)
	tab, err := proto.NewTable(&proto.Protocol{Name: "any", Ports: ports, Classify: func(*proto.Message) {},
		Vectors: []proto.Vector{{Name: "any", Remediation: "none: a test protocol"}}})
	if err != nil {
		t.Fatal(err)
	}
	return tab
}

// readInnerGolden reads tshark's rows, by frame number.
func readInnerGolden(t *testing.T, name string) map[int]innerRow {
	rows := map[int]innerRow{}
	for _, cols := range readTSV(t, name, tsharkInnerFields) {
		n, _ := strconv.Atoi(cols[0])
		rows[n] = innerRowOf(t, cols)
	}
	return rows
}

// tsharkEncaps maps tshark's protocol names to the encapsulations they are.
var tsharkEncaps = map[string]string{
	"vlan": "vlan", "pppoes": "pppoe", "mpls": "mpls", "pwethcw": "pw", "gre": "gre", "erspan": "erspan",
	"vxlan": "vxlan", "geneve": "geneve", "gtp": "gtpu",
}

// encapsOf lists the encapsulations of tshark's frame.protocols, a run of the same kind once:
// the names of tsharkEncaps, GTP only when it carries a packet (GTP-C has the same name), and
// IP directly inside IP as ipip or ip6ip by the inner version.
func encapsOf(layers []string) string {
	var out []string
	for i, l := range layers {
		e := tsharkEncaps[l]
		if l == "gtp" && i == len(layers)-1 {
			e = ""
		}
		if i > 0 && (layers[i-1] == "ip" || layers[i-1] == "ipv6") {
			switch l {
			case "ip":
				e = "ipip"
			case "ipv6":
				e = "ip6ip"
			}
		}
		if e != "" && (len(out) == 0 || out[len(out)-1] != e) {
			out = append(out, e)
		}
	}
	return strings.Join(out, ",")
}

// encapKinds lists the kinds of e, a run of the same kind once, as encapsOf does.
func encapKinds(e *Encap) string {
	var out []string
	for i := range e.Len() {
		k, _, _ := e.At(i)
		if len(out) == 0 || out[len(out)-1] != k.String() {
			out = append(out, k.String())
		}
	}
	return strings.Join(out, ",")
}

// innerRowOf reads one row: the innermost network layer is the last ip or ipv6 of
// frame.protocols, its datagram UDP when a udp follows it with no ICMP error in between.
func innerRowOf(t *testing.T, cols []string) innerRow {
	r := innerRow{protocols: cols[1]}
	layers := strings.Split(cols[1], ":")
	r.encaps = encapsOf(layers)
	inner := -1
	for i, l := range layers {
		if l == "ip" || l == "ipv6" {
			inner = i
		}
	}
	last := func(col string) string {
		v := strings.Split(col, ",")
		return v[len(v)-1]
	}
	for _, mf := range strings.Split(cols[8], ",") {
		r.fragment = r.fragment || mf == "1" || mf == "True"
	}
	for _, off := range strings.Split(cols[9], ",") {
		r.fragment = r.fragment || (off != "" && off != "0")
	}
	if inner < 0 || slices.Contains(layers[:inner], "icmp") || slices.Contains(layers[:inner], "icmpv6") ||
		inner+1 >= len(layers) || layers[inner+1] != "udp" {
		return r
	}
	r.udp = true
	srcCol, dstCol := cols[2], cols[5]
	if layers[inner] == "ipv6" {
		srcCol, dstCol = cols[3], cols[6]
	}
	var err error
	if r.src, err = netip.ParseAddr(last(srcCol)); err != nil {
		t.Fatalf("%v: %v", cols, err)
	}
	if r.dst, err = netip.ParseAddr(last(dstCol)); err != nil {
		t.Fatalf("%v: %v", cols, err)
	}
	sport, _ := strconv.Atoi(last(cols[4]))
	dport, _ := strconv.Atoi(last(cols[7]))
	r.sport, r.dport = uint16(sport), uint16(dport)
	return r
}
