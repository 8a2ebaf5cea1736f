package decode

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ntpwatch/ntpwatch/internal/setting"
	"github.com/ntpwatch/ntpwatch/internal/testutil"
)

// frameList is a Source of frames held in memory.
type frameList struct {
	frames []Frame
	i      int
}

func (l *frameList) Next(f *Frame) error {
	if l.i == len(l.frames) {
		return io.EOF
	}
	*f = l.frames[l.i]
	l.i++
	return nil
}
func (l *frameList) Name() string { return "memory" }
func (l *frameList) Close() error { return nil }

// countPassed reads src to its end and returns the frames it handed over.
func countPassed(t *testing.T, src Source) int {
	t.Helper()
	n, err := selectedFrames(src)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// selectedFrames reads src to its end, a truncation included, and returns the frames it handed over.
func selectedFrames(src Source) (int, error) {
	n := 0
	var f Frame
	for {
		err := src.Next(&f)
		switch {
		case err == io.EOF || errors.Is(err, ErrTruncated):
			return n, nil
		case err != nil:
			return n, err
		}
		n++
	}
}

// TestSelectAsTcpdump runs filters on the real captures, whose link types include Ethernet
// with and without 802.1Q tags, Linux SLL and BSD loopback, and compares the frames passed
// with those tcpdump -r passes with the same expression.
func TestSelectAsTcpdump(t *testing.T) {
	tcpdump, err := exec.LookPath("tcpdump")
	if err != nil {
		t.Skip("tcpdump is not installed (Debian package tcpdump)")
	}
	filters := []string{
		"udp port 123",
		"udp and src port 123",
		"ip6",
		"vlan and udp",
		"udp[8] & 7 == 3", // NTP mode 3 (client) over IPv4 without options
		"net 127.0.0.0/8 or host ::1",
		"greater 200",
	}
	compared, matched := 0, 0
	for _, file := range realPcaps(t) {
		for _, expr := range filters {
			src, err := Open(file)
			if err != nil {
				t.Fatal(err)
			}
			sel, err := Select(src, Selection{Filter: expr})
			if err != nil {
				src.Close()
				t.Fatalf("%s: %v", expr, err)
			}
			got, selErr := selectedFrames(sel)
			sel.Close()
			cmd := exec.Command(tcpdump, "-r", file, "--count", expr)
			msg, err := cmd.CombinedOutput()
			if strings.Contains(string(msg), "pcap_loop:") {
				// libpcap cannot read some pcapng files (interfaces of different snaplens):
				// there is nothing to compare with.
				t.Logf("%s: tcpdump cannot read it, not compared", filepath.Base(file))
				break
			}
			if err != nil {
				// tcpdump refuses an expression for a link type that cannot carry it (vlan
				// on SLL): Select must refuse it too, naming the link type.
				if selErr == nil || !strings.Contains(selErr.Error(), "frames: ") {
					t.Errorf("%s %q: tcpdump refuses it (%s), Select gives %d frames and error %v",
						filepath.Base(file), expr, lastLine(msg), got, selErr)
				}
				continue
			}
			if selErr != nil {
				t.Fatalf("%s %q: %v", filepath.Base(file), expr, selErr)
			}
			var want int
			if _, err := fmt.Sscanf(lastLine(msg), "%d packet", &want); err != nil {
				t.Fatalf("tcpdump --count: %q", msg)
			}
			if got != want {
				t.Errorf("%s %q: %d frames passed, tcpdump passes %d", filepath.Base(file), expr, got, want)
			}
			compared++
			matched += want
		}
	}
	if compared < 50 || matched == 0 {
		t.Errorf("only %d comparisons with tcpdump (%d frames passed): too few to show anything", compared, matched)
	}
}

func lastLine(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return lines[len(lines)-1]
}

// TestSelectSLL2 checks that a frame of LINKTYPE_LINUX_SLL2, which the filter sees through
// an SLL header, gets the verdict of the same frame in SLL.
func TestSelectSLL2(t *testing.T) {
	ip := testutil.UDP(netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("198.51.100.5"), 40000, 123, make([]byte, 48))
	sll := binary.BigEndian.AppendUint16(nil, 4) // outgoing
	sll = binary.BigEndian.AppendUint16(sll, 1)  // ARPHRD_ETHER
	sll = binary.BigEndian.AppendUint16(sll, 6)
	sll = append(sll, 0, 0, 0x5e, 0, 0x53, 1, 0, 0)
	sll = binary.BigEndian.AppendUint16(sll, 0x0800)
	sll2 := binary.BigEndian.AppendUint16(nil, 0x0800)
	sll2 = append(sll2, 0, 0, 0, 0, 0, 7) // reserved, interface index 7
	sll2 = binary.BigEndian.AppendUint16(sll2, 1)
	sll2 = append(sll2, 4, 6, 0, 0, 0x5e, 0, 0x53, 1, 0, 0)
	frames := []Frame{
		{Data: append(sll, ip...), Link: LinkTypeLinuxSLL, WireLen: len(sll) + len(ip)},
		{Data: append(sll2, ip...), Link: LinkTypeLinuxSLL2, WireLen: len(sll2) + len(ip)},
	}
	for _, tc := range []struct {
		expr string
		want bool
	}{
		{"udp port 123", true}, {"src host 192.0.2.1", true}, {"outbound", true}, {"inbound", false},
		{"tcp", false}, {"ip6", false},
		{"len == 92", true}, // the SLL frame's wire length: SLL2's 4 more header bytes are not counted
	} {
		for _, fr := range frames {
			sel, err := Select(&frameList{frames: []Frame{fr}}, Selection{Filter: tc.expr})
			if err != nil {
				t.Fatal(err)
			}
			if got := countPassed(t, sel) == 1; got != tc.want {
				t.Errorf("%s on %s: passed %v, want %v", tc.expr, fr.Link, got, tc.want)
			}
		}
	}
}

// TestSelectCountAndWindow checks -c and the time window, and that Skipped counts what the
// window and the filter refused.
func TestSelectCountAndWindow(t *testing.T) {
	t0 := time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)
	client, server := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("198.51.100.5")
	var frames []Frame
	for i := range 10 {
		port := uint16(123)
		if i%2 == 1 {
			port = 53
		}
		data := testutil.Ethernet(testutil.UDP(client, server, 40000, port, make([]byte, 48)))
		frames = append(frames, Frame{Data: data, WireLen: len(data), Link: LinkTypeEthernet, Time: t0.Add(time.Duration(i) * time.Second)})
	}
	cases := []struct {
		name          string
		sel           Selection
		passed, skips int
	}{
		{"nothing", Selection{}, 10, 0},
		{"count", Selection{Count: 3}, 3, 0},
		{"start", Selection{Start: t0.Add(5 * time.Second)}, 5, 5},
		{"end", Selection{End: t0.Add(5 * time.Second)}, 5, 5}, // the end is excluded
		{"window", Selection{Start: t0.Add(2 * time.Second), End: t0.Add(4 * time.Second)}, 2, 8},
		{"filter", Selection{Filter: "udp port 123"}, 5, 5},
		{"filter and count", Selection{Filter: "udp port 53", Count: 2}, 2, 2}, // stops at the 2nd match
		{"all of them", Selection{Filter: "udp port 123", Start: t0.Add(time.Second), Count: 2}, 2, 3},
	}
	for _, tc := range cases {
		sel, err := Select(&frameList{frames: frames}, tc.sel)
		if err != nil {
			t.Fatal(err)
		}
		if got := countPassed(t, sel); got != tc.passed || int(sel.Skipped()) != tc.skips {
			t.Errorf("%s: %d passed, %d skipped; want %d and %d", tc.name, got, sel.Skipped(), tc.passed, tc.skips)
		}
	}
}

// TestSelectBadFilter checks that an expression libpcap cannot read, or a window that ends
// before it starts, is a setting error at once.
func TestSelectBadFilter(t *testing.T) {
	t0 := time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		sel Selection
		key string
	}{
		{Selection{Filter: "udp prot 123"}, "bpf"},
		{Selection{Start: t0, End: t0}, "end"},
	} {
		_, err := Select(&frameList{}, tc.sel)
		var se *setting.Error
		if !errors.As(err, &se) || se.Key != tc.key || strings.Contains(err.Error(), "\n") {
			t.Errorf("%+v: error %v, want one line keyed %s", tc.sel, err, tc.key)
		}
	}
}

// BenchmarkSelectFilter is the cost of a filter per frame.
func BenchmarkSelectFilter(b *testing.B) {
	data := testutil.Ethernet(testutil.UDP(netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("198.51.100.5"), 40000, 123, make([]byte, 48)))
	frames := make([]Frame, 1024)
	for i := range frames {
		frames[i] = Frame{Data: data, WireLen: len(data), Link: LinkTypeEthernet}
	}
	src := &frameList{frames: frames}
	sel, err := Select(src, Selection{Filter: "udp port 123"})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	var f Frame
	for b.Loop() {
		if sel.Next(&f) == io.EOF {
			src.i = 0
		}
	}
}
