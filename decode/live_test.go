package decode

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcap"
	"github.com/ntpwatch/ntpwatch/decode/proto"
	"github.com/ntpwatch/ntpwatch/internal/testutil"
)

// defaultBPF compiles DefaultBPF for offline matching, as a filter on a capture file sees
// frames: every VLAN tag still in the data.
func defaultBPF(t *testing.T, link LinkType) *pcap.BPF {
	t.Helper()
	f, err := pcap.NewBPF(layers.LinkType(link), DefaultSnaplen, DefaultBPF)
	if err != nil {
		t.Fatalf("compile DefaultBPF for %s: %v", link, err)
	}
	return f
}

// TestDefaultBPFFrames checks what DefaultBPF passes, frame by frame: NTP untagged and under
// one or two tags of each TPID libpcap knows, the fragments the decoder attributes, and the
// tunnels it reads.
func TestDefaultBPFFrames(t *testing.T) {
	ntp := []byte{0x17, 0, 3, 42, 0, 0, 0, 0} // an 8-byte MON_GETLIST_1 request
	v4 := testutil.UDP(testutil.V4Client, testutil.V4Server, 40000, 123, ntp)
	v6 := testutil.UDP(testutil.V6Client, testutil.V6Server, 40000, 123, ntp)
	reply := testutil.UDP(testutil.V4Server, testutil.V4Client, 123, 40000, ntp)
	quic := testutil.UDP(testutil.V4Client, testutil.V4Server, 40000, 443, ntp)
	dns := testutil.UDP(testutil.V4Client, testutil.V4Server, 40000, 53, ntp)
	slp := testutil.UDP(testutil.V4Server, testutil.V4Client, 427, 40000, ntp)
	tftp := testutil.UDP(testutil.V4Server, testutil.V4Client, 50123, 40000, append([]byte{0, 3, 0, 1}, make([]byte, 512)...))
	tftp6 := testutil.UDP(testutil.V6Server, testutil.V6Client, 50123, 40000, append([]byte{0, 3, 0, 1}, make([]byte, 512)...))
	other := testutil.UDP(testutil.V4Server, testutil.V4Client, 50123, 40000, make([]byte, 515))
	tcp := testutil.IPv4(testutil.V4Client, testutil.V4Server, 6, 1, 0, make([]byte, 20))
	frag := testutil.IPv4(testutil.V4Server, testutil.V4Client, 17, 7, 185, make([]byte, 64)) // offset 1480
	frag6 := testutil.IPv6(testutil.V6Server, testutil.V6Client, 44, make([]byte, 64))
	cases := []struct {
		name  string
		frame []byte
		want  bool
	}{
		{"IPv4 request", testutil.Ethernet(v4), true},
		{"IPv4 reply", testutil.Ethernet(reply), true},
		{"IPv6 request", testutil.Ethernet(v6), true},
		{"802.1Q", testutil.Ethernet(v4, 0x8100, 10), true},
		{"802.1ad", testutil.Ethernet(v4, 0x88a8, 10), true},
		{"QinQ 802.1ad+802.1Q", testutil.Ethernet(v4, 0x88a8, 100, 0x8100, 10), true},
		{"QinQ 0x9100+802.1Q IPv6", testutil.Ethernet(v6, 0x9100, 100, 0x8100, 10), true},
		{"IPv4 non-first fragment", testutil.Ethernet(frag), true},
		{"IPv4 fragment under QinQ", testutil.Ethernet(frag, 0x88a8, 100, 0x8100, 10), true},
		{"IPv6 fragment", testutil.Ethernet(frag6), true},
		{"QUIC", testutil.Ethernet(quic), false},
		{"QUIC under 802.1Q", testutil.Ethernet(quic, 0x8100, 10), false},
		{"DNS", testutil.Ethernet(dns), true},
		{"DNS under 802.1Q", testutil.Ethernet(dns, 0x8100, 10), true},
		{"the fallback's port 427", testutil.Ethernet(slp), true},
		{"TFTP's first block from its transfer port", testutil.Ethernet(tftp), true},
		{"TFTP's first block over IPv6 under 802.1Q", testutil.Ethernet(tftp6, 0x8100, 10), true},
		{"515 bytes between high ports", testutil.Ethernet(other), false},
		{"TCP", testutil.Ethernet(tcp), false},
		// Tunnels: the filter cannot reach their inner ports, so it passes them whole.
		{"GRE", testutil.Ethernet(outer4(ipProtoGRE, gre(0, etherTypeIPv4, v4))), true},
		{"ERSPAN type II under 802.1Q", testutil.Ethernet(outer4(ipProtoGRE, gre(greSequence, etherTypeERSPAN, cat(make([]byte, 8), testutil.Ethernet(v4)), 1)), 0x8100, 10), true},
		{"GRE over IPv6", testutil.Ethernet(outer6(ipProtoGRE, gre(0, etherTypeIPv6, v6))), true},
		{"IP in IP under QinQ", testutil.Ethernet(outer4(ipProtoIPIP, v4), 0x88a8, 100, 0x8100, 10), true},
		{"IPv6 in IPv4", testutil.Ethernet(outer4(ipProtoIPv6, v6)), true},
		{"IPv6 in IPv6", testutil.Ethernet(outer6(ipProtoIPv6, v6)), true},
		{"EtherIP", testutil.Ethernet(outer4(ipProtoEtherIP, cat([]byte{0x30, 0}, testutil.Ethernet(v4)))), true},
		{"VXLAN", testutil.Ethernet(udpTo(portVXLAN, vxlan(1, testutil.Ethernet(v4)))), true},
		{"Geneve under 802.1Q", testutil.Ethernet(udpTo(portGeneve, cat([]byte{0, 0, 0x65, 0x58}, u32(0), testutil.Ethernet(v4))), 0x8100, 10), true},
		{"GTP-U", testutil.Ethernet(udpTo(portGTPU, gtpuPDU(1, v4))), true},
		{"MPLS", ether(etherTypeMPLS, cat(mplsLabel(16, true), v4)), true},
		{"MPLS under 802.1Q", ether(etherTypeMPLS, cat(mplsLabel(16, true), v4), 0x8100, 10), true},
		{"PPPoE session under QinQ", ether(etherTypePPPoESession, pppoe(1, 0x0021, v4), 0x88a8, 100, 0x8100, 10), true},
		{"PPPoE discovery", ether(0x8863, make([]byte, 20)), false},
		{"QUIC from VXLAN's port", testutil.Ethernet(testutil.UDP(testutil.V4Client, testutil.V4Server, portVXLAN, 443, ntp)), false},
	}
	f := defaultBPF(t, LinkTypeEthernet)
	for _, tc := range cases {
		if got := f.Matches(captureInfoOf(frameOf(tc.frame, LinkTypeEthernet)), tc.frame); got != tc.want {
			t.Errorf("%s: DefaultBPF matches %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestDefaultBPFKeepsWhatTheDecoderNeeds runs the default filter over the sample and the real
// captures: every frame the decoder makes something of (NTP, a malformed port-123 datagram,
// an attributed fragment) must pass the filter, so a live capture sees what a file shows.
// The samples hold the reflection through every tunnel and mirror session the decoder reads;
// the real captures' tunnels carry no NTP, so there the decoder and the filter get the test
// table of TestInnerAgreesWithTshark, on every port whose datagrams tshark finds inside, and
// every datagram the decoder reaches inside a tunnel must pass Filter of that table.
func TestDefaultBPFKeepsWhatTheDecoderNeeds(t *testing.T) {
	t.Run("samples", func(t *testing.T) {
		files, _ := filepath.Glob("../pcaps/*.pcap*")
		if len(files) == 0 {
			t.Skip("no sample captures in ../pcaps")
		}
		checkFilter(t, files, func(string) *proto.Table { return proto.Default })
	})
	t.Run("real", func(t *testing.T) {
		checkFilter(t, realPcaps(t), func(file string) *proto.Table {
			return catchAllTable(t, readInnerGolden(t, innerGoldenName(file)))
		})
	})
}

// checkFilter matches every frame of files against FilterFor the table tableOf gives for the
// file and the frame's link type. That it rejects other traffic is TestDefaultBPFFrames' part:
// the captures hold little besides NTP. NFLOG frames, which have no filter, and SLL2 frames,
// which gopacket's 8-bit link type cannot name to libpcap, are left out, and counted.
func checkFilter(t *testing.T, files []string, tableOf func(file string) *proto.Table) {
	kept, rejected, skipped := 0, 0, 0
	for _, name := range files {
		src, err := Open(name)
		if err != nil {
			t.Fatal(err)
		}
		table := tableOf(name)
		filters := map[LinkType]*pcap.BPF{}
		dec := NewDecoder(table)
		var p Packet
		var fr Frame
		for i := 1; ; i++ {
			err := src.Next(&fr)
			if err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, ErrTruncated) {
					t.Errorf("%s: %v", name, err)
				}
				break
			}
			f, ok := filters[fr.Link]
			if !ok {
				if expr := FilterFor(table, fr.Link); expr != "" {
					if f, err = pcap.NewBPF(layers.LinkType(fr.Link), DefaultSnaplen, expr); err != nil {
						t.Fatalf("%s: the filter for %s does not compile: %v", name, fr.Link, err)
					}
				}
				filters[fr.Link] = f // nil: no filter, as libpcap cannot filter NFLOG
			}
			if f == nil || fr.Link > 255 {
				skipped++
				continue
			}
			match := f.Matches(captureInfoOf(&fr), fr.Data)
			if kind := dec.Decode(&fr, &p); kind != KindOther && !match {
				t.Errorf("%s frame %d: %s %v:%d > %v:%d (%s) is not matched by the filter", name, i, kindName(kind),
					p.Src, p.SrcPort, p.Dst, p.DstPort, p.Encap.AppendJSON(nil))
			}
			if match {
				kept++
			} else {
				rejected++
			}
		}
		src.Close()
	}
	t.Logf("%d captures: the filter kept %d frames, rejected %d; %d frames left out", len(files), kept, rejected, skipped)
}

// TestFilterForEveryLinkType: the default filter compiles for every link type the decoder
// reads, as a live capture on such an interface (a Linux "any" capture is SLL, a ppp0 may be
// PPP) needs it to.
func TestFilterForEveryLinkType(t *testing.T) {
	for l := range linkTypeNames {
		expr := FilterFor(proto.Default, l)
		if l == LinkTypeNFLOG || l > 255 || l == LinkTypeRaw || l == LinkTypeRawOpenBSD {
			// No filter; gopacket's 8-bit link type cannot name SLL2; libpcap on Linux takes
			// raw IP as DLT_RAW, 12, not as the file format's 101 or OpenBSD's 14.
			continue
		}
		if _, err := pcap.NewBPF(layers.LinkType(l), DefaultSnaplen, expr); err != nil {
			t.Errorf("%s: %v", l, err)
		}
	}
	if FilterFor(proto.Default, LinkTypeNFLOG) != "" {
		t.Error("a filter for NFLOG, which libpcap cannot filter")
	}
}

func kindName(k Kind) string {
	return [...]string{"other", "ntp", "malformed", "fragment"}[k]
}

func TestInsertVLANTag(t *testing.T) {
	frame := testutil.Ethernet(testutil.UDP(testutil.V4Client, testutil.V4Server, 40000, 123, []byte{0x17, 0, 3, 42, 0, 0, 0, 0}))
	got := insertVLANTag(nil, frame, 0x2064) // priority 1, VLAN 100
	want := testutil.Ethernet(testutil.UDP(testutil.V4Client, testutil.V4Server, 40000, 123, []byte{0x17, 0, 3, 42, 0, 0, 0, 0}), 0x8100, 0x2064)
	if !bytes.Equal(got, want) {
		t.Fatalf("insertVLANTag:\n got %x\nwant %x", got, want)
	}
	var p Packet
	if kind := NewDecoder(nil).Decode(frameOf(got, LinkTypeEthernet), &p); kind != KindMessage || p.VLAN != 100 {
		t.Errorf("decoded %s VLAN %d, want ntp VLAN 100", kindName(kind), p.VLAN)
	}
	if short := insertVLANTag(nil, frame[:6], 1); !bytes.Equal(short, frame[:6]) {
		t.Errorf("a frame shorter than the MAC addresses changed: %x", short)
	}
}

func TestOpenLiveErrors(t *testing.T) {
	cases := []struct {
		name string
		cfg  LiveConfig
		want []string // in the error, which is one line
	}{
		{"no such interface", LiveConfig{Interface: "nosuch0"}, []string{"nosuch0", "no such network interface"}},
		{"unknown engine", LiveConfig{Interface: "lo", Engine: "dpdk"}, []string{"lo", `engine "dpdk"`}},
		{"pcap workers", LiveConfig{Interface: "lo", Workers: 4}, []string{"workers 4", "afpacket"}},
		{"too many workers", LiveConfig{Interface: "lo", Engine: EngineAFPacket, Workers: 1000}, []string{"workers 1000"}},
		{"snaplen", LiveConfig{Interface: "lo", Snaplen: 10}, []string{"snaplen 10"}},
	}
	for _, tc := range cases {
		_, err := OpenLive(tc.cfg)
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not say %q", tc.name, err, w)
			}
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error is not one line: %q", tc.name, err)
		}
	}
}

// requireLive skips a test that needs to capture when the process may not, unless
// NTPWATCH_REQUIRE_LIVE=1 (CI, as root) makes that a failure.
func requireLive(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if errors.Is(err, ErrCapturePermission) && os.Getenv("NTPWATCH_REQUIRE_LIVE") != "1" {
		t.Skipf("cannot capture here (%v); run as root, or set NTPWATCH_REQUIRE_LIVE=1 to fail instead", err)
	}
	t.Fatal(err)
}

// TestLiveLoopbackOnce sends datagrams across the loopback interface and checks that each
// engine sees every one exactly once with its true length: the kernel hands AF_PACKET sockets
// every frame sent on lo twice, outgoing and incoming. The traffic goes to a port of its
// own, so the loopback tests of cmd/ntpwatch (port 123) running at the same time do not mix in.
func TestLiveLoopbackOnce(t *testing.T) {
	for _, engine := range []string{EnginePcap, EngineAFPacket} {
		t.Run(engine, func(t *testing.T) {
			sink, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
			if err != nil {
				t.Fatal(err)
			}
			defer sink.Close()
			port := sink.LocalAddr().(*net.UDPAddr).Port
			cfg := LiveConfig{Interface: "lo", Engine: engine, BPF: "udp and dst port " + strconv.Itoa(port)}
			if engine == EngineAFPacket {
				cfg.Workers = 2
			}
			srcs, err := OpenLive(cfg)
			requireLive(t, err)
			const n = 200
			conn, err := net.DialUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 3)}, sink.LocalAddr().(*net.UDPAddr))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			wantBytes := 0
			for i := range n {
				payload := make([]byte, 8+i%100)
				if _, err := conn.Write(payload); err != nil {
					t.Fatal(err)
				}
				wantBytes += 14 + 20 + 8 + len(payload)
			}
			var mu sync.Mutex
			frames, wire := 0, 0
			var drops uint64
			var wg sync.WaitGroup
			for _, src := range srcs {
				wg.Go(func() {
					defer src.Close()
					dec := NewDecoder(nil)
					var p Packet
					quiet := 0
					// Read until the link stays quiet for ten timeouts in a row: all n
					// frames were sent before reading started.
					var fr Frame
					for quiet < 10 {
						err := src.Next(&fr)
						if errors.Is(err, ErrTimeout) {
							quiet++
							continue
						}
						if err != nil {
							t.Error(err)
							return
						}
						quiet = 0
						// Not port 123, so the decoder sets only the time and the
						// wire length (KindOther), which is what is counted here.
						dec.Decode(&fr, &p)
						mu.Lock()
						frames++
						wire += int(p.WireLen)
						mu.Unlock()
					}
					cs, err := src.CaptureStats()
					if err != nil {
						t.Error(err)
					}
					mu.Lock()
					drops += cs.Dropped
					mu.Unlock()
				})
			}
			wg.Wait()
			if frames != n || wire != wantBytes {
				t.Errorf("captured %d frames of %d wire bytes, want %d of %d", frames, wire, n, wantBytes)
			}
			if drops != 0 {
				t.Errorf("kernel dropped %d frames", drops)
			}
		})
	}
}

// TestLiveTimeout checks that a quiet link returns ErrTimeout rather than blocking, so that a
// reader can hand over what it holds and notice a shutdown.
func TestLiveTimeout(t *testing.T) {
	for _, engine := range []string{EnginePcap, EngineAFPacket} {
		t.Run(engine, func(t *testing.T) {
			// A filter nothing on lo matches: the port is reserved by a socket nobody sends to.
			l, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			port := strconv.Itoa(l.LocalAddr().(*net.UDPAddr).Port)
			srcs, err := OpenLive(LiveConfig{Interface: "lo", Engine: engine, BPF: "udp port " + port, Timeout: 20 * time.Millisecond})
			requireLive(t, err)
			defer srcs[0].Close()
			done := make(chan error, 1)
			go func() {
				var fr Frame
				done <- srcs[0].Next(&fr)
			}()
			select {
			case err := <-done:
				if !errors.Is(err, ErrTimeout) {
					t.Errorf("Next on a quiet link: %v, want ErrTimeout", err)
				}
			case <-time.After(10 * time.Second): // a hang guard, not a timing assertion
				t.Fatal("Next blocked on a quiet link")
			}
		})
	}
}

// captureInfoOf is f as gopacket's offline BPF matcher takes it.
func captureInfoOf(f *Frame) gopacket.CaptureInfo {
	return gopacket.CaptureInfo{Timestamp: f.Time, CaptureLength: len(f.Data), Length: f.WireLen}
}
