package proto

// CharGEN, port 19: Character Generator (RFC 864). Over UDP the server answers any datagram,
// whatever it holds, with one datagram of 0 to 512 characters: US-CERT puts the amplification
// at 358.8, the highest of its 2014 table after NTP. It has no use today, and the servers
// that still answer (printers, old Windows "Simple TCP/IP Services", embedded devices) are
// reflectors.
//
// Sources: RFC 864 ("UDP Based Character Generator Service"), US-CERT TA14-017A.

// CharGENPort is the CharGEN server port (RFC 864).
const CharGENPort = 19

// VectorCharGEN is CharGEN's one vector: any datagram.
const VectorCharGEN = 0

// CharGENProtocol is CharGEN's entry in the table.
var CharGENProtocol = Protocol{
	Name:  "chargen",
	Ports: []uint16{CharGENPort},
	Vectors: []Vector{
		VectorCharGEN: {Name: "chargen/any", Remediation: "Disable the CharGEN service (inetd/xinetd 'chargen', Windows " +
			"'Simple TCP/IP Services', the printer's or device's legacy services): it has no use on the Internet."},
	},
	Classify: classifyByPort(CharGENPort, VectorCharGEN),
}

// classifyByPort is the classifier of a protocol whose server answers any datagram sent to
// port, whatever it holds (RFC 864, RFC 865): a datagram to the port is a request, and one
// from it that carries bytes is the amplifying reply; an empty one takes no part. The
// payload is not read, so a short snaplen gives the same verdict as a full capture.
func classifyByPort(port uint16, vector int8) func(m *Message) {
	return func(m *Message) {
		switch {
		case m.DstPort == port:
			m.Dir, m.Vector = DirRequest, vector
		case m.SrcPort == port && m.Len > 0:
			m.Dir, m.Vector, m.Data = DirResponse, vector, true
		}
	}
}
