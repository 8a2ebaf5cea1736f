package proto

import "net/netip"

// NTP, port 123: the monlist abuse of CVE-2013-5211 and its mode 6 and mode 7 relatives.
//
// Sources: RFC 5905 (modes 1-5), RFC 1305 appendix B and RFC 9327 (mode 6), ntpd's
// include/ntp_request.h, ntpd/ntp_request.c and include/ntp_control.h (mode 7 and the monlist
// item layouts), Wireshark's epan/dissectors/packet-ntp.c, US-CERT TA14-013A and TA14-017A,
// Rapid7 R7-2014-12 (mode 6), the ET Open rules 2017918-2017921 (monlist), 2019010-2019021
// (other mode 7 requests) and 2019022 (mode 6 UNSETTRAP).
//
// Everything was checked against tshark on the real captures of the project's decode tests.

// NTPPort is the NTP server port (RFC 5905 section 7.2).
const NTPPort = 123

// The vectors of NTPProtocol, in the order ties are broken when an incident's vector is
// chosen.
const (
	VectorMonlist = iota // mode 7 MON_GETLIST and MON_GETLIST_1: up to 600 entries
	VectorMode7          // another mode 7 request answered with a list or a table
	VectorMode6          // an amplifying mode 6 (ntpq) query
)

// NTPProtocol is NTP's entry in the table.
var NTPProtocol = Protocol{
	Name:  "ntp",
	Ports: []uint16{NTPPort},
	Vectors: []Vector{
		VectorMonlist: {Name: "monlist", Remediation: "Disable monlist: add 'restrict default kod nomodify notrap nopeer noquery' (and 'restrict -6 default ...') " +
			"or 'disable monitor' to ntp.conf, upgrade to ntpd 4.2.7p26 or later, or stop ntpd where no NTP service is needed."},
		VectorMode7: {Name: "mode7", Remediation: "Refuse mode 7 (ntpdc) queries from outside: add 'restrict default kod nomodify notrap nopeer noquery' " +
			"(and 'restrict -6 default ...') to ntp.conf, upgrade to ntpd 4.2.7p26 or later, or stop ntpd where no NTP service is needed."},
		// Mode 6 replies are a few times their requests, not hundreds.
		VectorMode6: {Name: "mode6", Weak: true, Remediation: "Refuse mode 6 (ntpq) queries from outside: add 'restrict default kod nomodify notrap nopeer noquery' " +
			"(and 'restrict -6 default ...') to ntp.conf, keep ntpq access for management hosts only, or stop ntpd where no NTP service is needed."},
	},
	Classify:     classifyNTP,
	ClassifyFlow: classifyNTPFlow,
}

// mode7Vector maps a mode 7 request code (ntpd include/ntp_request.h) to its vector, or
// NoVector for requests whose replies do not amplify (ntpdc's sysinfo, sysstats...).
var mode7Vector = func() (m [256]int8) {
	for i := range m {
		m[i] = NoVector
	}
	m[ReqMonGetList], m[ReqMonGetList1] = VectorMonlist, VectorMonlist
	// PEER_LIST, PEER_LIST_SUM, PEER_INFO, GET_RESTRICT (ET 2019010-21), TRAPS, GET_CTLSTATS
	// and IF_STATS answer with lists or tables several times the request's size.
	for _, c := range []int{0, 1, 2, 16, 29, 34, 44} {
		m[c] = VectorMode7
	}
	return m
}()

// mode6Amplifying marks the mode 6 opcodes abused for amplification: READVAR, READ_MRU (mode
// 6's monlist), REQ_NONCE and UNSETTRAP (ET 2019022).
var mode6Amplifying = func() (m [32]bool) {
	m[2], m[10], m[12], m[31] = true, true, true, true
	return m
}()

// classifyNTP decodes the NTP header into m.NTP and judges it: mode 7 and mode 6 queries of
// the amplifying kinds are requests when sent to port 123 and replies when sent from it;
// everything else (time service, small ntpdc queries, a symmetric peer's ntpdc reply sent to
// port 123) takes no part in amplification.
func classifyNTP(m *Message) {
	n := m.NTP
	if m.Err = parseNTP(m.Payload, m.Len, n); m.Err != WellFormed {
		return
	}
	m.Partial = n.Partial
	vec, isReq := int8(NoVector), false
	switch n.Mode {
	case 7:
		vec = mode7Vector[n.Priv.RequestCode]
		isReq = !n.Priv.Response
		m.Data = !isReq && n.Priv.Err == 0 && n.Priv.Items > 0
		m.Refusal = !isReq && n.Priv.Err == 4
	case 6:
		if mode6Amplifying[n.Ctl.OpCode&31] {
			vec = VectorMode6
		}
		isReq = !n.Ctl.Response
		m.Data = !isReq && !n.Ctl.Error && n.Ctl.Count > 0
	}
	// Requests go to the server's port, replies come from it: anything else has no server
	// side to account.
	if vec == NoVector || isReq && m.DstPort != NTPPort || !isReq && m.SrcPort != NTPPort {
		m.Data, m.Refusal = false, false
		return
	}
	m.Vector = vec
	m.Dir = DirResponse
	if isReq {
		m.Dir = DirRequest
	}
}

// ntpFlowDataLen is the mean payload size from which NTP replies in a flow record carry the
// amplifying data: a full monlist reply packet carries 440 bytes (six 72-byte items), a mode 6
// READVAR fragment up to 480, while the time service answers with the 48-byte header (RFC
// 5905), 68 or 72 with a MAC, and an NTS reply (RFC 8915) with its cookie and authenticator
// comes near 230 bytes: below 300, a flow is no amplifier's.
const ntpFlowDataLen = 300

// classifyNTPFlow judges an NTP flow record by its mean size, as flow-based detection does
// (an amplifier's replies are near 468 bytes on the wire): to port 123, packets shorter than
// the 48-byte header every mode 1-5 packet carries are mode 6 or mode 7 queries, such as the
// 8-byte monlist request of the attack tools (ntpdc's 192-byte and nmap's 48-byte requests
// cannot be told from time service, and are left out); from port 123, packets of ntpFlowDataLen
// bytes or more are replies with data. Everything else, symmetric 123-123 traffic included,
// takes no part in amplification.
func classifyNTPFlow(f *Flow) {
	switch {
	case f.DstPort == NTPPort && f.SrcPort != NTPPort && f.PayloadLen < stdHeaderLen:
		f.Dir = DirRequest
	case f.SrcPort == NTPPort && f.DstPort != NTPPort && f.PayloadLen >= ntpFlowDataLen:
		f.Dir, f.Data = DirResponse, true
	}
}

// NTP is a decoded NTP header. Mode selects which of Std, Ctl and Priv is meaningful; the
// others are zero.
type NTP struct {
	LI      uint8 // leap indicator (modes 1-6); for mode 7 the same two bits are R and M, see Priv
	Version uint8
	Mode    uint8 // 1-5 RFC 5905, 6 control (ntpq), 7 private (ntpdc)
	// Partial is set when the snaplen or IP fragmentation cut the message short: the header
	// fields and monlist items whose bytes were not captured are zero or absent, while lengths
	// and counts still come from the headers.
	Partial bool

	Std  Standard // modes 1-5
	Ctl  Control  // mode 6
	Priv Private  // mode 7
}

// Reset zeroes n but keeps the backing array of Priv.Monlist for the next message.
func (n *NTP) Reset() {
	monlist := n.Priv.Monlist[:0]
	*n = NTP{}
	n.Priv.Monlist = monlist
}

// Standard is the RFC 5905 header of modes 1-5 (section 7.3).
type Standard struct {
	Stratum        uint8
	Poll           int8
	Precision      int8
	RootDelay      uint32  // NTP short format (16.16 seconds), raw
	RootDispersion uint32  // NTP short format (16.16 seconds), raw
	ReferenceID    [4]byte // raw: an IPv4 address, a four-character code, or an IPv6 hash
	ReferenceTS    uint64  // NTP timestamp format (32.32 seconds since 1900), raw
	OriginTS       uint64
	ReceiveTS      uint64
	TransmitTS     uint64
	ExtensionLen   uint16 // bytes of RFC 7822 extension fields after the 48-byte header
	MACLen         uint16 // bytes of key id + digest at the end (0, 20 or 24 usually)
}

// Control is the 12-byte mode 6 header (RFC 1305 appendix B, RFC 9327).
type Control struct {
	Response      bool // R
	Error         bool // E
	More          bool // M
	OpCode        uint8
	Sequence      uint16
	Status        uint16
	AssociationID uint16
	Offset        uint16
	Count         uint16 // data bytes that follow the header
}

// Private is the 8-byte mode 7 header (ntpd include/ntp_request.h) and, for a monlist reply,
// the client addresses it lists.
type Private struct {
	Response       bool // R
	More           bool // M
	Auth           bool // A
	Sequence       uint8
	Implementation uint8
	RequestCode    uint8
	Err            uint8  // 4 bits
	Items          uint16 // 12 bits
	MBZ            uint8  // 4 bits that must be zero
	ItemSize       uint16 // 12 bits
	// Monlist holds the addresses named by the items of a MON_GETLIST or MON_GETLIST_1 reply.
	// Its backing array belongs to the NTP value and is reused by the next message.
	Monlist []netip.Addr
}
