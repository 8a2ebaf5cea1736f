package decode

import "github.com/google/gopacket/layers"

// Link types read by the Decoder, with their numbers from https://www.tcpdump.org/linktypes.html.
// gopacket v1.1.19 declares layers.LinkType as a uint8, so link types above 255 arrive cut to
// their low byte; pcapgo's readers do that cut themselves, and the constants below follow it.
const (
	LinkTypeNull       = layers.LinkTypeNull     // 0, BSD loopback, family in the writer's byte order
	LinkTypeEthernet   = layers.LinkTypeEthernet // 1
	LinkTypeRawOld     = layers.LinkType(12)     // DLT_RAW on most BSDs and old libpcap
	LinkTypeRawOpenBSD = layers.LinkType(14)     // DLT_RAW on OpenBSD
	LinkTypeRaw        = layers.LinkTypeRaw      // 101, raw IPv4 or IPv6
	LinkTypeLoop       = layers.LinkTypeLoop     // 108, OpenBSD loopback, family in network order
	LinkTypeLinuxSLL   = layers.LinkTypeLinuxSLL // 113, Linux cooked capture v1
	LinkTypeIPv4       = layers.LinkTypeIPv4     // 228
	LinkTypeIPv6       = layers.LinkTypeIPv6     // 229
	// LinkTypeLinuxSLL2 is LINKTYPE_LINUX_SLL2 (276, Linux cooked capture v2) cut to 8 bits (20).
	// Number 20 itself is unassigned, so the cut is unambiguous.
	LinkTypeLinuxSLL2 = layers.LinkType(276 & 0xff)
)

// Ethernet types (IEEE 802 numbers) the link layer walk follows.
const (
	etherTypeIPv4  = 0x0800
	etherTypeIPv6  = 0x86dd
	etherTypeVLAN  = 0x8100 // IEEE 802.1Q
	etherTypeQinQ  = 0x88a8 // IEEE 802.1ad service tag
	etherTypeQinQ1 = 0x9100 // pre-standard QinQ (Cisco, Juniper)
	etherTypeQinQ2 = 0x9200 // pre-standard QinQ, rarer
)
