package proto

// DVR discovery, port 37810: the DHIP discovery of Dahua video recorders and cameras (and
// the many devices built on their firmware). A `DHDiscover.search` request is answered with
// the device's whole description in JSON: model, serial number, firmware, addresses. The
// answers reached many times the request in the 2020 attacks reported by NETSCOUT ASERT.
// Each message starts with a 32-byte header: its own length (32, little-endian), the magic
// DHIP, and the body's length (little-endian, at offset 16).
//
// Sources: NETSCOUT ASERT's report on DVR discovery reflection (2020), the DHIP header as
// read by UniversalScanner's Dahua2 engine (github.com/julienblitte/UniversalScanner: header
// size 0x20, magic "DHIP", packet size at 0x10) and by libprotoident's lpi_dahua.

// DVRPort is the DHIP discovery port.
const DVRPort = 37810

// VectorDVRDiscover is DVR discovery's one vector: DHDiscover.search.
const VectorDVRDiscover = 0

// dhipHeader is the DHIP header's length.
const dhipHeader = 32

// DVRProtocol is DVR discovery's entry in the table.
var DVRProtocol = Protocol{
	Name:  "dvr",
	Ports: []uint16{DVRPort},
	Vectors: []Vector{
		VectorDVRDiscover: {Name: "dvr/dhdiscover", Remediation: "Block UDP port 37810 at the border, upgrade the recorder's " +
			"firmware, and turn its device search off where it has a setting."},
	},
	Classify: classifyDVR,
}

// classifyDVR reads the DHIP header: one sent to port 37810 is a request; one sent from the
// port to another port is the device's answer, with data when its body is not empty.
func classifyDVR(m *Message) {
	b := m.Payload
	if len(b) < 8 || b[0] != dhipHeader || b[1] != 0 || b[2] != 0 || b[3] != 0 || string(b[4:8]) != "DHIP" || m.SrcPort == m.DstPort {
		return
	}
	switch {
	case m.DstPort == DVRPort:
		m.Dir, m.Vector = DirRequest, VectorDVRDiscover
	case m.SrcPort == DVRPort:
		m.Dir, m.Vector, m.Data = DirResponse, VectorDVRDiscover, m.Len > dhipHeader
	}
	m.Partial = len(b) < m.Len
}
