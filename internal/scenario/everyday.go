package scenario

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"time"
)

// The everyday traffic of the protocols beyond NTP, which must raise no alert above low:
// a resolver answering its clients and an authoritative server answering resolvers, a
// monitoring station polling switches with SNMP GetBulk, and UPnP discovery on a home LAN
// with mDNS beside it.

// everydayScenarios are the samples of everyday traffic.
var everydayScenarios = []Scenario{
	{
		Name: "dns_everyday", Snaplen: 96, Compressed: true, HomeNet: ampHome, Tshark: "dns",
		About: "home resolver 198.51.100.53 answering 40 home clients for 60 s (A, AAAA, HTTPS, PTR with 1232-byte buffers, " +
			"TXT, legacy clients with 4096) and resolving upstream at 150 authoritative servers (DNSKEY, DS, A); home authoritative " +
			"198.51.100.54 answering 120 outside resolvers for its signed zone; snaplen 96",
		build: buildDNSEveryday,
	},
	{
		Name: "snmp_monitoring", Snaplen: 96, Compressed: true, HomeNet: ampHome, Tshark: "snmp || " + fragments,
		About: "monitoring station 198.51.100.5 polling the interfaces table of 450 switches with v2c GetBulk every 60 s " +
			"for 3 minutes, 2,400-byte answers (1.1 MB a minute): a scan of a weak vector (low), and no victim_flood; snaplen 96",
		// The top list of the scan's responders holds top_n (10) of them, all amplifiers.
		Incidents: []Incident{{Kind: "scan", Protocol: "snmp", Scanner: addr("198.51.100.5"),
			Requests:  Traffic{3 * snmpSwitches, 3 * snmpSwitches * uint64(len(SNMPGetBulk(0, 50)))},
			Responses: Traffic{3 * snmpSwitches, 3 * snmpSwitches * uint64(len(SNMPWalk(0, 50, 32)))}, Targets: snmpSwitches, Amplifiers: 10}},
		build: buildSNMPMonitoring,
	},
	{
		Name: "ssdp_lan", Snaplen: 96, Compressed: true, HomeNet: ampHome, Tshark: "ssdp || mdns",
		About: "a home LAN: 5 control points multicast M-SEARCH ssdp:all every 30 s, 10 devices answer each with 8 services and " +
			"announce themselves with NOTIFY, and mDNS queries and answers go by, for 3 minutes; snaplen 96",
		build: buildSSDPLAN,
	},
}

// homeHost is 198.51.100.n.
func homeHost(n int) netip.Addr { return netip.AddrFrom4([4]byte{198, 51, 100, byte(n)}) }

// buildDNSEveryday is a resolver and an authoritative server at work. Of what the resolver's
// clients ask, the A, AAAA, HTTPS and PTR queries with 1232-byte buffers and their answers
// take no part in amplification; TXT queries (mail servers' SPF and DKIM lookups) and the
// queries of legacy clients with 4096-byte buffers do, with answers a few times their size.
// Upstream, the resolver validates: DNSKEY and DS queries and A queries with 1232-byte buffers
// to 150 servers. The authoritative server answers DNSKEY, A and TXT queries of resolvers for
// its ECDSA-signed zone, whose keys and signature fit 512 bytes.
func buildDNSEveryday(c *capture, rng *rand.Rand) {
	resolver, auth := homeHost(53), homeHost(54)
	span := time.Minute
	names := []string{"www.example.com", "mail.example.net", "cdn.example.org", "api.example.com", "example.net"}
	for i := range 40 {
		cl := homeHost(100 + i)
		up := &Endpoints{SrcMAC: mac(byte(100 + i)), DstMAC: macServer, Src: cl, Dst: resolver, SrcPort: EphemeralPort(rng), DstPort: 53}
		for t := Epoch.Add(jitter(rng, 2*time.Second)); t.Before(Epoch.Add(span)); t = t.Add(time.Second + jitter(rng, time.Second)) {
			name := names[rng.IntN(len(names))]
			var qtype, buffer uint16 = 1, 1232
			size := 90 + rng.IntN(120)
			switch r := rng.IntN(20); {
			case r < 2:
				qtype, size = 16, 300+rng.IntN(350) // TXT: SPF, DKIM
			case r < 3:
				buffer = 4096 // a legacy client
			case r < 6:
				qtype = 28
			case r < 8:
				qtype = 65
			case r < 9:
				qtype, name = 12, fmt.Sprintf("%d.2.0.192.in-addr.arpa", rng.IntN(255))
			}
			q := DNSQuery(uint16(rng.IntN(1<<16)), name, qtype, buffer)
			c.udp(t, up, q)
			c.udp(t.Add(time.Duration(1+rng.IntN(30))*time.Millisecond), up.Reverse(), DNSAnswer(q, max(size, len(q)+20)))
		}
	}
	// The resolver's upstream queries, one to three a second, to 150 authoritative servers.
	for t := Epoch; t.Before(Epoch.Add(span)); t = t.Add(300*time.Millisecond + jitter(rng, 400*time.Millisecond)) {
		srv := netip.AddrFrom4([4]byte{203, 0, 113, byte(1 + rng.IntN(150))})
		up := &Endpoints{SrcMAC: macServer, DstMAC: macRouter, Src: resolver, Dst: srv, SrcPort: EphemeralPort(rng), DstPort: 53}
		var qtype uint16 = 1
		size := 120 + rng.IntN(200)
		switch rng.IntN(4) {
		case 0:
			qtype, size = 48, 400+rng.IntN(500) // DNSKEY and its signature
		case 1:
			qtype, size = 43, 200+rng.IntN(150) // DS
		}
		q := DNSQuery(uint16(rng.IntN(1<<16)), "example.com", qtype, 1232)
		c.udp(t, up, q)
		c.udp(t.Add(time.Duration(5+rng.IntN(60))*time.Millisecond), up.Reverse(), DNSAnswer(q, size))
	}
	// The authoritative server's resolvers, outside.
	for i := range 120 {
		rs := netip.AddrFrom4([4]byte{192, 0, 2, byte(1 + i)})
		up := &Endpoints{SrcMAC: macRouter, DstMAC: mac(0x54), Src: rs, Dst: auth, SrcPort: EphemeralPort(rng), DstPort: 53}
		for t := Epoch.Add(jitter(rng, 10*time.Second)); t.Before(Epoch.Add(span)); t = t.Add(5*time.Second + jitter(rng, 10*time.Second)) {
			var qtype uint16 = 1
			size := 150 + rng.IntN(200)
			switch rng.IntN(6) {
			case 0:
				qtype, size = 48, 350+rng.IntN(150) // an ECDSA-signed zone's keys and signature
			case 1:
				qtype, size = 16, 250+rng.IntN(200)
			}
			q := DNSQuery(uint16(rng.IntN(1<<16)), "example.org", qtype, 1232)
			c.udp(t, up, q)
			c.udp(t.Add(300*time.Microsecond), up.Reverse(), DNSAnswer(q, size))
		}
	}
}

// snmpSwitches is the switches the monitoring station polls.
const snmpSwitches = 450

// buildSNMPMonitoring is a monitoring station walking the interfaces table of 450 switches
// once a minute with GetBulk (50 repetitions), each answering with 50 variables. The station
// looks like a scanner of GetBulk, a weak vector: a low scan. Its answers are 2,400 bytes
// for 50-byte requests, under SNMP's victim_flood ratio of 100 however many switches answer.
func buildSNMPMonitoring(c *capture, rng *rand.Rand) {
	nms := homeHost(5)
	port := EphemeralPort(rng)
	for round := range 3 {
		for i := range snmpSwitches {
			sw := homeHost(6 + i)
			if i >= 250 {
				sw = netip.AddrFrom4([4]byte{198, 18, 1, byte(i - 250)}) // a second site, behind a VPN
			}
			t := Epoch.Add(time.Duration(round)*time.Minute + time.Duration(i)*120*time.Millisecond)
			up := &Endpoints{SrcMAC: mac(5), DstMAC: macRouter, Src: nms, Dst: sw, SrcPort: port, DstPort: 161}
			id := uint32(round*1000 + i)
			c.udp(t, up, SNMPGetBulk(id, 50))
			c.udp(t.Add(time.Duration(1+rng.IntN(20))*time.Millisecond), up.Reverse(), SNMPWalk(id, 50, 32))
		}
	}
}

// buildSSDPLAN is UPnP discovery on a home LAN: control points multicast M-SEARCH
// ssdp:all, every device answers each by unicast with its services, devices announce
// themselves with NOTIFY multicast from port 1900 to port 1900, and mDNS (port 5353, no
// protocol of the table) goes by.
func buildSSDPLAN(c *capture, rng *rand.Rand) {
	group := addr("239.255.255.250")
	span := 3 * time.Minute
	for cp := range 5 {
		src := homeHost(20 + cp)
		up := &Endpoints{SrcMAC: mac(byte(20 + cp)), DstMAC: [6]byte{0x01, 0, 0x5e, 0x7f, 0xff, 0xfa}, Src: src, Dst: group,
			SrcPort: EphemeralPort(rng), DstPort: 1900}
		for t := Epoch.Add(jitter(rng, 30*time.Second)); t.Before(Epoch.Add(span)); t = t.Add(30 * time.Second) {
			c.udp(t, up, SSDPSearch())
			for d := range 10 {
				dev := homeHost(40 + d)
				down := &Endpoints{SrcMAC: mac(byte(40 + d)), DstMAC: up.SrcMAC, Src: dev, Dst: src, SrcPort: 1900, DstPort: up.SrcPort}
				for k, a := range SSDPAnswers(dev.String()) {
					c.udp(t.Add(time.Duration(10+rng.IntN(900))*time.Millisecond+time.Duration(k)*time.Millisecond), down, a)
				}
			}
		}
	}
	for d := range 10 {
		dev := homeHost(40 + d)
		ep := &Endpoints{SrcMAC: mac(byte(40 + d)), DstMAC: [6]byte{0x01, 0, 0x5e, 0x7f, 0xff, 0xfa}, Src: dev, Dst: group, SrcPort: 1900, DstPort: 1900}
		for t := Epoch.Add(jitter(rng, 30*time.Second)); t.Before(Epoch.Add(span)); t = t.Add(30 * time.Second) {
			c.udp(t, ep, []byte("NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nCACHE-CONTROL: max-age=1800\r\nLOCATION: http://"+
				dev.String()+":1900/rootDesc.xml\r\nNT: upnp:rootdevice\r\nNTS: ssdp:alive\r\nSERVER: Linux UPnP/1.1 MiniUPnPd/2.1\r\n"+
				"USN: uuid:4d696e69-444c-164e-9d41-b0c5543f1e2a::upnp:rootdevice\r\n\r\n"))
		}
	}
	mdns := addr("224.0.0.251")
	for h := range 8 {
		ep := &Endpoints{SrcMAC: mac(byte(60 + h)), DstMAC: [6]byte{0x01, 0, 0x5e, 0, 0, 0xfb}, Src: homeHost(60 + h), Dst: mdns, SrcPort: 5353, DstPort: 5353}
		for t := Epoch.Add(jitter(rng, 10*time.Second)); t.Before(Epoch.Add(span)); t = t.Add(10*time.Second + jitter(rng, 5*time.Second)) {
			q := DNSQuery(0, "_googlecast._tcp.local", 12, 0)
			c.udp(t, ep, q)
			c.udp(t.Add(time.Duration(5+rng.IntN(100))*time.Millisecond), ep, DNSAnswer(q, 400))
		}
	}
}
