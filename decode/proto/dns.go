package proto

// DNS, port 53: open resolvers and authoritative servers answering small queries with large
// answers. Attackers ask for ANY (the 2013 attacks on Spamhaus asked ripe.net for ANY), for
// DNSSEC records (RRSIG, DNSKEY), for large TXT records, and advertise an EDNS0 buffer of
// 4096 bytes or more so that the answer comes back whole over UDP; US-CERT puts DNS's
// amplification at 28 to 54. Everyday answers are a few times their queries: a resolver's A
// and AAAA answers are 100 to 200 bytes for 40 to 60-byte queries.
//
// Sources: RFC 1035 sections 4.1.1-4.1.2 (header, question) and 4.2.1 (the 512-byte UDP
// limit), RFC 6891 section 6 (the OPT record: its class is the requester's UDP payload size),
// RFC 4034 (RRSIG 46, DNSKEY 48), RFC 8482 (minimal answers to ANY), DNS Flag Day 2020
// (1232-byte EDNS0 buffers), US-CERT TA14-017A, Wireshark's epan/dissectors/packet-dns.c.

// DNSPort is the DNS server port (RFC 1035 section 4.2.1).
const DNSPort = 53

// The vectors of DNSProtocol.
const (
	VectorDNSAny    = iota // QTYPE ANY (255)
	VectorDNSDNSSEC        // QTYPE RRSIG (46) or DNSKEY (48)
	VectorDNSTXT           // QTYPE TXT (16)
	VectorDNSEDNS          // another QTYPE with an EDNS0 buffer above 1232 bytes
)

// DNS header fields and limits.
const (
	dnsHeaderLen = 12
	dnsTypeTXT   = 16
	dnsTypeOPT   = 41
	dnsTypeRRSIG = 46
	dnsTypeKEY   = 48
	dnsTypeANY   = 255
	// dnsClassicLimit is the largest answer a client that did not ask for more receives over
	// UDP (RFC 1035 section 4.2.1): a longer one amplifies because it was asked to.
	dnsClassicLimit = 512
	// dnsFlagDayBuffer is the EDNS0 buffer resolvers advertise since DNS Flag Day 2020: room
	// for answers that need no fragmentation. Asking for more is asking for large answers.
	dnsFlagDayBuffer = 1232
	dnsRcodeRefused  = 5
)

const dnsRemediation = "Make the resolver answer only its own clients (BIND: allow-recursion and allow-query-cache " +
	"{ localnets; }; Unbound: access-control), and enable response rate limiting on authoritative servers " +
	"(BIND rate-limit, Knot/NSD RRL)."

// DNSProtocol is DNS's entry in the table.
var DNSProtocol = Protocol{
	Name:  "dns",
	Ports: []uint16{DNSPort},
	Vectors: []Vector{
		VectorDNSAny: {Name: "dns/any", Remediation: dnsRemediation + " Answer ANY minimally (RFC 8482; BIND minimal-any yes)."},
		// DNSSEC, TXT and large buffers are everyday DNS too: validating resolvers fetch
		// DNSKEY, mail servers TXT, older resolvers advertise 4096 bytes. Exposure or a scan
		// through them alone is graded low.
		VectorDNSDNSSEC: {Name: "dns/dnssec", Weak: true, Remediation: dnsRemediation},
		VectorDNSTXT:    {Name: "dns/txt", Weak: true, Remediation: dnsRemediation},
		VectorDNSEDNS: {Name: "dns/edns", Weak: true, Remediation: dnsRemediation +
			" Cap the EDNS0 buffer of answers at 1232 bytes (BIND max-udp-size, Unbound max-udp-size)."},
	},
	Classify: classifyDNS,
	Thresholds: Thresholds{
		// A resolver's answers are a few times its queries, an attack's tens of times.
		ReflectionMinAmplification: 10,
		// A validating resolver asks for every DNSKEY it gets, and its answers are up to
		// 20 times its queries; a victim asked for none.
		VictimFloodMinAmplification: 20,
		// A recursive resolver queries thousands of authoritative servers for DNSKEY, DS
		// and TXT records; a scanner probes whole networks.
		ScanMinTargets: 256,
		// An authoritative server of a popular zone receives thousands of DNSKEY, TXT and
		// large-buffer queries a minute from resolvers.
		RequestFloodMinRequests: 10_000,
	},
}

// classifyDNS judges a standard query (QR 0, opcode QUERY, one question) sent to port 53 and
// its answer sent from port 53 by the question's type; an answer repeats its question, so
// request and answer get the same vector without any state. The EDNS0 vector is told by the
// buffer a query advertises and by the size of an answer: only a client that advertised more
// than 1232 bytes gets an answer longer than that. An answer carries data when it holds
// answer records and is longer than the 512 bytes of classic DNS; a refusal is REFUSED, or a
// truncated answer without records (response rate limiting's "slip").
func classifyDNS(m *Message) {
	b := m.Payload
	if len(b) < dnsHeaderLen {
		return
	}
	flags := be16(b, 2)
	qr, opcode := flags>>15, flags>>11&0xf
	if opcode != 0 || be16(b, 4) != 1 {
		return
	}
	end, ok := skipName(b, dnsHeaderLen)
	if !ok || end+4 > len(b) {
		return // the question was not captured: too little to tell the vector
	}
	qtype := be16(b, end)
	vec := int8(NoVector)
	switch qtype {
	case dnsTypeANY:
		vec = VectorDNSAny
	case dnsTypeRRSIG, dnsTypeKEY:
		vec = VectorDNSDNSSEC
	case dnsTypeTXT:
		vec = VectorDNSTXT
	}
	ancount := be16(b, 6)
	switch {
	case qr == 0 && m.DstPort == DNSPort:
		if vec == NoVector && dnsBuffer(b, end+4) > dnsFlagDayBuffer {
			vec = VectorDNSEDNS
		}
		if vec != NoVector {
			m.Dir, m.Vector = DirRequest, vec
		}
	case qr == 1 && m.SrcPort == DNSPort:
		if vec == NoVector && m.Len > dnsFlagDayBuffer {
			vec = VectorDNSEDNS
		}
		if vec == NoVector {
			return
		}
		m.Dir, m.Vector = DirResponse, vec
		rcode, tc := flags&0xf, flags&0x0200 != 0
		m.Data = rcode == 0 && ancount > 0 && m.Len > dnsClassicLimit
		m.Refusal = rcode == dnsRcodeRefused || tc && ancount == 0
	}
	m.Partial = len(b) < m.Len
}

// dnsBuffer is the UDP payload size a query advertises in an EDNS0 OPT record (RFC 6891
// section 6.1.2) right after its question at off, as queries carry it with no answer or
// authority records; 0 when it has none, or it was not captured.
func dnsBuffer(b []byte, off int) int {
	if be16(b, 6) != 0 || be16(b, 8) != 0 || be16(b, 10) == 0 {
		return 0
	}
	// The OPT record's owner is the root: one zero byte, then its type and its class.
	if off+5 > len(b) || b[off] != 0 || be16(b, off+1) != dnsTypeOPT {
		return 0
	}
	return int(be16(b, off+3))
}
