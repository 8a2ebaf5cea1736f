package decode

import "github.com/ntpwatch/ntpwatch/decode/proto"

// Problem is why a frame was not decoded down to a message of the protocol table. Problems
// are counted by reason in Stats; none of them stops a run. A frame that is simply other
// traffic (TCP, ARP, LLDP, PPPoE discovery, PPP's control protocols, a UDP datagram on no
// port of the table) has none: a problem says that decoding stopped where the frame could
// have held a message.
type Problem uint8

const (
	ProblemNone           Problem = iota
	ProblemTruncated              // the capture holds fewer bytes than the headers need
	ProblemLinkType               // a link type the decoder does not read
	ProblemIPHeader               // a malformed IPv4 or IPv6 header, or one longer than the frame on the wire
	ProblemUDPHeader              // a malformed UDP header (length below 8 or beyond the IP datagram)
	ProblemOrphanFragment         // a non-first fragment whose first fragment was not seen
	// ProblemUnsupportedEncap is an encapsulation, or a variant of one, that the decoder
	// recognises but does not read (Encap's last entry names it): EtherIP, GRE with source
	// routing or of an unknown version, ERSPAN of an unknown version or frame type, an MPLS
	// payload that is neither IPv4, IPv6 nor a pseudowire control word, a GTP-U or Geneve
	// header of an unknown version, a GTP-U packet that carries no IP.
	ProblemUnsupportedEncap
	ProblemTunnelDepth    // tunnels nested deeper than MaxTunnelDepth, or more tags or labels than maxHeaderChain
	ProblemTunnelFragment // an IP fragment of a tunnel packet: the decoder does not reassemble
	// The reasons of a malformed message (proto.Malformed). They carry NTP's name because NTP
	// is the one protocol whose classifier rejects datagrams: its port carries nothing else,
	// while other protocols' ports do, and their classifiers leave what they do not know as
	// proto.DirNone.
	ProblemNTPShort   // a port-123 payload too short for the header of its mode
	ProblemNTPMode    // mode 0 (reserved)
	ProblemNTPVersion // version 0 or above 4
	ProblemNTPLength  // header counts (items, item size, data count) beyond the payload
	numProblems
)

var problemNames = [numProblems]string{
	ProblemNone:             "none",
	ProblemTruncated:        "truncated",
	ProblemLinkType:         "unsupported_link_type",
	ProblemIPHeader:         "bad_ip_header",
	ProblemUDPHeader:        "bad_udp_header",
	ProblemOrphanFragment:   "orphan_fragment",
	ProblemUnsupportedEncap: "unsupported_encapsulation",
	ProblemTunnelDepth:      "tunnel_too_deep",
	ProblemTunnelFragment:   "fragmented_tunnel",
	ProblemNTPShort:         "ntp_short",
	ProblemNTPMode:          "ntp_bad_mode",
	ProblemNTPVersion:       "ntp_bad_version",
	ProblemNTPLength:        "ntp_bad_length",
}

// String is the reason's name as it appears in summaries and metric labels.
func (p Problem) String() string {
	if p < numProblems {
		return problemNames[p]
	}
	return "unknown"
}

// Problems lists every reason but ProblemNone, in order, for summaries and metrics.
func Problems() []Problem {
	ps := make([]Problem, 0, numProblems-1)
	for p := ProblemNone + 1; p < numProblems; p++ {
		ps = append(ps, p)
	}
	return ps
}

// problemOf maps a classifier's reason to the Problem counted for it.
func problemOf(m proto.Malformed) Problem {
	switch m {
	case proto.WellFormed:
		return ProblemNone
	case proto.Truncated:
		return ProblemTruncated
	case proto.Short:
		return ProblemNTPShort
	case proto.BadMode:
		return ProblemNTPMode
	case proto.BadVersion:
		return ProblemNTPVersion
	}
	return ProblemNTPLength
}
