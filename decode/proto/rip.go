package proto

// RIP, port 520: a router running RIP (versions 1 and 2) answers a request for its whole
// routing table, one entry of address family 0 and metric 16, with up to 25 routes of 20
// bytes a datagram: 131 times the request (US-CERT, RIPv1). Routers also send their table
// every 30 seconds from port 520 to port 520, by broadcast or multicast, and ask their
// neighbours from port 520: an answer to a request from another port is what a reflection
// makes.
//
// Sources: RFC 1058 sections 3.1 (message: command, version, then 20-byte entries) and 3.4.1
// (the whole-table request), RFC 2453 sections 4 and 3.9.1 (RIPv2), US-CERT TA14-017A,
// nmap's nmap-payloads and broadcast-rip-discover (the whole-table request), Wireshark's
// epan/dissectors/packet-rip.c.

// RIPPort is RIP's port (RFC 1058 section 3.1).
const RIPPort = 520

// VectorRIPTable is RIP's one vector: a request for the whole routing table.
const VectorRIPTable = 0

// RIP message values (RFC 1058 section 3.1).
const (
	ripRequest  = 1
	ripResponse = 2
	ripHeader   = 4
	ripEntry    = 20
	ripInfinity = 16
)

// RIPProtocol is RIP's entry in the table.
var RIPProtocol = Protocol{
	Name:  "rip",
	Ports: []uint16{RIPPort},
	Vectors: []Vector{
		VectorRIPTable: {Name: "rip/request", Remediation: "Run RIP on the internal interfaces only (passive-interface on the " +
			"Internet side), prefer RIPv2 with authentication, and block UDP port 520 at the border."},
	},
	Classify: classifyRIP,
}

// classifyRIP reads the header and the first entry: a whole-table request (one entry,
// family 0, metric 16) of version 1 or 2 sent to port 520 is a request; a response sent
// from port 520 to another port is a reply to such a request, with data when it holds an
// entry. Responses between two 520 ports are routers' updates and take no part.
func classifyRIP(m *Message) {
	b := m.Payload
	if len(b) < ripHeader || b[1] != 1 && b[1] != 2 {
		return
	}
	switch {
	case b[0] == ripRequest && m.DstPort == RIPPort:
		if m.Len == ripHeader+ripEntry && len(b) >= ripHeader+ripEntry && be16(b, 4) == 0 &&
			be16(b, 20) == 0 && be16(b, 22) == ripInfinity {
			m.Dir, m.Vector = DirRequest, VectorRIPTable
		}
	case b[0] == ripResponse && m.SrcPort == RIPPort && m.DstPort != RIPPort:
		m.Dir, m.Vector, m.Data = DirResponse, VectorRIPTable, m.Len >= ripHeader+ripEntry
	}
	m.Partial = len(b) < m.Len
}
