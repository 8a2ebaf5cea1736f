package scenario

import "net/netip"

// A full monlist reply series of ntpd's default 600-entry monitor list is 100 packets of
// six items: 8 + 6*72 = 440 bytes each.
const (
	fullReplyPackets = 100
	fullReplyBytes   = fullReplyPackets * 440
)

// scenarios are the samples of pcaps/, in the order `ntpgen pcaps` writes them. Their
// incidents are worked out from the design of each, not copied from ntpwatch's output.
var scenarios = []Scenario{
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
	requests := Traffic{30, 30 * reqSize}
	responses := Traffic{30 * fullReplyPackets, 30 * fullReplyBytes}
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
