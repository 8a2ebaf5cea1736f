package scenario

import (
	"math/rand/v2"
	"net/netip"
	"time"
)

// Epoch is when every scenario starts, and the benchmark captures too: a fixed instant, so
// that captures are the same bytes run to run.
var Epoch = time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)

// mac makes a locally administered MAC address from a host number.
func mac(n byte) [6]byte { return [6]byte{0x02, 0, 0, 0, 0, n} }

// The MAC addresses of the home link: its router and its NTP server.
var (
	macRouter = mac(1)
	macServer = mac(0x10)
)

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

// EphemeralPort draws a client's source port from rng, as an operating system picks one
// from its ephemeral range.
func EphemeralPort(rng *rand.Rand) uint16 { return uint16(32768 + rng.IntN(28000)) }

// jitter is a random duration in [0, max).
func jitter(rng *rand.Rand, max time.Duration) time.Duration {
	return time.Duration(rng.Int64N(int64(max)))
}

// refGPS and refUpstream are the reference ids of the servers' answers: a stratum 1 clock's
// four-character code, and the IPv4 address of a stratum 2 server's upstream.
var (
	refGPS      = [4]byte{'G', 'P', 'S', 0}
	refUpstream = [4]byte{192, 0, 2, 1}
)

// poll adds a mode 3 request from up's source sent at t and the server's mode 4 answer,
// received after delay.
func poll(c *capture, t time.Time, up *Endpoints, delay time.Duration, ref [4]byte) {
	req := ClientRequest(t)
	c.udp(t, up, req)
	recv := t.Add(delay)
	c.udp(recv.Add(40*time.Microsecond), up.Reverse(), ServerReply(req, recv, recv.Add(30*time.Microsecond), ref))
}

// clientTraffic adds mode 3 requests from each of clients to server, polling every 64 s
// with a random phase, and the server's mode 4 answers, over span.
func clientTraffic(c *capture, rng *rand.Rand, server netip.Addr, clients []netip.Addr, start time.Time, span time.Duration) {
	for _, cl := range clients {
		port := EphemeralPort(rng)
		for t := start.Add(jitter(rng, 64*time.Second)); t.Before(start.Add(span)); t = t.Add(64 * time.Second) {
			up := &Endpoints{SrcMAC: macRouter, DstMAC: macServer, Src: cl, Dst: server, SrcPort: port, DstPort: 123}
			poll(c, t, up, 150*time.Microsecond, refUpstream)
		}
	}
}

// clientTrafficFrom is one client polling one server every 16 s (ntpd's iburst-then-minpoll
// behaviour, simplified), and the server's answers.
func clientTrafficFrom(c *capture, rng *rand.Rand, client, server netip.Addr, start time.Time, span time.Duration) {
	port := EphemeralPort(rng)
	up := &Endpoints{SrcMAC: macRouter, DstMAC: macServer, Src: client, Dst: server, SrcPort: port, DstPort: 123}
	for t := start.Add(jitter(rng, 16*time.Second)); t.Before(start.Add(span)); t = t.Add(16 * time.Second) {
		poll(c, t, up, 2*time.Millisecond, refUpstream)
	}
}

// clientTrafficVLAN is clients polling a stratum 1 server every 16 s on a tagged link.
func clientTrafficVLAN(c *capture, rng *rand.Rand, server netip.Addr, clients []netip.Addr, vlans []uint16, start time.Time, span time.Duration) {
	for _, cl := range clients {
		port := EphemeralPort(rng)
		up := &Endpoints{SrcMAC: macRouter, DstMAC: macServer, VLANs: vlans, Src: cl, Dst: server, SrcPort: port, DstPort: 123}
		for t := start.Add(jitter(rng, 16*time.Second)); t.Before(start.Add(span)); t = t.Add(16 * time.Second) {
			poll(c, t, up, time.Millisecond, refGPS)
		}
	}
}

// monlistAttack adds n requests of reqSize bytes forged with the victim's address, one
// every interval from start, and the server's full reply series listing clients to each.
func monlistAttack(c *capture, rng *rand.Rand, server, victim netip.Addr, clients []netip.Addr, vlans []uint16, n, reqSize int, start time.Time, interval time.Duration) {
	list := MonlistReply(2, clients, server)
	up := &Endpoints{SrcMAC: macRouter, DstMAC: macServer, VLANs: vlans, Src: victim, Dst: server, SrcPort: EphemeralPort(rng), DstPort: 123}
	for i := range n {
		t := start.Add(time.Duration(i) * interval).Add(jitter(rng, interval/10))
		c.udp(t, up, MonlistRequest(reqSize))
		replySeries(c, t.Add(200*time.Microsecond), up.Reverse(), list, 25*time.Microsecond)
	}
}

// replySeries adds the packets of a monlist reply from the first at t, gap apart.
func replySeries(c *capture, t time.Time, down *Endpoints, list [][]byte, gap time.Duration) {
	for k, p := range list {
		c.udp(t.Add(time.Duration(k)*gap), down, p)
	}
}
