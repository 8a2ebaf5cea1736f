package decode

import "strconv"

// LinkType is a link-layer header type of https://www.tcpdump.org/linktypes.html. Files give
// it in 16 bits (pcapng) or in the low 16 bits of a 32-bit field whose upper bits say whether
// frames carry an FCS (classic pcap); gopacket's 8-bit layers.LinkType is not used, as it cuts
// LINKTYPE_LINUX_SLL2 (276) to 20.
type LinkType uint16

// Link types read by the Decoder.
const (
	LinkTypeNull       LinkType = 0   // BSD loopback, family in the writer's byte order
	LinkTypeEthernet   LinkType = 1   // IEEE 802.3
	LinkTypePPP        LinkType = 9   // PPP, with or without the HDLC-like address and control bytes
	LinkTypeRawOld     LinkType = 12  // DLT_RAW on most BSDs and old libpcap
	LinkTypeRawOpenBSD LinkType = 14  // DLT_RAW on OpenBSD
	LinkTypePPPHDLC    LinkType = 50  // PPP in HDLC-like framing, or Cisco HDLC
	LinkTypeRaw        LinkType = 101 // raw IPv4 or IPv6
	LinkTypeCHDLC      LinkType = 104 // Cisco HDLC
	LinkTypeLoop       LinkType = 108 // OpenBSD loopback, family in network order
	LinkTypeLinuxSLL   LinkType = 113 // Linux cooked capture v1
	LinkTypeIPv4       LinkType = 228
	LinkTypeIPv6       LinkType = 229
	LinkTypeNFLOG      LinkType = 239 // Linux netfilter NFLOG: a header and TLVs, one of which holds the packet
	LinkTypeLinuxSLL2  LinkType = 276 // Linux cooked capture v2
)

// linkTypeNames are the names the summary and the metrics show.
var linkTypeNames = map[LinkType]string{
	LinkTypeNull: "Null", LinkTypeEthernet: "Ethernet", LinkTypeRawOld: "Raw", LinkTypeRawOpenBSD: "Raw",
	LinkTypeRaw: "Raw", LinkTypeLoop: "Loop", LinkTypeLinuxSLL: "Linux SLL", LinkTypeIPv4: "IPv4",
	LinkTypeIPv6: "IPv6", LinkTypeLinuxSLL2: "Linux SLL2", LinkTypePPP: "PPP", LinkTypePPPHDLC: "PPP HDLC",
	LinkTypeCHDLC: "Cisco HDLC", LinkTypeNFLOG: "NFLOG",
}

// String is the link type's name, or "linktype N" for one the decoder does not read.
func (l LinkType) String() string {
	if n, ok := linkTypeNames[l]; ok {
		return n
	}
	return "linktype " + strconv.Itoa(int(l))
}

// linkTypeOfHeader takes the link type of a classic pcap file header's 32-bit field: the low
// 16 bits (draft-ietf-opsawg-pcap section 4); the bits above say whether frames end in an FCS
// and are masked off as libpcap does.
func linkTypeOfHeader(v uint32) LinkType { return LinkType(v & 0xffff) }

// Ethernet types (IEEE 802 numbers) the link layer walk follows. GRE, Geneve and the Linux
// cooked captures name their payload with the same numbers.
const (
	etherTypeIPv4          = 0x0800
	etherTypeIPv6          = 0x86dd
	etherTypeVLAN          = 0x8100 // IEEE 802.1Q
	etherTypeQinQ          = 0x88a8 // IEEE 802.1ad service tag
	etherTypeQinQ1         = 0x9100 // pre-standard QinQ (Cisco, Juniper)
	etherTypeQinQ2         = 0x9200 // pre-standard QinQ, rarer
	etherTypePPPoESession  = 0x8864 // RFC 2516; 0x8863, discovery, carries no packets
	etherTypeMPLS          = 0x8847 // RFC 3032
	etherTypeMPLSMulticast = 0x8848
	etherTypeTEB           = 0x6558 // transparent Ethernet bridging: an Ethernet frame (GRE, Geneve)
	etherTypeERSPAN        = 0x88be // ERSPAN types I and II, in GRE
	etherTypeERSPAN3       = 0x22eb // ERSPAN type III, in GRE
	etherTypePPP           = 0x880b // PPP, in PPTP's enhanced GRE (RFC 2637)
)
