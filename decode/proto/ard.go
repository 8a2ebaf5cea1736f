package proto

// Apple Remote Desktop, port 3283: the Apple Remote Management Service (ARMS) of macOS,
// when Remote Management is on, answers its 5-byte information request with a 1,034-byte
// status, 35.5 times (NETSCOUT ASERT, 2019); firewalls that allow the signed ARDAgent let it
// answer the Internet.
//
// Sources: nmap's nmap-payloads ("Apple Remote Desktop (ARD)": 00 14 00 01 03), NETSCOUT
// ASERT's ARMS reflection report (2019), UCLA OCISO's advisory on ARD/ARMS abuse.

// ARDPort is the ARMS port.
const ARDPort = 3283

// VectorARDInfo is ARD's one vector: the information request.
const VectorARDInfo = 0

// ARDProtocol is Apple Remote Desktop's entry in the table.
var ARDProtocol = Protocol{
	Name:  "ard",
	Ports: []uint16{ARDPort},
	Vectors: []Vector{
		VectorARDInfo: {Name: "ard/info", Remediation: "Turn Remote Management off where it is not used (System Settings, " +
			"Sharing), and block UDP port 3283 at the border or with pf."},
	},
	Classify: classifyARD,
}

// classifyARD reads the request's first four bytes, 00 14 00 01, and judges a reply by its
// ports: a datagram from port 3283 to another port that carries bytes. A datagram between two
// 3283 ports is the administrator's own traffic.
func classifyARD(m *Message) {
	switch {
	case m.SrcPort == m.DstPort:
	case m.DstPort == ARDPort && hasPrefix(m.Payload, "\x00\x14\x00\x01"):
		m.Dir, m.Vector = DirRequest, VectorARDInfo
	case m.SrcPort == ARDPort && m.Len > 0:
		m.Dir, m.Vector, m.Data = DirResponse, VectorARDInfo, true
	}
}
