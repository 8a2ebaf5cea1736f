package scenario_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/gopacket/layers"

	"github.com/ntpwatch/ntpwatch/decode"
	"github.com/ntpwatch/ntpwatch/internal/scenario"
)

func find(t *testing.T, name string) *scenario.Scenario {
	t.Helper()
	s, err := scenario.Find(name)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestDeterministic checks that a seed gives the same bytes twice and another seed others.
func TestDeterministic(t *testing.T) {
	s := find(t, "reflection")
	write := func(seed uint64) []byte {
		var b bytes.Buffer
		if err := scenario.Write(&b, s.Frames(seed), s.Link(), scenario.PCAP, 0); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	if a, b := write(7), write(7); !bytes.Equal(a, b) {
		t.Error("the same seed wrote different captures")
	}
	if a, b := write(7), write(8); bytes.Equal(a, b) {
		t.Error("different seeds wrote the same capture")
	}
	if _, err := scenario.Find("reflection7"); err == nil {
		t.Error("Find found a scenario that does not exist")
	}
}

// TestWriteFormats writes a scenario in every format, compressed or not, with a snaplen,
// and reads it back with ntpwatch's reader: the same frames, cut to the snaplen, with their
// wire lengths and their times to the format's resolution.
func TestWriteFormats(t *testing.T) {
	s := find(t, "reflection6")
	frames := s.Frames(1)
	const snaplen = 100
	for _, tc := range []struct {
		format scenario.Format
		name   string
		tick   time.Duration
	}{
		{scenario.PCAP, "x.pcap", time.Microsecond},
		{scenario.PCAPNanos, "x.pcap.gz", time.Nanosecond},
		{scenario.PCAPNG, "x.pcapng", time.Nanosecond},
		{scenario.PCAPNG, "x.pcapng.gz", time.Nanosecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), tc.name)
			if err := scenario.WriteFile(path, frames, s.Link(), tc.format, snaplen); err != nil {
				t.Fatal(err)
			}
			src, err := decode.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			var f decode.Frame
			n := 0
			for ; ; n++ {
				err := src.Next(&f)
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				want := frames[n]
				if !f.Time.Equal(want.Time.Truncate(tc.tick)) || f.WireLen != len(want.Data) ||
					!bytes.Equal(f.Data, want.Data[:min(snaplen, len(want.Data))]) || f.Link != decode.LinkTypeEthernet {
					t.Fatalf("frame %d: %v, %d of %d bytes, link %v; want %v, %d bytes", n,
						f.Time, len(f.Data), f.WireLen, f.Link, want.Time, len(want.Data))
				}
			}
			if n != len(frames) {
				t.Errorf("read %d frames, wrote %d", n, len(frames))
			}
		})
	}
	if err := scenario.Write(io.Discard, frames, s.Link(), "pcap-us", 0); err == nil {
		t.Error("an unknown format was written")
	}
}

// TestChecksums checks every frame of every Ethernet scenario with an Internet checksum
// computed here (RFC 1071): the outer IPv4 header, and the UDP checksum over the IPv6
// pseudo-header (RFC 8200 section 8.1), which tools such as tshark flag when it is wrong.
// What lies inside tunnels, and frames of other link types, TestSamplesAgreeWithTshark checks.
func TestChecksums(t *testing.T) {
	for _, s := range scenario.All() {
		if s.Link() != layers.LinkTypeEthernet {
			continue
		}
		for i, f := range s.Frames(1) {
			b := f.Data[12:]
			for binary.BigEndian.Uint16(b) == 0x8100 || binary.BigEndian.Uint16(b) == 0x88a8 {
				b = b[4:]
			}
			etherType, ip := binary.BigEndian.Uint16(b), b[2:]
			switch etherType {
			case 0x0800:
				if sum := onesSum(ip[:20]); sum != 0xffff {
					t.Fatalf("%s frame %d: IPv4 header sums to %#04x", s.Name, i, sum)
				}
			case 0x86dd:
				if ip[6] != 17 {
					break // GRE over IPv6 has no checksum of its own
				}
				udpLen := int(binary.BigEndian.Uint16(ip[4:]))
				pseudo := append(append([]byte(nil), ip[8:40]...), 0, 0, byte(udpLen>>8), byte(udpLen), 0, 0, 0, 17)
				if sum := onesSum(append(pseudo, ip[40:40+udpLen]...)); sum != 0xffff {
					t.Fatalf("%s frame %d: UDP over IPv6 sums to %#04x", s.Name, i, sum)
				}
			case 0x8847, 0x8864: // MPLS, PPPoE: IP inside, which tshark checks
			default:
				t.Fatalf("%s frame %d: ether type %#04x", s.Name, i, etherType)
			}
			if len(f.Data) < 60 {
				t.Fatalf("%s frame %d: %d bytes, below the Ethernet minimum", s.Name, i, len(f.Data))
			}
		}
	}
}

// TestSamplesAgreeWithTshark writes every scenario with whole frames and has tshark read it,
// checksums verified: every frame must be an NTP message to tshark too, through whatever
// tunnel or link carries it, with no bad IPv4, UDP or GRE checksum and nothing malformed.
// Wireshark guesses whether an MPLS pseudowire has a control word, and guesses wrong for the
// frames of reflection_mpls_pw, so it is told, as a user would tell it (Decode As).
func TestSamplesAgreeWithTshark(t *testing.T) {
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark not on PATH (Debian package tshark)")
	}
	dir := t.TempDir()
	for _, s := range scenario.All() {
		t.Run(s.Name, func(t *testing.T) {
			frames := s.Frames(1)
			path := filepath.Join(dir, s.Name+".pcap")
			if err := scenario.WriteFile(path, frames, s.Link(), scenario.PCAP, 0); err != nil {
				t.Fatal(err)
			}
			count := func(filter string) int {
				out, err := exec.Command("tshark", "-n", "-r", path, "-o", "ip.check_checksum:TRUE",
					"-o", "udp.check_checksum:TRUE", "-d", "mpls.label==299776,pwethcw",
					"-d", "mpls.label==299777,pwethcw", "-Y", filter).Output()
				if err != nil {
					t.Fatalf("tshark -Y %q: %v", filter, err)
				}
				return bytes.Count(out, []byte("\n"))
			}
			filter := s.Tshark
			if filter == "" {
				filter = "ntp"
			}
			if n := count(filter); n != len(frames) {
				t.Errorf("tshark matches %d of %d frames with %q", n, len(frames), filter)
			}
			bad := `ip.checksum.status == "Bad" || udp.checksum.status == "Bad" || gre.checksum.status == "Bad" || _ws.malformed`
			if n := count(bad); n != 0 {
				t.Errorf("tshark finds %d frames with a bad checksum or malformed", n)
			}
		})
	}
}

// onesSum is the ones' complement sum of b in 16-bit words: 0xffff over data that carries
// its correct checksum.
func onesSum(b []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return uint16(sum)
}
