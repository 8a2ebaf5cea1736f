package scenario

import (
	"math/rand/v2"
	"net/netip"
	"time"
)

// buildReflection is a home NTP server answering forged monlist requests, two a second,
// among the mode 3/4 traffic of its 40 clients.
func buildReflection(c *capture, rng *rand.Rand) {
	server, victim := addr("198.51.100.10"), addr("203.0.113.7")
	clientTraffic(c, rng, server, MonitorList(addr("192.0.2.20"), 40), Epoch, 3*time.Minute)
	monlistAttack(c, rng, server, victim, MonitorList(victim, 600), nil, 30, 8, Epoch.Add(40*time.Second), 500*time.Millisecond)
}

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
	monlistAttack(c, rng, server, victim, clients, vlans, 30, 48, Epoch.Add(20*time.Second), 500*time.Millisecond)
	v6clients := []netip.Addr{addr("2001:db8:c::1001"), addr("2001:db8:c::1002"), addr("2001:db8:c::1003")}
	clientTrafficVLAN(c, rng, server, v6clients, vlans, Epoch, 90*time.Second)
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
	start := Epoch.Add(5 * time.Second)
	for i, r := range reflectors {
		t := start.Add(time.Duration(i) * 50 * time.Millisecond).Add(jitter(rng, 40*time.Millisecond))
		// Port 80 is the attacker's choice of the victim's port.
		down := &Endpoints{SrcMAC: macRouter, DstMAC: mac(0x77), Src: r, Dst: victim, SrcPort: 123, DstPort: 80}
		replySeries(c, t, down, MonlistReply(2, MonitorList(victim, 600), r), 60*time.Microsecond)
	}
	// The victim's own routine NTP: a few mode 3 polls to one server and its answers.
	clientTrafficFrom(c, rng, victim, addr("203.0.113.123"), Epoch, 30*time.Second)
}

// buildScan is a scanner, 203.0.113.66, sending nmap's 48-byte MON_GETLIST_1 probe to every
// address of 198.18.0.0/22 (RFC 2544's benchmarking range: no documentation range holds a
// /22) at 200 per second. Three hosts answer with monlist data (amplifiers), two with the
// 8-byte err=4 "no data" reply of a patched ntpd.
func buildScan(c *capture, rng *rand.Rand) {
	scanner := addr("203.0.113.66")
	amps := map[netip.Addr]bool{addr("198.18.0.17"): true, addr("198.18.1.200"): true, addr("198.18.3.5"): true}
	patched := map[netip.Addr]bool{addr("198.18.2.33"): true, addr("198.18.2.34"): true}
	port := EphemeralPort(rng)
	target := addr("198.18.0.0")
	for i := range 1024 {
		t := Epoch.Add(2 * time.Second).Add(time.Duration(i) * 5 * time.Millisecond)
		up := &Endpoints{SrcMAC: macRouter, DstMAC: mac(0x20), Src: scanner, Dst: target, SrcPort: port, DstPort: 123}
		c.udp(t, up, MonlistRequest(48))
		switch {
		case amps[target]:
			// A lightly used server: 40 clients, 7 packets.
			replySeries(c, t.Add(300*time.Microsecond), up.Reverse(), MonlistReply(2, MonitorList(scanner, 40), target), 25*time.Microsecond)
		case patched[target]:
			c.udp(t.Add(300*time.Microsecond), up.Reverse(), noDataReply(2))
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
		for range 140 {
			a = a.Next()
			clients = append(clients, a)
		}
	}
	clientTraffic(c, rng, server, clients, Epoch, span)
	nat := addr("203.0.113.200")
	for range 20 {
		clientTrafficFrom(c, rng, nat, server, Epoch, span)
	}
	// ntpq -c rv every 10 s.
	port := EphemeralPort(rng)
	up := &Endpoints{SrcMAC: mac(5), DstMAC: macServer, Src: admin, Dst: server, SrcPort: port, DstPort: 123}
	for t, seq := Epoch.Add(3*time.Second), uint16(1); t.Before(Epoch.Add(span)); t, seq = t.Add(10*time.Second), seq+1 {
		req, answer := ReadVar(seq)
		c.udp(t, up, req)
		c.udp(t.Add(300*time.Microsecond), up.Reverse(), answer[0])
		c.udp(t.Add(350*time.Microsecond), up.Reverse(), answer[1])
	}
	// One ntpdc -c monlist by the admin: a 192-byte request and the full reply.
	t := Epoch.Add(95 * time.Second)
	up = &Endpoints{SrcMAC: mac(5), DstMAC: macServer, Src: admin, Dst: server, SrcPort: port + 1, DstPort: 123}
	c.udp(t, up, MonlistRequest(192))
	replySeries(c, t.Add(200*time.Microsecond), up.Reverse(), MonlistReply(2, append([]netip.Addr{admin}, clients...), server), 25*time.Microsecond)
}

// buildSpoofedEgress is the egress tap of 192.0.2.0/24: a host inside sends 8-byte monlist
// requests forged with the source 203.0.113.50 (outside the home net) to 50 outside NTP
// servers, 10 each over 10 s. The replies go to the victim, so the tap never sees them.
func buildSpoofedEgress(c *capture, rng *rand.Rand) {
	forged := addr("203.0.113.50")
	a := addr("198.51.100.0")
	for i := range 50 {
		a = a.Next()
		port := EphemeralPort(rng)
		for k := range 10 {
			t := Epoch.Add(time.Second).Add(time.Duration(k)*time.Second + time.Duration(i)*20*time.Millisecond)
			up := &Endpoints{SrcMAC: mac(0x33), DstMAC: macRouter, Src: forged, Dst: a, SrcPort: port, DstPort: 123}
			c.udp(t, up, MonlistRequest(8))
		}
	}
	// Honest inside clients polling outside servers.
	for i, cl := range []string{"192.0.2.10", "192.0.2.11", "192.0.2.12"} {
		clientTrafficFrom(c, rng, addr(cl), addr("203.0.113.123"), Epoch.Add(time.Duration(i)*time.Second), 30*time.Second)
	}
}

// reflectionVia is the reflection sample made small for the samples of tunnels, mirror
// sessions and link types: the home NTP server answers 25 forged 8-byte MON_GETLIST_1
// requests for the victim, two a second, with full 100-packet replies (1,100,000 payload
// bytes, past reflection's threshold of 1,000,000 a minute), among the polls of five clients.
// IPv6 servers list IPv6 clients.
func reflectionVia(server, victim string, vlans []uint16) func(c *capture, rng *rand.Rand) {
	return func(c *capture, rng *rand.Rand) {
		s, v := addr(server), addr(victim)
		list, client := MonitorList(v, 600), addr("192.0.2.30")
		if s.Is6() {
			list, client = []netip.Addr{v}, addr("2001:db8:c::1")
			for a := client; len(list) < 600; a = a.Next() {
				list = append(list, a)
			}
			client = addr("2001:db8:c::1001")
		}
		var clients []netip.Addr
		for range 5 {
			clients = append(clients, client)
			client = client.Next()
		}
		clientTrafficVLAN(c, rng, s, clients, vlans, Epoch, time.Minute)
		monlistAttack(c, rng, s, v, list, vlans, viaRequests, 8, Epoch.Add(10*time.Second), 500*time.Millisecond)
	}
}

// buildRequestFlood is a patched home server, 198.51.100.20, flooded with forged 8-byte
// MON_GETLIST_1 requests, 150 a second for 12 s, whose sources are six victims in turn (an
// attacker reflecting at them through a server it believes unpatched). The server answers one
// request in ten with the 8-byte err=4 reply of a patched ntpd and rate-limits the others
// away, among the mode 3/4 traffic of its 40 clients.
func buildRequestFlood(c *capture, rng *rand.Rand) {
	server := addr("198.51.100.20")
	clientTraffic(c, rng, server, MonitorList(addr("192.0.2.40"), 40), Epoch, 90*time.Second)
	ports := make([]uint16, floodSources)
	for i := range ports {
		ports[i] = EphemeralPort(rng)
	}
	start := Epoch.Add(20 * time.Second)
	for i := range floodRequests {
		src := i % floodSources
		victim := netip.AddrFrom4([4]byte{203, 0, 113, byte(11 + src)})
		t := start.Add(time.Duration(i) * time.Second / 150).Add(jitter(rng, time.Millisecond))
		up := &Endpoints{SrcMAC: macRouter, DstMAC: macServer, Src: victim, Dst: server, SrcPort: ports[src], DstPort: 123}
		c.udp(t, up, MonlistRequest(8))
		if i%10 == 0 {
			c.udp(t.Add(200*time.Microsecond), up.Reverse(), noDataReply(2))
		}
	}
}
