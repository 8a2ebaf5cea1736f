package proto_test

import (
	"encoding/binary"
	"encoding/hex"
	"testing"

	"github.com/ntpwatch/ntpwatch/decode/proto"
)

// dnsMessage builds a DNS message with one question for name of type qtype: a query
// (response false) or an answer with ancount records of filler bytes; a query with buffer
// above 0 carries an EDNS0 OPT record advertising it.
func dnsMessage(response bool, rcode uint16, name string, qtype uint16, buffer uint16, ancount uint16, filler int) []byte {
	flags := uint16(0x0100) // RD
	if response {
		flags |= 0x8000 | rcode
	}
	b := binary.BigEndian.AppendUint16(nil, 0x1234)
	b = binary.BigEndian.AppendUint16(b, flags)
	arcount := uint16(0)
	if buffer > 0 {
		arcount = 1
	}
	for _, n := range []uint16{1, ancount, 0, arcount} {
		b = binary.BigEndian.AppendUint16(b, n)
	}
	for start := 0; start < len(name); {
		end := start
		for end < len(name) && name[end] != '.' {
			end++
		}
		b = append(b, byte(end-start))
		b = append(b, name[start:end]...)
		start = end + 1
	}
	b = append(b, 0)
	b = binary.BigEndian.AppendUint16(b, qtype)
	b = binary.BigEndian.AppendUint16(b, 1)
	if buffer > 0 {
		b = append(b, 0, 0, 41)
		b = binary.BigEndian.AppendUint16(b, buffer)
		b = append(b, 0, 0, 0, 0, 0, 0)
	}
	return append(b, zeros(filler)...)
}

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDNS checks DNS's verdicts: each query type of the vectors and its answer, the answers
// that carry data and those that refuse, and everyday queries that take no part.
func TestDNS(t *testing.T) {
	const port = proto.DNSPort
	any := dnsMessage(false, 0, "isc.org", 255, 4096, 0, 0)
	checkVerdicts(t, &proto.DNSProtocol, []verdict{
		{name: "ANY", sport: victim, dport: port, payload: any, dir: proto.DirRequest, vector: "dns/any"},
		{name: "ANY without EDNS", sport: victim, dport: port, payload: dnsMessage(false, 0, "isc.org", 255, 0, 0, 0), dir: proto.DirRequest, vector: "dns/any"},
		{name: "ANY answer", sport: port, dport: victim, payload: dnsMessage(true, 0, "isc.org", 255, 0, 20, 3000), dir: proto.DirResponse, vector: "dns/any", data: true},
		{name: "ANY answer cut by the snaplen", sport: port, dport: victim, payload: dnsMessage(true, 0, "isc.org", 255, 0, 20, 0), len: 3025, dir: proto.DirResponse, vector: "dns/any", data: true},
		{name: "minimal ANY answer (RFC 8482)", sport: port, dport: victim, payload: dnsMessage(true, 0, "isc.org", 255, 0, 1, 20), dir: proto.DirResponse, vector: "dns/any"},
		{name: "ANY refused", sport: port, dport: victim, payload: dnsMessage(true, 5, "isc.org", 255, 0, 0, 0), dir: proto.DirResponse, vector: "dns/any", refusal: true},
		{name: "DNSKEY", sport: victim, dport: port, payload: dnsMessage(false, 0, "org", 48, 1232, 0, 0), dir: proto.DirRequest, vector: "dns/dnssec"},
		{name: "RRSIG answer", sport: port, dport: victim, payload: dnsMessage(true, 0, "org", 46, 0, 4, 1500), dir: proto.DirResponse, vector: "dns/dnssec", data: true},
		{name: "TXT", sport: victim, dport: port, payload: dnsMessage(false, 0, "example.com", 16, 0, 0, 0), dir: proto.DirRequest, vector: "dns/txt"},
		{name: "A with a 1232-byte buffer", sport: client, dport: port, payload: dnsMessage(false, 0, "example.com", 1, 1232, 0, 0)},
		{name: "A without EDNS", sport: client, dport: port, payload: dnsMessage(false, 0, "example.com", 1, 0, 0, 0)},
		{name: "A answer", sport: port, dport: client, payload: dnsMessage(true, 0, "example.com", 1, 0, 2, 40)},
		{name: "A with a 65535-byte buffer", sport: victim, dport: port, payload: dnsMessage(false, 0, "example.com", 1, 65535, 0, 0), dir: proto.DirRequest, vector: "dns/edns"},
		{name: "A answer of 1,400 bytes", sport: port, dport: victim, payload: dnsMessage(true, 0, "example.com", 1, 0, 30, 1370), dir: proto.DirResponse, vector: "dns/edns", data: true},
		{name: "truncated answer", sport: port, dport: victim, payload: func() []byte {
			b := dnsMessage(true, 0, "isc.org", 255, 0, 0, 0)
			b[2] |= 0x02 // TC
			return b
		}(), dir: proto.DirResponse, vector: "dns/any", refusal: true},
		{name: "query from port 53", sport: port, dport: port, payload: any, dir: proto.DirRequest, vector: "dns/any"},
		{name: "answer to port 53", sport: port, dport: port, payload: dnsMessage(true, 0, "isc.org", 255, 0, 20, 3000), dir: proto.DirResponse, vector: "dns/any", data: true},
		{name: "query sent from port 53", sport: port, dport: client, payload: any},
		{name: "answer sent to port 53", sport: client, dport: port, payload: dnsMessage(true, 0, "isc.org", 255, 0, 20, 3000)},
		{name: "update (opcode 5)", sport: client, dport: port, payload: func() []byte {
			b := dnsMessage(false, 0, "isc.org", 255, 0, 0, 0)
			b[2] |= 5 << 3
			return b
		}()},
		{name: "question cut by the snaplen", sport: victim, dport: port, payload: any[:16], len: len(any)},
		{name: "zeros", sport: client, dport: port, payload: zeros(40)},
		{name: "pointer loop in the question", sport: client, dport: port, payload: cat(any[:12], []byte{0xc0, 12, 0, 255, 0, 1}), dir: proto.DirRequest, vector: "dns/any"},
		{name: "label too long", sport: client, dport: port, payload: cat(any[:12], []byte{64}, zeros(70))},
		// tcpdump's tests/dns_udp.pcap frame 1: dig's A query for www.tcpdump.org with a
		// 4096-byte buffer and a cookie, as dig sends every query; frame 2 its 224-byte answer.
		{name: "tcpdump dns_udp frame 1", sport: 43966, dport: port,
			payload: unhex(t, "593401200001000000000001037777770774637064756d70036f72670000010001000029100000000000000c000a000842f5d00996f90b13"),
			dir:     proto.DirRequest, vector: "dns/edns"},
		{name: "tcpdump dns_udp frame 2", sport: port, dport: 43966, len: 224,
			payload: unhex(t, "593485000001000200020005037777770774637064756d70036f72670000010001c00c000100010000003c0004c08b2e42")},
		// tcpdump's tests/dnssec.pcap frames 1 and 2: an SSHFP query with the DO bit, and
		// its 3,012-byte signed answer, first bytes.
		{name: "tcpdump dnssec frame 1", sport: 43144, dport: port,
			payload: unhex(t, "51ec01000001000000000001076d6f6e616469630563796e6963036e657400002c00010000291000000080000000"),
			dir:     proto.DirRequest, vector: "dns/edns"},
		{name: "tcpdump dnssec frame 2", sport: port, dport: 43144, len: 3012,
			payload: unhex(t, "51ec81a0000100030006000d076d6f6e616469630563796e6963036e657400002c0001c00c002c00010000011800160101f90fd3"),
			dir:     proto.DirResponse, vector: "dns/edns", data: true},
	})
}
