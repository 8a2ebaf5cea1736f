package main

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"time"
)

// scenario is one deterministic capture: the same seed gives the same bytes.
type scenario struct {
	name    string
	about   string // one line for pcaps/README.md and `ntpgen list`
	snaplen int    // the snaplen the sample in pcaps/ is written with; 0 keeps whole frames
	build   func(c *capture, rng *rand.Rand)
}

// scenarios are the samples in pcaps/, in the order `ntpgen pcaps` writes them.
var scenarios = []scenario{
	{
		name:  "reflection",
		about: "home NTP server 198.51.100.10 answers 30 forged 8-byte MON_GETLIST_1 requests for victim 203.0.113.7 with full 100-packet monlist replies, among mode 3/4 clients",
		build: buildReflection,
	},
	{
		name:    "reflection6",
		about:   "the reflection over IPv6 on a QinQ trunk (VLAN 100/20): server 2001:db8:10::123 answers 30 forged 48-byte MON_GETLIST_1 requests for 2001:db8:feed::7; snaplen 128",
		snaplen: 128,
		build:   buildReflection6,
	},
	{
		name:    "victim_flood",
		about:   "a tap in front of 198.51.100.77: full monlist replies from 120 reflectors (192.0.2.1-120), no request from the victim; snaplen 96",
		snaplen: 96,
		build:   buildVictimFlood,
	},
	{
		name:  "scan",
		about: "scanner 203.0.113.66 probes 198.18.0.0/22 with 48-byte MON_GETLIST_1 requests; 3 amplifiers answer with data, 2 patched servers with err=4",
		build: buildScan,
	},
	{
		name:  "benign",
		about: "busy public server 198.51.100.123 (300 clients, 20 of them behind one NAT address), ntpq READVAR monitoring every 10 s, one admin ntpdc monlist",
		build: buildBenign,
	},
	{
		name:  "spoofed_egress",
		about: "egress tap of 192.0.2.0/24: an inside host sends monlist requests forged from 203.0.113.50 to 50 outside servers",
		build: buildSpoofedEgress,
	},
}

func findScenario(name string) (*scenario, error) {
	for i := range scenarios {
		if scenarios[i].name == name {
			return &scenarios[i], nil
		}
	}
	return nil, fmt.Errorf("unknown scenario %q (ntpgen list shows them)", name)
}

// t0 is when every scenario starts: a fixed instant, so captures are identical run to run.
var t0 = time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)

// mac makes a locally administered MAC address from a host number.
func mac(n byte) [6]byte { return [6]byte{0x02, 0, 0, 0, 0, n} }

var (
	macRouter = mac(1)
	macServer = mac(0x10)
)

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

// highPort is an ephemeral client port.
func highPort(rng *rand.Rand) uint16 { return uint16(32768 + rng.IntN(28000)) }

// jitter is a random duration in [0, max).
func jitter(rng *rand.Rand, max time.Duration) time.Duration {
	return time.Duration(rng.Int64N(int64(max)))
}

// clientsOf makes n distinct addresses for a server's monitor list, the victim first (the
// most recent client), then hosts from the IPv4 documentation ranges.
func clientsOf(first netip.Addr, n int) []netip.Addr {
	out := []netip.Addr{first}
	for _, base := range []string{"192.0.2.0", "198.51.100.0", "203.0.113.0"} {
		a := addr(base)
		for i := 1; i < 255 && len(out) < n; i++ {
			a = a.Next()
			if a != first {
				out = append(out, a)
			}
		}
	}
	return out
}

// clientTraffic adds mode 3 requests from n clients to server, each polling every 64 s with
// a random phase, and the server's mode 4 answers, over span.
func clientTraffic(c *capture, rng *rand.Rand, server netip.Addr, clients []netip.Addr, start time.Time, span time.Duration) {
	ref := [4]byte{192, 0, 2, 1}
	for _, cl := range clients {
		port := highPort(rng)
		for t := start.Add(jitter(rng, 64*time.Second)); t.Before(start.Add(span)); t = t.Add(64 * time.Second) {
			req := clientPacket(t)
			up := &Endpoints{SrcMAC: macRouter, DstMAC: macServer, Src: cl, Dst: server, SrcPort: port, DstPort: 123}
			c.udp(t, up, req)
			recv := t.Add(150 * time.Microsecond)
			down := &Endpoints{SrcMAC: macServer, DstMAC: macRouter, Src: server, Dst: cl, SrcPort: 123, DstPort: port}
			c.udp(recv.Add(40*time.Microsecond), down, serverPacket(req, recv, recv.Add(30*time.Microsecond), ref))
		}
	}
}

// monlistAttack adds requests forged with the victim's address, one every interval from
// start, each of size reqSize, and the server's full reply series to each.
func monlistAttack(c *capture, rng *rand.Rand, server, victim netip.Addr, vlans []uint16, n int, reqSize int, start time.Time, interval time.Duration) {
	list := monlistReply(2, clientsOf(victim, 600), server)
	port := highPort(rng)
	for i := 0; i < n; i++ {
		t := start.Add(time.Duration(i) * interval).Add(jitter(rng, interval/10))
		up := &Endpoints{SrcMAC: macRouter, DstMAC: macServer, VLANs: vlans, Src: victim, Dst: server, SrcPort: port, DstPort: 123}
		c.udp(t, up, mode7Request(2, implXNTPD, reqMonGetlist1, reqSize))
		down := &Endpoints{SrcMAC: macServer, DstMAC: macRouter, VLANs: vlans, Src: server, Dst: victim, SrcPort: 123, DstPort: port}
		for k, p := range list {
			c.udp(t.Add(200*time.Microsecond+time.Duration(k)*25*time.Microsecond), down, p)
		}
	}
}

func buildReflection(c *capture, rng *rand.Rand) {
	server, victim := addr("198.51.100.10"), addr("203.0.113.7")
	clientTraffic(c, rng, server, clientsOf(addr("192.0.2.20"), 40), t0, 3*time.Minute)
	monlistAttack(c, rng, server, victim, nil, 30, 8, t0.Add(40*time.Second), 500*time.Millisecond)
}
