package main

import (
	"math/rand/v2"
	"net/netip"
	"time"
)

// buildReflection6 is the reflection scenario over IPv6 on a QinQ trunk (service tag 100,
// customer tag 20): the monlist items name IPv6 clients. Written with a 128-byte snaplen,
// as a tap that keeps headers only would, which also proves counts come from the headers.
func buildReflection6(c *capture, rng *rand.Rand) {
	server, victim := addr("2001:db8:10::123"), addr("2001:db8:feed::7")
	vlans := []uint16{100, 20}
	clients := make([]netip.Addr, 0, 600)
	clients = append(clients, victim)
	for a := addr("2001:db8:c::1"); len(clients) < 600; a = a.Next() {
		clients = append(clients, a)
	}
	list := monlistReply(2, clients, server)
	port := highPort(rng)
	start := t0.Add(20 * time.Second)
	for i := 0; i < 30; i++ {
		t := start.Add(time.Duration(i) * 500 * time.Millisecond).Add(jitter(rng, 50*time.Millisecond))
		up := &Endpoints{SrcMAC: macRouter, DstMAC: macServer, VLANs: vlans, Src: victim, Dst: server, SrcPort: port, DstPort: 123}
		c.udp(t, up, mode7Request(2, implXNTPD, reqMonGetlist1, 48))
		down := &Endpoints{SrcMAC: macServer, DstMAC: macRouter, VLANs: vlans, Src: server, Dst: victim, SrcPort: 123, DstPort: port}
		for k, p := range list {
			c.udp(t.Add(200*time.Microsecond+time.Duration(k)*25*time.Microsecond), down, p)
		}
	}
	v6clients := []netip.Addr{addr("2001:db8:c::1001"), addr("2001:db8:c::1002"), addr("2001:db8:c::1003")}
	clientTrafficVLAN(c, rng, server, v6clients, vlans, t0, 90*time.Second)
}

// buildVictimFlood is what a tap in front of the victim sees: monlist replies from 120
// reflectors flooding 198.51.100.77, which sent no request (the attacker forged them
// elsewhere). Each reflector sends one full 100-packet reply series; headers only.
func buildVictimFlood(c *capture, rng *rand.Rand) {
	victim := addr("198.51.100.77")
	reflectors := make([]netip.Addr, 0, 120)
	for a := addr("192.0.2.0"); len(reflectors) < 120; {
		a = a.Next()
		reflectors = append(reflectors, a)
	}
	start := t0.Add(5 * time.Second)
	for i, r := range reflectors {
		list := monlistReply(2, clientsOf(victim, 600), r)
		port := uint16(80) // the attacker's choice of victim port
		t := start.Add(time.Duration(i) * 50 * time.Millisecond).Add(jitter(rng, 40*time.Millisecond))
		down := &Endpoints{SrcMAC: macRouter, DstMAC: mac(0x77), Src: r, Dst: victim, SrcPort: 123, DstPort: port}
		for k, p := range list {
			c.udp(t.Add(time.Duration(k)*60*time.Microsecond), down, p)
		}
	}
	// The victim's own routine NTP: a few mode 3 polls to one server and its answers.
	clientTrafficFrom(c, rng, victim, addr("203.0.113.123"), t0, 30*time.Second)
}

// buildScan is a scanner, 203.0.113.66, sending nmap's 48-byte MON_GETLIST_1 probe to every
// address of 198.18.0.0/22 (RFC 2544's benchmarking range: no documentation range holds a
// /22) at 200 per second. Three hosts answer with monlist data (amplifiers), two with the
// 8-byte err=4 "no data" reply of a patched ntpd.
func buildScan(c *capture, rng *rand.Rand) {
	scanner := addr("203.0.113.66")
	amps := map[netip.Addr]bool{addr("198.18.0.17"): true, addr("198.18.1.200"): true, addr("198.18.3.5"): true}
	patched := map[netip.Addr]bool{addr("198.18.2.33"): true, addr("198.18.2.34"): true}
	port := highPort(rng)
	target := addr("198.18.0.0")
	for i := 0; i < 1024; i++ {
		t := t0.Add(2 * time.Second).Add(time.Duration(i) * 5 * time.Millisecond)
		up := &Endpoints{SrcMAC: macRouter, DstMAC: mac(0x20), Src: scanner, Dst: target, SrcPort: port, DstPort: 123}
		c.udp(t, up, mode7Request(2, implXNTPD, reqMonGetlist1, 48))
		down := &Endpoints{SrcMAC: mac(0x20), DstMAC: macRouter, Src: target, Dst: scanner, SrcPort: 123, DstPort: port}
		switch {
		case amps[target]:
			// A lightly used server: 40 clients, 7 packets.
			for k, p := range monlistReply(2, clientsOf(scanner, 40), target) {
				c.udp(t.Add(300*time.Microsecond+time.Duration(k)*25*time.Microsecond), down, p)
			}
		case patched[target]:
			c.udp(t.Add(300*time.Microsecond), down, noDataReply(2, reqMonGetlist1))
		}
		target = target.Next()
	}
}

// buildBenign is normal NTP that must not raise an alert of severity medium or above: a busy
// public server 198.51.100.123 with 300 clients (mode 3 in, mode 4 out) including 20 behind
// one NAT address, an admin host 198.51.100.5 monitoring it with ntpq every 10 s (mode 6
// READVAR, replies of two parts), and one ntpdc monlist from that admin host.
func buildBenign(c *capture, rng *rand.Rand) {
	server, admin := addr("198.51.100.123"), addr("198.51.100.5")
	span := 4 * time.Minute
	var clients []netip.Addr
	for _, base := range []string{"192.0.2.0", "203.0.113.0"} {
		a := addr(base)
		for i := 0; i < 140; i++ {
			a = a.Next()
			clients = append(clients, a)
		}
	}
	clientTraffic(c, rng, server, clients, t0, span)
	nat := addr("203.0.113.200")
	for i := 0; i < 20; i++ {
		clientTrafficFrom(c, rng, nat, server, t0, span)
	}
	// ntpq -c rv every 10 s: a 12-byte READVAR and a two-part answer.
	vars := make([]byte, 468)
	for i := range vars {
		vars[i] = 'a' + byte(i%26)
	}
	port := highPort(rng)
	for t, seq := t0.Add(3*time.Second), uint16(1); t.Before(t0.Add(span)); t, seq = t.Add(10*time.Second), seq+1 {
		up := &Endpoints{SrcMAC: mac(5), DstMAC: macServer, Src: admin, Dst: server, SrcPort: port, DstPort: 123}
		c.udp(t, up, mode6Request(2, seq, 0))
		down := &Endpoints{SrcMAC: macServer, DstMAC: mac(5), Src: server, Dst: admin, SrcPort: 123, DstPort: port}
		c.udp(t.Add(300*time.Microsecond), down, mode6Response(2, seq, 0x0615, 0, 0, vars, true))
		c.udp(t.Add(350*time.Microsecond), down, mode6Response(2, seq, 0x0615, 0, 468, vars[:200], false))
	}
	// One ntpdc -c monlist by the admin: a 192-byte request and the full reply.
	t := t0.Add(95 * time.Second)
	up := &Endpoints{SrcMAC: mac(5), DstMAC: macServer, Src: admin, Dst: server, SrcPort: port + 1, DstPort: 123}
	c.udp(t, up, mode7Request(2, implXNTPD, reqMonGetlist1, 192))
	down := &Endpoints{SrcMAC: macServer, DstMAC: mac(5), Src: server, Dst: admin, SrcPort: 123, DstPort: port + 1}
	for k, p := range monlistReply(2, append([]netip.Addr{admin}, clients...), server) {
		c.udp(t.Add(200*time.Microsecond+time.Duration(k)*25*time.Microsecond), down, p)
	}
}

// buildSpoofedEgress is the egress tap of 192.0.2.0/24: a host inside sends 8-byte monlist
// requests forged with the source 203.0.113.50 (outside the home net) to 50 outside NTP
// servers, 10 each over 10 s. The replies go to the victim, so the tap never sees them.
func buildSpoofedEgress(c *capture, rng *rand.Rand) {
	forged := addr("203.0.113.50")
	a := addr("198.51.100.0")
	for i := 0; i < 50; i++ {
		a = a.Next()
		port := highPort(rng)
		for k := 0; k < 10; k++ {
			t := t0.Add(time.Second).Add(time.Duration(k)*time.Second + time.Duration(i)*20*time.Millisecond)
			up := &Endpoints{SrcMAC: mac(0x33), DstMAC: macRouter, Src: forged, Dst: a, SrcPort: port, DstPort: 123}
			c.udp(t, up, mode7Request(2, implXNTPD, reqMonGetlist1, 8))
		}
	}
	// Honest inside clients polling outside servers.
	for i, cl := range []string{"192.0.2.10", "192.0.2.11", "192.0.2.12"} {
		clientTrafficFrom(c, rng, addr(cl), addr("203.0.113.123"), t0.Add(time.Duration(i)*time.Second), 30*time.Second)
	}
}

// clientTrafficFrom is one client polling one server every 16 s (ntpd's iburst-then-minpoll
// behaviour, simplified), and the server's answers.
func clientTrafficFrom(c *capture, rng *rand.Rand, client, server netip.Addr, start time.Time, span time.Duration) {
	ref := [4]byte{192, 0, 2, 1}
	port := highPort(rng)
	up := &Endpoints{SrcMAC: macRouter, DstMAC: macServer, Src: client, Dst: server, SrcPort: port, DstPort: 123}
	down := &Endpoints{SrcMAC: macServer, DstMAC: macRouter, Src: server, Dst: client, SrcPort: 123, DstPort: port}
	for t := start.Add(jitter(rng, 16*time.Second)); t.Before(start.Add(span)); t = t.Add(16 * time.Second) {
		req := clientPacket(t)
		c.udp(t, up, req)
		recv := t.Add(2 * time.Millisecond)
		c.udp(recv.Add(40*time.Microsecond), down, serverPacket(req, recv, recv.Add(30*time.Microsecond), ref))
	}
}

// clientTrafficVLAN is clientTraffic on a tagged link.
func clientTrafficVLAN(c *capture, rng *rand.Rand, server netip.Addr, clients []netip.Addr, vlans []uint16, start time.Time, span time.Duration) {
	ref := [4]byte{'G', 'P', 'S', 0}
	for _, cl := range clients {
		port := highPort(rng)
		up := &Endpoints{SrcMAC: macRouter, DstMAC: macServer, VLANs: vlans, Src: cl, Dst: server, SrcPort: port, DstPort: 123}
		down := &Endpoints{SrcMAC: macServer, DstMAC: macRouter, VLANs: vlans, Src: server, Dst: cl, SrcPort: 123, DstPort: port}
		for t := start.Add(jitter(rng, 16*time.Second)); t.Before(start.Add(span)); t = t.Add(16 * time.Second) {
			req := clientPacket(t)
			c.udp(t, up, req)
			recv := t.Add(time.Millisecond)
			c.udp(recv.Add(40*time.Microsecond), down, serverPacket(req, recv, recv.Add(30*time.Microsecond), ref))
		}
	}
}
