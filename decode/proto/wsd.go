package proto

// WS-Discovery, port 3702: SOAP-over-UDP discovery of printers, cameras and Windows
// hosts. A client multicasts a Probe; devices answer with ProbeMatches by unicast. Devices
// that answer from the Internet answer a Probe, and even a malformed datagram (with a SOAP
// fault), with hundreds to thousands of bytes (Akamai SIRT, 2019).
// Devices announce themselves with Hello and Bye multicast to port 3702; a datagram between
// two 3702 ports is such an announcement or a multicast Probe, and takes no part.
//
// Sources: WS-Discovery 1.1 (OASIS, 2009) sections 2.4 and 5 (Probe, ProbeMatches, the
// multicast port 3702), SOAP-over-UDP 1.1, nmap's wsdd-discover and wsdd.lua, Akamai SIRT's
// WS-Discovery advisory (2019).

// WSDPort is WS-Discovery's port (WS-Discovery 1.1 section 2.4).
const WSDPort = 3702

// VectorWSDProbe is WS-Discovery's one vector: a probe, or any datagram a device answers.
const VectorWSDProbe = 0

// WSDProtocol is WS-Discovery's entry in the table.
var WSDProtocol = Protocol{
	Name:  "wsd",
	Ports: []uint16{WSDPort},
	Vectors: []Vector{
		VectorWSDProbe: {Name: "wsd/probe", Remediation: "Block UDP port 3702 at the border: WS-Discovery is for the local " +
			"network only; update or reconfigure devices (cameras, printers) that answer it from the Internet."},
	},
	Classify: classifyWSD,
}

// classifyWSD judges by ports, as devices answer whatever reaches them: a datagram to port
// 3702 from another port is a request, one from port 3702 to another port that carries
// bytes is a reply with data.
func classifyWSD(m *Message) {
	switch {
	case m.SrcPort == m.DstPort:
	case m.DstPort == WSDPort:
		m.Dir, m.Vector = DirRequest, VectorWSDProbe
	case m.SrcPort == WSDPort && m.Len > 0:
		m.Dir, m.Vector, m.Data = DirResponse, VectorWSDProbe, true
	}
}
