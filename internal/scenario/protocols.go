package scenario

import (
	"math/rand/v2"
	"net/netip"
	"time"
)

// amplifier is a reflection protocol as its samples play it: the request an attacker forges,
// the replies a server sends back to each, and how. Requests and replies have the same
// length whatever their number, so that a sample's incidents follow from the counts.
type amplifier struct {
	protocol string // the alerts' protocol
	port     uint16
	request  func(i int) []byte   // the i-th forged request
	replies  func(i int) [][]byte // the server's replies to it
	// retries is how many times each reply is sent: TFTP's server sends its first block again
	// and again to a client that never acknowledges; 1 for the others.
	retries int
	// transfer says the replies come from a new port of the server's for each request
	// (TFTP's transfer port, RFC 1350 section 4) rather than the service port.
	transfer bool
	// tshark is the display filter of its frames: its dissector's name, or its port where
	// tshark has no dissector of it.
	tshark string
}

// fragments is the display filter of the IP fragments tshark shows as fragments: all but
// the last, on which it shows the reassembled datagram.
const fragments = "ip.flags.mf == 1"

// The addresses of the protocols' samples: on the reflector's side, the home server and the
// victim whose address the requests forge; on the victim's side, the home victim and the
// outside reflectors; and the home network the tap guards.
var (
	ampServer     = addr("198.51.100.10")
	ampVictim     = addr("203.0.113.7")
	floodVictim   = addr("198.51.100.77")
	ampHome       = netip.MustParsePrefix("198.51.100.0/24")
	ampReflectors = func() []netip.Addr {
		var out []netip.Addr
		for i := range 12 {
			out = append(out, netip.AddrFrom4([4]byte{192, 0, 2, byte(1 + i)}))
		}
		return out
	}()
)

// sizes are the lengths of one request and of its replies: packets and payload bytes.
func (a *amplifier) sizes() (request uint64, replies Traffic) {
	for _, r := range a.replies(0) {
		replies.Packets++
		replies.Bytes += uint64(len(r))
	}
	replies.Packets *= uint64(max(1, a.retries))
	replies.Bytes *= uint64(max(1, a.retries))
	return uint64(len(a.request(0))), replies
}

// reflect adds n requests forged with victim's address to server, evenly over span from
// start, each answered with the server's replies.
func (a *amplifier) reflect(c *capture, rng *rand.Rand, server, victim netip.Addr, n int, start time.Time, span time.Duration) {
	up := &Endpoints{SrcMAC: macRouter, DstMAC: macServer, Src: victim, Dst: server, SrcPort: EphemeralPort(rng), DstPort: a.port}
	for i := range n {
		t := start.Add(time.Duration(i) * span / time.Duration(n)).Add(jitter(rng, span/time.Duration(n)/10))
		c.udp(t, up, a.request(i))
		a.answer(c, rng, i, t.Add(200*time.Microsecond), up.Reverse())
	}
}

// flood adds what a tap in front of victim sees of a reflection through reflectors: per
// reply series of each, at random times over span from start, and no request (the attacker
// forged them elsewhere). The victim's port is the attacker's choice: 80.
func (a *amplifier) flood(c *capture, rng *rand.Rand, reflectors []netip.Addr, victim netip.Addr, per int, start time.Time, span time.Duration) {
	for k, r := range reflectors {
		down := &Endpoints{SrcMAC: macRouter, DstMAC: mac(0x77), Src: r, Dst: victim, SrcPort: a.port, DstPort: 80}
		for i := range per {
			a.answer(c, rng, k*per+i, start.Add(jitter(rng, span)), down)
		}
	}
}

// answer adds the replies to request i from t on, down from the server: 50 microseconds
// apart, and each retry a second after the last.
func (a *amplifier) answer(c *capture, rng *rand.Rand, i int, t time.Time, down *Endpoints) {
	if a.transfer {
		d := *down
		d.SrcPort = EphemeralPort(rng)
		down = &d
	}
	for try := range max(1, a.retries) {
		for k, r := range a.replies(i) {
			c.udp(t.Add(time.Duration(try)*time.Second+time.Duration(k)*50*time.Microsecond), down, r)
		}
	}
}

// reflectorSide is the incidents of reflect: a reflection from server to victim, the server
// exposed as an amplifier by the same traffic, and a request flood when the requests cross
// its threshold within a minute (1,000 for most protocols).
func (a *amplifier) reflectorSide(server, victim netip.Addr, n int, requestFlood bool) []Incident {
	req, resp := a.sizes()
	requests := Traffic{uint64(n), uint64(n) * req}
	responses := Traffic{uint64(n) * resp.Packets, uint64(n) * resp.Bytes}
	out := []Incident{
		{Kind: "reflection", Protocol: a.protocol, Reflector: server, Victim: victim, Requests: requests, Responses: responses, Victims: 1},
		{Kind: "exposed_amplifier", Protocol: a.protocol, Reflector: server, Requests: requests, Responses: responses, Victims: 1},
	}
	if requestFlood {
		out = append(out, Incident{Kind: "request_flood", Protocol: a.protocol, Reflector: server, Victim: victim,
			Requests: requests, Responses: responses, Victims: 1})
	}
	return out
}

// victimSide is the incident of flood: a victim_flood of victim by every reflector.
func (a *amplifier) victimSide(victim netip.Addr, reflectors, per int) Incident {
	_, resp := a.sizes()
	n := uint64(reflectors * per)
	return Incident{Kind: "victim_flood", Protocol: a.protocol, Victim: victim,
		Responses: Traffic{n * resp.Packets, n * resp.Bytes}, Reflectors: reflectors}
}

// protocolSample is the sample of one protocol: a home server reflecting n forged requests
// for an outside victim within a minute, and outside reflectors flooding a home victim with
// per reply series each, told apart by the home network (198.51.100.0/24), so that the
// reflectors of the victim's side are no exposed amplifiers of a client inside. Headers only
// (a snaplen of 96 keeps every header the classifiers read), gzip-compressed.
func protocolSample(a *amplifier, about string, n int, requestFlood bool, per int) Scenario {
	return Scenario{
		Name: a.protocol, About: about, Snaplen: 96, Compressed: true, HomeNet: ampHome, Tshark: a.tshark + " || " + fragments,
		Incidents: append(a.reflectorSide(ampServer, ampVictim, n, requestFlood), a.victimSide(floodVictim, len(ampReflectors), per)),
		build: func(c *capture, rng *rand.Rand) {
			a.reflect(c, rng, ampServer, ampVictim, n, Epoch.Add(5*time.Second), 50*time.Second)
			a.flood(c, rng, ampReflectors, floodVictim, per, Epoch.Add(5*time.Second), 50*time.Second)
		},
	}
}

// constant returns a builder that ignores its index.
func constant[T any](v T) func(int) T { return func(int) T { return v } }

// The amplifiers of the samples, one per protocol of the table but NTP.
var (
	ampDNS = &amplifier{protocol: "dns", port: 53, tshark: "dns",
		request: func(i int) []byte { return DNSQuery(uint16(i), "isc.org", 255, 4096) },
		replies: func(i int) [][]byte { return [][]byte{DNSAnswer(DNSQuery(uint16(i), "isc.org", 255, 4096), 3400)} }}
	ampCLDAP = &amplifier{protocol: "cldap", port: 389, tshark: "cldap",
		request: constant(CLDAPRootDSE()), replies: constant([][]byte{CLDAPRootEntry(2900)})}
	ampSSDP = &amplifier{protocol: "ssdp", port: 1900, tshark: "ssdp",
		request: constant(SSDPSearch()), replies: constant(SSDPAnswers("192.0.2.1"))}
	ampMemcached = &amplifier{protocol: "memcached", port: 11211, tshark: "memcache",
		request: func(i int) []byte { return MemcachedGet(uint16(i), "a1b2") },
		replies: func(i int) [][]byte { return MemcachedValue(uint16(i), "a1b2", 100_000) }}
	ampCharGEN = &amplifier{protocol: "chargen", port: 19, tshark: "chargen",
		request: constant([]byte{'\n'}), replies: constant([][]byte{CharGENLine(512)})}
	ampQOTD = &amplifier{protocol: "qotd", port: 17, tshark: "udp.port == 17",
		request: constant([]byte{'\n'}), replies: constant([][]byte{QOTDQuote(440)})}
	ampSNMP = &amplifier{protocol: "snmp", port: 161, tshark: "snmp",
		request: func(i int) []byte { return SNMPGetBulk(uint32(i), 250) },
		replies: func(i int) [][]byte { return [][]byte{SNMPWalk(uint32(i), 150, 32)} }}
	ampNetBIOS = &amplifier{protocol: "netbios", port: 137, tshark: "nbns",
		request: func(i int) []byte { return NetBIOSStatus(uint16(i)) },
		replies: func(i int) [][]byte { return [][]byte{NetBIOSStatusAnswer(uint16(i), 20)} }}
	ampPortmap = &amplifier{protocol: "portmap", port: 111, tshark: "portmap || rpc",
		request: func(i int) []byte { return PortmapDump(uint32(i)) },
		replies: func(i int) [][]byte { return [][]byte{PortmapDumpAnswer(uint32(i), 60)} }}
	ampMSSQL = &amplifier{protocol: "mssql", port: 1434, tshark: "udp.port == 1434",
		request: constant(MSSQLPing()), replies: constant([][]byte{MSSQLInstances("SQL01", 9)})}
	ampWSD = &amplifier{protocol: "wsd", port: 3702, tshark: "udp.port == 3702",
		request: constant(WSDProbe()), replies: constant([][]byte{WSDProbeMatches("192.0.2.1", 40)})}
	ampARD = &amplifier{protocol: "ard", port: 3283, tshark: "udp.port == 3283",
		request: constant(ARDInfo()), replies: constant([][]byte{ARDStatus("Studio-iMac")})}
	ampCoAP = &amplifier{protocol: "coap", port: 5683, tshark: "coap",
		request: func(i int) []byte { return CoAPDiscovery(uint16(i)) },
		replies: func(i int) [][]byte { return [][]byte{CoAPLinks(uint16(i), 22)} }}
	ampRIP = &amplifier{protocol: "rip", port: 520, tshark: "rip",
		request: constant(RIPRequest(1)), replies: constant(RIPTable(1, 100))}
	ampTFTP = &amplifier{protocol: "tftp", port: 69, tshark: "tftp || udp.length == 524", retries: 6, transfer: true,
		request: constant(TFTPRead("pxelinux.0")), replies: constant([][]byte{TFTPFirstBlock()})}
	ampUbiquiti = &amplifier{protocol: "ubiquiti", port: 10001, tshark: "udp.port == 10001",
		request: constant(UbiquitiProbe()), replies: constant([][]byte{UbiquitiAnswer(24)})}
	ampDVR = &amplifier{protocol: "dvr", port: 37810, tshark: "udp.port == 37810",
		request: constant(DVRSearch()), replies: constant([][]byte{DVRDevice("192.0.2.1")})}
	// SLP (port 427, CVE-2023-29552) has no classifier: the fallback sees its replies.
	ampSLP = &amplifier{protocol: "udp/427", port: 427, tshark: "srvloc || udp.port == 427",
		request: constant([]byte("\x02\x01\x00\x00\x24\x00\x00\x00\x00\x00\x00\x01\x00\x02en\x00\x00\x00\x0cservice:wbem\x00\x00\x00\x00\x00\x00")),
		replies: constant([][]byte{append([]byte("\x02\x02\x00\x05\x78\x00\x00\x00\x00\x00\x00\x01\x00\x02en"), make([]byte, 1380)...)})}
)

// multiVictim is the victim of the multi-vector attack.
var multiVictim = addr("198.51.100.200")

// reflectorsFrom is n reflectors from 192.0.2.first on.
func reflectorsFrom(first, n int) []netip.Addr {
	var out []netip.Addr
	for i := range n {
		out = append(out, netip.AddrFrom4([4]byte{192, 0, 2, byte(first + i)}))
	}
	return out
}

// ampNTP is NTP's monlist as the multi-vector sample plays it: full 100-packet replies.
var ampNTP = &amplifier{protocol: "", port: 123, tshark: "ntp",
	request: constant(MonlistRequest(8)), replies: constant(MonlistReply(2, MonitorList(multiVictim, 600), addr("192.0.2.1")))}

// protocolScenarios are the samples of the protocols beyond NTP: a sample per protocol with
// both sides of its reflection; the fallback's victim side; the multi-vector attack on one
// victim; and everyday traffic that must stay quiet.
var protocolScenarios = []Scenario{
	protocolSample(ampDNS, "DNS: home resolver 198.51.100.10 answers 320 forged ANY queries for isc.org (EDNS0 4096) from 203.0.113.7 "+
		"with 3,400-byte answers in 3 fragments; 12 outside resolvers answer 27 each to home victim 198.51.100.77; snaplen 96", 320, false, 27),
	protocolSample(ampCLDAP, "CLDAP: home domain controller 198.51.100.10 answers 380 forged root DSE searches for 203.0.113.7 "+
		"with 2,900-byte entries in 2 fragments; 12 outside controllers answer 32 each to home victim 198.51.100.77; snaplen 96", 380, false, 32),
	protocolSample(ampSSDP, "SSDP: home router 198.51.100.10 answers 400 forged M-SEARCH ssdp:all for 203.0.113.7 with 8 answers each; "+
		"12 outside routers answer 34 searches each to home victim 198.51.100.77; snaplen 96", 400, false, 34),
	protocolSample(ampMemcached, "memcached: home cache 198.51.100.10 answers 12 forged gets for 203.0.113.7 with a 100 kB value in "+
		"72 datagrams; 12 outside caches answer one each to home victim 198.51.100.77; snaplen 96", 12, false, 1),
	protocolSample(ampCharGEN, "CharGEN: home host 198.51.100.10 answers 2,200 forged 1-byte datagrams for 203.0.113.7 with 512 "+
		"characters (a request flood too); 12 outside hosts answer 184 each to home victim 198.51.100.77; snaplen 96", 2200, true, 184),
	protocolSample(ampQOTD, "QOTD: home host 198.51.100.10 answers 2,500 forged 1-byte datagrams for 203.0.113.7 with 440-byte "+
		"quotes (a request flood too); 12 outside hosts answer 210 each to home victim 198.51.100.77; snaplen 96", 2500, true, 210),
	protocolSample(ampSNMP, "SNMP: home switch 198.51.100.10 answers 190 forged v2c GetBulk requests (community public, 250 "+
		"repetitions) for 203.0.113.7 with 150 variables in 5 fragments; 12 outside agents answer 16 each to home victim 198.51.100.77; snaplen 96",
		190, false, 16),
	protocolSample(ampNetBIOS, "NetBIOS: home file server 198.51.100.10 answers 2,300 forged NBSTAT requests for * from 203.0.113.7 "+
		"with 20 names (a request flood too); 12 outside hosts answer 192 each to home victim 198.51.100.77; snaplen 96", 2300, true, 192),
	protocolSample(ampPortmap, "portmap: home NFS server 198.51.100.10 answers 900 forged DUMP calls for 203.0.113.7 with 60 "+
		"mappings; 12 outside servers answer 75 each to home victim 198.51.100.77; snaplen 96", 900, false, 75),
	protocolSample(ampMSSQL, "MS-SQL browser: home server 198.51.100.10 answers 950 forged CLNT_UCAST_EX requests for 203.0.113.7 "+
		"naming 9 instances; 12 outside browsers answer 80 each to home victim 198.51.100.77; snaplen 96", 950, false, 80),
	protocolSample(ampWSD, "WS-Discovery: home camera 198.51.100.10 answers 250 forged probes for 203.0.113.7 with ProbeMatches "+
		"in 3 fragments; 12 outside cameras answer 21 each to home victim 198.51.100.77; snaplen 96", 250, false, 21),
	protocolSample(ampARD, "ARD: home Mac 198.51.100.10 answers 990 forged 5-byte information requests for 203.0.113.7 with "+
		"1,034 bytes; 12 outside Macs answer 83 each to home victim 198.51.100.77; snaplen 96", 990, false, 83),
	protocolSample(ampCoAP, "CoAP: home gateway 198.51.100.10 answers 960 forged GETs of /.well-known/core for 203.0.113.7 "+
		"with 22 links; 12 outside devices answer 80 each to home victim 198.51.100.77; snaplen 96", 960, false, 80),
	protocolSample(ampRIP, "RIP: home router 198.51.100.10 answers 520 forged RIPv1 whole-table requests for 203.0.113.7 with "+
		"100 routes in 4 datagrams; 12 outside routers answer 44 each to home victim 198.51.100.77; snaplen 96", 520, false, 44),
	protocolSample(ampTFTP, "TFTP: home boot server 198.51.100.10 answers 340 forged read requests for pxelinux.0 from "+
		"203.0.113.7, sending the first 512-byte block 6 times from a transfer port; 12 outside servers to home victim "+
		"198.51.100.77, 29 each; snaplen 96", 340, false, 29),
	protocolSample(ampUbiquiti, "Ubiquiti discovery: home router 198.51.100.10 answers 2,500 forged probes for 203.0.113.7 "+
		"(a request flood too); 12 outside routers answer 210 each to home victim 198.51.100.77; snaplen 96", 2500, true, 210),
	protocolSample(ampDVR, "DVR discovery: home recorder 198.51.100.10 answers 1,500 forged DHDiscover searches for 203.0.113.7 "+
		"with its description (a request flood too); 12 outside recorders answer 125 each to home victim 198.51.100.77; snaplen 96",
		1500, true, 125),
	{
		Name: "multi_vector", Snaplen: 96, Compressed: true, HomeNet: ampHome,
		Tshark: "ntp || dns || chargen || memcache || " + fragments,
		About: "a tap in front of 198.51.100.200 during one attack through four protocols at once: monlist replies of 12 NTP " +
			"servers, ANY answers of 12 resolvers, CharGEN lines of 12 hosts and memcached values of 12 caches, all within the " +
			"same 50 s; four victim_flood incidents, one attack in the summary; snaplen 96",
		Incidents: []Incident{
			ampNTP.victimSide(multiVictim, 12, 2),
			ampDNS.victimSide(multiVictim, 12, 27),
			ampCharGEN.victimSide(multiVictim, 12, 184),
			ampMemcached.victimSide(multiVictim, 12, 1),
		},
		build: func(c *capture, rng *rand.Rand) {
			start, span := Epoch.Add(5*time.Second), 50*time.Second
			ampNTP.flood(c, rng, reflectorsFrom(1, 12), multiVictim, 2, start, span)
			ampDNS.flood(c, rng, reflectorsFrom(21, 12), multiVictim, 27, start, span)
			ampCharGEN.flood(c, rng, reflectorsFrom(41, 12), multiVictim, 184, start, span)
			ampMemcached.flood(c, rng, reflectorsFrom(61, 12), multiVictim, 1, start, span)
		},
	},
	{
		Name: "udp_fallback", Snaplen: 96, Compressed: true, HomeNet: ampHome, Tshark: ampSLP.tshark,
		About: "a tap in front of 198.51.100.77: 1,400-byte SLP replies from port 427, which no classifier reads, " +
			"of 12 reflectors, 70 each, while the victim sent no request: a victim_flood of udp/427; snaplen 96",
		Incidents: []Incident{ampSLP.victimSide(floodVictim, len(ampReflectors), 70)},
		build: func(c *capture, rng *rand.Rand) {
			ampSLP.flood(c, rng, ampReflectors, floodVictim, 70, Epoch.Add(5*time.Second), 50*time.Second)
		},
	},
}
