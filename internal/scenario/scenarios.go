package scenario

import (
	"net/netip"

	"github.com/google/gopacket/layers"
)

// A full monlist reply series of ntpd's default 600-entry monitor list is 100 packets of
// six items: 8 + 6*72 = 440 bytes each.
const (
	fullReplyPackets = 100
	fullReplyBytes   = fullReplyPackets * 440
)

// scenarios are the samples of pcaps/, in the order `ntpgen pcaps` writes them: the
// detectors' samples, then the reflection through each encapsulation. Their incidents are
// worked out from the design of each, not copied from ntpwatch's output.
var scenarios = append([]Scenario{
	{
		Name:      "reflection",
		About:     "home NTP server 198.51.100.10 answers 30 forged 8-byte MON_GETLIST_1 requests for victim 203.0.113.7 with full 100-packet monlist replies, among mode 3/4 clients",
		Incidents: reflected("198.51.100.10", "203.0.113.7", 8),
		build:     buildReflection,
	},
	{
		Name:      "reflection6",
		About:     "the reflection over IPv6 on a QinQ trunk (VLAN 100/20): server 2001:db8:10::123 answers 30 forged 48-byte MON_GETLIST_1 requests for 2001:db8:feed::7; snaplen 128",
		Snaplen:   128,
		Incidents: reflected("2001:db8:10::123", "2001:db8:feed::7", 48),
		build:     buildReflection6,
	},
	{
		Name:    "victim_flood",
		About:   "a tap in front of 198.51.100.77: full monlist replies from 120 reflectors (192.0.2.1-120), no request from the victim; snaplen 96",
		Snaplen: 96,
		HomeNet: netip.MustParsePrefix("198.51.100.0/24"),
		Incidents: []Incident{
			{Kind: "victim_flood", Victim: addr("198.51.100.77"),
				Responses: Traffic{120 * fullReplyPackets, 120 * fullReplyBytes}, Reflectors: 120},
		},
		build: buildVictimFlood,
	},
	{
		Name:    "scan",
		About:   "scanner 203.0.113.66 probes 198.18.0.0/22 with 48-byte MON_GETLIST_1 requests; 3 amplifiers answer with data, 2 patched servers with err=4",
		HomeNet: netip.MustParsePrefix("198.18.0.0/22"),
		Incidents: []Incident{
			{Kind: "scan", Scanner: addr("203.0.113.66"), Requests: Traffic{1024, 1024 * 48},
				Responses: Traffic{3*scanReplyPackets + 2, 3*scanReplyBytes + 2*8},
				Targets:   1024, Amplifiers: 3, Patched: 2},
			scanAmplifier("198.18.0.17"),
			scanAmplifier("198.18.1.200"),
			scanAmplifier("198.18.3.5"),
		},
		build: buildScan,
	},
	{
		Name:    "benign",
		About:   "busy public server 198.51.100.123 (300 clients, 20 of them behind one NAT address), ntpq READVAR monitoring every 10 s, one admin ntpdc monlist",
		HomeNet: netip.MustParsePrefix("198.51.100.0/24"),
		build:   buildBenign,
	},
	{
		Name:    "spoofed_egress",
		About:   "egress tap of 192.0.2.0/24: an inside host sends monlist requests forged from 203.0.113.50 to 50 outside servers",
		HomeNet: netip.MustParsePrefix("192.0.2.0/24"),
		Incidents: []Incident{
			{Kind: "spoofed_egress", Victim: addr("203.0.113.50"), Requests: Traffic{50 * 10, 50 * 10 * 8}, Reflectors: 50},
		},
		build: buildSpoofedEgress,
	},
	{
		Name:    "request_flood",
		About:   "patched NTP server 198.51.100.20 flooded with 1,800 forged 8-byte MON_GETLIST_1 requests (150 a second, sources 203.0.113.11-16) it answers with err=4 one time in ten, and not at all otherwise, among mode 3/4 clients",
		HomeNet: netip.MustParsePrefix("198.51.100.0/24"),
		Incidents: []Incident{
			// The victim named first is the forged source with the most request bytes: all
			// six sent 300, so the lowest address.
			{Kind: "request_flood", Reflector: addr("198.51.100.20"), Victim: addr("203.0.113.11"),
				Requests: Traffic{floodRequests, floodRequests * 8}, Responses: Traffic{floodRequests / 10, floodRequests / 10 * 8},
				Victims: floodSources},
		},
		build: buildRequestFlood,
	},
}, append(append(viaScenarios, protocolScenarios...), everydayScenarios...)...)

// viaRequests is the forged requests of reflectionVia.
const viaRequests = 25

// The addresses of the samples of tunnels, mirror sessions and link types: the reflection's
// server and victim, and the home network the tunnels' home ends serve.
const (
	viaServer  = "198.51.100.10"
	viaVictim  = "203.0.113.7"
	viaServer6 = "2001:db8:10::123"
	viaVictim6 = "2001:db8:feed::7"
)

var viaHome = netip.MustParsePrefix("198.51.100.0/24")

// via is a sample of the reflection of reflectionVia as a carrier puts it on the tapped
// link, headers only (a snaplen of 128 bytes keeps every header of the deepest encapsulation
// and the mode 7 header), gzip-compressed to keep pcaps/ small.
func via(name, about string, carry func() carrier) Scenario {
	return Scenario{Name: name, About: about, Snaplen: 128, Compressed: true,
		Incidents: reflectedN(viaServer, viaVictim, viaRequests, 8),
		build:     reflectionVia(viaServer, viaVictim, nil), carry: carry}
}

// ends is the outer addressing of a point-to-point tunnel between the home router at local
// and the remote end at remote.
func ends(local, remote string) tunnelEnds {
	return tunnelEnds{home: viaHome, local: Endpoints{SrcMAC: macRouter, DstMAC: macPeer, Src: addr(local), Dst: addr(remote)}}
}

// viaScenarios are the samples of the reflection through each encapsulation and link type
// the decoder reads.
var viaScenarios = []Scenario{
	via("reflection_erspan1", "the reflection mirrored by a switch's ERSPAN type I session (GRE 0x88be without sequence numbers) from 192.0.2.241 to a collector",
		func() carrier { return &erspanMirror{version: 1} }),
	func() Scenario {
		s := via("reflection_erspan2", "the reflection on VLAN 10 mirrored by ERSPAN type II (session 100, GRE sequence numbers, the tag kept in the mirrored frames)",
			func() carrier { return &erspanMirror{version: 2, session: 100, vlan: 10} })
		s.build = reflectionVia(viaServer, viaVictim, []uint16{10})
		return s
	}(),
	via("reflection_erspan3", "the reflection mirrored by ERSPAN type III (GRE 0x22eb, session 300, timestamps)",
		func() carrier { return &erspanMirror{version: 3, session: 300} }),
	via("reflection_vxlan", "the reflection seen by a cloud traffic mirror session: VXLAN (UDP 4789, VNI 4242) to the mirror target",
		func() carrier { return &vxlanMirror{vni: 4242} }),
	via("reflection_geneve", "the reflection through a Geneve overlay (UDP 6081, VNI 7001, three options) that carries IP packets",
		func() carrier { return &geneveOverlay{tunnelEnds: ends("192.0.2.245", "192.0.2.246"), vni: 7001} }),
	via("reflection_gre", "the reflection through a GRE tunnel between two routers (IPv4 over IPv4, with checksum, key 42 and sequence numbers)",
		func() carrier {
			return &greTunnel{tunnelEnds: ends("192.0.2.247", "192.0.2.248"), key: 42, checksum: true}
		}),
	via("reflection_gretap6", "the reflection's Ethernet frames bridged over IPv6 in GRE (transparent Ethernet bridging, 0x6558; key 0x138900, an NVGRE VSID of 5001)",
		func() carrier {
			return &greTunnel{tunnelEnds: ends("2001:db8:ffff::1", "2001:db8:ffff::2"), key: 5001 << 8, teb: true}
		}),
	via("reflection_pppoe", "the reflection on a broadband access link: the server is a subscriber behind PPPoE session 0x2a0f on QinQ tags 100/20",
		func() carrier { return &pppoeAccess{home: viaHome, vlans: []uint16{100, 20}, session: 0x2a0f} }),
	via("reflection_mpls", "the reflection across a provider's MPLS core: a transport and a VPN label each way, IPv4 after the bottom label",
		func() carrier {
			return &mplsCore{home: viaHome, labels: [2][]uint32{{16001, 24005}, {16002, 24006}}}
		}),
	via("reflection_mpls_pw", "the reflection's Ethernet frames in an MPLS pseudowire with a control word (one label each way)",
		func() carrier { return &mplsCore{home: viaHome, labels: [2][]uint32{{299776}, {299777}}, pw: true} }),
	via("reflection_gtpu", "the reflection on a mobile core's user plane: the server is a subscriber's device, its packets in GTP-U (UDP 2152, a TEID each way, PDU session container)",
		func() carrier {
			return &gtpUser{tunnelEnds: ends("192.0.2.249", "192.0.2.250"), teid: [2]uint32{0x1000a, 0x2000b}}
		}),
	via("reflection_ipip", "the reflection through an IPv4-in-IPv4 tunnel (IP protocol 4) between two routers",
		func() carrier { return &ipTunnel{tunnelEnds: ends("192.0.2.251", "192.0.2.252")} }),
	func() Scenario {
		s := via("reflection_6in4", "the reflection over IPv6 through a 6in4 tunnel (IP protocol 41): 2001:db8:10::123 answers forged requests for 2001:db8:feed::7",
			func() carrier { return &ipTunnel{tunnelEnds: ends("192.0.2.253", "192.0.2.254")} })
		s.Incidents = reflectedN(viaServer6, viaVictim6, viaRequests, 8)
		s.build = reflectionVia(viaServer6, viaVictim6, nil)
		return s
	}(),
	via("reflection_ppp", "the reflection on a PPP serial link (link type 9, HDLC-like framing)",
		func() carrier { return &serialLink{lt: layers.LinkTypePPP} }),
	via("reflection_ppp_hdlc", "the reflection on a PPP link captured as PPP in HDLC framing (link type 50)",
		func() carrier { return &serialLink{lt: layers.LinkTypePPP_HDLC} }),
	via("reflection_chdlc", "the reflection on a Cisco HDLC serial link (link type 104)",
		func() carrier { return &serialLink{lt: layers.LinkTypeC_HDLC} }),
	func() Scenario {
		// Whole frames: tshark reads no NFLOG TLV that the snaplen cut.
		s := via("reflection_nflog", "the reflection as the server's own iptables NFLOG rule logs it (link type 239, group 5, prefix ntp); whole frames",
			func() carrier { return &nflogRule{home: viaHome} })
		s.Snaplen = 0
		return s
	}(),
}

// The request flood: floodRequests forged requests from floodSources sources in turn.
const (
	floodRequests = 1800
	floodSources  = 6
)

// reflected is what monlistAttack makes of 30 forged requests of reqSize bytes, each
// answered with a full reply: a reflection from server to victim, and the server exposed as
// an amplifier by the same traffic.
func reflected(server, victim string, reqSize uint64) []Incident {
	return reflectedN(server, victim, 30, reqSize)
}

// reflectedN is reflected of n requests.
func reflectedN(server, victim string, n, reqSize uint64) []Incident {
	requests := Traffic{n, n * reqSize}
	responses := Traffic{n * fullReplyPackets, n * fullReplyBytes}
	return []Incident{
		{Kind: "reflection", Reflector: addr(server), Victim: addr(victim), Requests: requests, Responses: responses, Victims: 1},
		{Kind: "exposed_amplifier", Reflector: addr(server), Requests: requests, Responses: responses, Victims: 1},
	}
}

// The amplifiers of the scan list 40 clients: six packets of six items (440 bytes) and one
// of four (8 + 4*72 = 296 bytes).
const (
	scanReplyPackets = 7
	scanReplyBytes   = 6*440 + 296
)

// scanAmplifier is the exposed_amplifier incident of a host that answers the scan's one
// 48-byte probe with its monitor list.
func scanAmplifier(host string) Incident {
	return Incident{Kind: "exposed_amplifier", Reflector: addr(host),
		Requests: Traffic{1, 48}, Responses: Traffic{scanReplyPackets, scanReplyBytes}, Victims: 1}
}
