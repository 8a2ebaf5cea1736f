package sinks

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"net/netip"
)

// IP protocol numbers with ports, or their ICMP equivalents, in a Community ID.
const (
	protoICMP   = 1
	protoTCP    = 6
	protoUDP    = 17
	protoICMPv6 = 58
	protoSCTP   = 132
)

// icmpCounterpart maps an ICMP request type to its reply and back (Zeek's ICMP analyzer,
// which the Community ID spec follows): the pair then hashes like one flow. A type without a
// counterpart is one-way.
var icmpCounterpart = map[uint8]map[uint16]uint16{
	protoICMP: {8: 0, 0: 8, 13: 14, 14: 13, 15: 16, 16: 15, 10: 9, 9: 10, 17: 18, 18: 17},
	protoICMPv6: {128: 129, 129: 128, 130: 131, 131: 130, 133: 134, 134: 133, 135: 136, 136: 135,
		139: 140, 140: 139, 144: 145, 145: 144},
}

// CommunityID returns the Community ID v1 of a flow (https://github.com/corelight/community-id-spec):
// "1:" and the base64 SHA-1 of the seed, both addresses, the protocol, a zero byte and both
// ports, in network byte order, with the endpoints ordered so that both directions of a flow
// give the same ID. For ICMP and ICMPv6 the ports are the type and code. Suricata writes it
// as community_id, Zeek's package and Elastic as network.community_id.
func CommunityID(seed uint16, proto uint8, src, dst netip.Addr, sport, dport uint16) string {
	src, dst = src.Unmap().WithZone(""), dst.Unmap().WithZone("")
	ported := proto == protoTCP || proto == protoUDP || proto == protoSCTP
	oneWay := false
	if m, ok := icmpCounterpart[proto]; ok {
		ported = true
		if reply, ok := m[sport]; ok {
			dport = reply
		} else {
			oneWay = true
		}
	}
	if c := src.Compare(dst); !oneWay && (c > 0 || c == 0 && ported && sport > dport) {
		src, dst, sport, dport = dst, src, dport, sport
	}
	var buf [2 + 16 + 16 + 2 + 4]byte
	b := binary.BigEndian.AppendUint16(buf[:0], seed)
	b = append(b, src.AsSlice()...)
	b = append(b, dst.AsSlice()...)
	b = append(b, proto, 0)
	if ported {
		b = binary.BigEndian.AppendUint16(b, sport)
		b = binary.BigEndian.AppendUint16(b, dport)
	}
	sum := sha1.Sum(b)
	return "1:" + base64.StdEncoding.EncodeToString(sum[:])
}
