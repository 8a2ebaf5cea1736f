package main

import (
	"encoding/binary"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/gopacket/layers"
	"github.com/ntpwatch/ntpwatch/internal/scenario"
	"github.com/ntpwatch/ntpwatch/internal/testutil"
)

// fragmentFrames is a monlist reply datagram of payload from server:123 to victim:port as
// Ethernet frames of IPv4 fragments, the first carrying the UDP header and firstLen payload
// bytes (firstLen+8 a multiple of 8), the second the rest; udpLen is what the UDP header
// claims (8 + len(payload) for an honest datagram).
func fragmentFrames(server, victim netip.Addr, id uint16, payload []byte, firstLen, udpLen int) [][]byte {
	udp := binary.BigEndian.AppendUint16(nil, 123)
	udp = binary.BigEndian.AppendUint16(udp, 40000)
	udp = binary.BigEndian.AppendUint16(udp, uint16(udpLen))
	udp = append(append(udp, 0, 0), payload...)
	first := testutil.Ethernet(testutil.IPv4(server, victim, 17, id, 0x2000, udp[:8+firstLen]))
	if 8+firstLen >= len(udp) {
		return [][]byte{first}
	}
	return [][]byte{first, testutil.Ethernet(testutil.IPv4(server, victim, 17, id, uint16((8+firstLen)/8), udp[8+firstLen:]))}
}

// readFrames writes frames to a capture and returns the end events ntpwatch reports for it.
func readFrames(t *testing.T, frames []scenario.Frame) []endEvent {
	t.Helper()
	path := filepath.Join(t.TempDir(), "fragments.pcap")
	if err := scenario.WriteFile(path, frames, layers.LinkTypeEthernet, scenario.PCAP, 0); err != nil {
		t.Fatal(err)
	}
	out, stderr, code := readAlerts(t, path)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	return endEvents(t, out)
}

// TestFragmentBytesEndToEnd: bytes of a fragmented datagram count as they are carried.
// Sixteen 60-byte first fragments of monlist replies whose UDP headers claim 65,535 bytes,
// never completed, once raised a reflection of 1,048,432 response bytes; they carry 18 bytes
// of payload each. A reflection over a link whose MTU splits every 440-byte reply in two
// counts every byte of every reply, and each reply once.
func TestFragmentBytesEndToEnd(t *testing.T) {
	server, victim := netip.MustParseAddr("198.51.100.10"), netip.MustParseAddr("203.0.113.7")
	reply := scenario.MonlistReply(2, scenario.MonitorList(victim, 600), server)
	start := time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)

	t.Run("first fragments never completed", func(t *testing.T) {
		var frames []scenario.Frame
		for i := range 16 {
			f := fragmentFrames(server, victim, uint16(i+1), reply[0], 18, 65535)[0]
			if len(f) != 60 {
				t.Fatalf("a first fragment of %d bytes, want 60", len(f))
			}
			frames = append(frames, scenario.Frame{Time: start.Add(time.Duration(i) * time.Millisecond), Data: f})
		}
		exposed := 0
		for _, e := range readFrames(t, frames) {
			if e.Kind == "reflection" || e.Kind == "victim_flood" {
				t.Errorf("%s with %d response bytes from 16 frames of 60 bytes", e.Kind, e.Responses.Bytes)
			}
			if e.Kind == "exposed_amplifier" {
				exposed++
				if want := (scenario.Traffic{Packets: 16, Bytes: 16 * 18}); e.Responses != want {
					t.Errorf("exposed_amplifier responses %+v, want %+v", e.Responses, want)
				}
			}
		}
		if exposed != 1 {
			t.Errorf("%d exposed_amplifier incidents, want 1: the replies carried monlist data", exposed)
		}
	})

	t.Run("fragmented replies", func(t *testing.T) {
		var frames []scenario.Frame
		up := &scenario.Endpoints{Src: victim, Dst: server, SrcPort: 40000, DstPort: 123}
		id := uint16(0)
		for i := range 30 {
			ts := start.Add(time.Duration(i) * 500 * time.Millisecond)
			frames = append(frames, scenario.Frame{Time: ts, Data: scenario.AppendUDP(nil, up, 1, scenario.MonlistRequest(8))})
			for k, payload := range reply {
				id++
				for j, f := range fragmentFrames(server, victim, id, payload, 152, 8+len(payload)) {
					frames = append(frames, scenario.Frame{Time: ts.Add(time.Duration(2*k+j+1) * 20 * time.Microsecond), Data: f})
				}
			}
		}
		var reflections int
		for _, e := range readFrames(t, frames) {
			want := scenario.Traffic{Packets: 30 * 100, Bytes: 30 * 100 * 440}
			if (e.Kind == "reflection" || e.Kind == "exposed_amplifier") && e.Responses != want {
				t.Errorf("%s responses %+v, want %+v", e.Kind, e.Responses, want)
			}
			if e.Kind == "reflection" {
				reflections++
			}
		}
		if reflections != 1 {
			t.Errorf("%d reflections, want 1", reflections)
		}
	})
}
