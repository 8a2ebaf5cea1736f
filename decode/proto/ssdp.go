package proto

// SSDP, port 1900: UPnP discovery. A control point multicasts `M-SEARCH * HTTP/1.1` with a
// search target (ST); every device that matches answers by unicast with an HTTP `200 OK` per
// service it offers. Sent to a device by unicast with the victim's address, `ST: ssdp:all`
// brings back a reply per service, 30 times the request (US-CERT); routers and printers that
// answer from the Internet are the amplifiers. Devices also announce themselves with NOTIFY,
// multicast from port 1900 to port 1900, which is no reply.
//
// Sources: UPnP Device Architecture 2.0 section 1.3 (discovery: M-SEARCH and its response),
// US-CERT TA14-017A, Akamai's SSDP reflection advisory (2015), nmap's nmap-payloads (the
// M-SEARCH probe), Wireshark's epan/dissectors/packet-ssdp.c.

// SSDPPort is the SSDP port (UPnP Device Architecture section 1.1).
const SSDPPort = 1900

// VectorSSDPSearch is SSDP's one vector: an M-SEARCH.
const VectorSSDPSearch = 0

// SSDPProtocol is SSDP's entry in the table.
var SSDPProtocol = Protocol{
	Name:  "ssdp",
	Ports: []uint16{SSDPPort},
	Vectors: []Vector{
		VectorSSDPSearch: {Name: "ssdp/m-search", Remediation: "Turn UPnP off on the device's Internet side (router: disable UPnP " +
			"on the WAN interface; upgrade its firmware), or block UDP port 1900 at the border."},
	},
	Classify: classifySSDP,
}

// classifySSDP reads the start line: an M-SEARCH to port 1900 is a request, an HTTP response
// from port 1900 a reply, with data when its status is 200. HTTP methods and versions are
// compared without regard to case, as devices vary.
func classifySSDP(m *Message) {
	b := m.Payload
	switch {
	case m.DstPort == SSDPPort && hasPrefixFold(b, "M-SEARCH "):
		m.Dir, m.Vector = DirRequest, VectorSSDPSearch
	case m.SrcPort == SSDPPort && hasPrefixFold(b, "HTTP/1."):
		m.Dir, m.Vector = DirResponse, VectorSSDPSearch
		m.Data = len(b) >= 12 && string(b[8:12]) == " 200"
	}
	m.Partial = len(b) < m.Len
}

// hasPrefixFold reports whether b begins with the ASCII text prefix, whatever the case of
// its letters.
func hasPrefixFold(b []byte, prefix string) bool {
	if len(b) < len(prefix) {
		return false
	}
	for i := range len(prefix) {
		if b[i]|0x20 != prefix[i]|0x20 || (b[i] != prefix[i] && !isLetter(prefix[i])) {
			return false
		}
	}
	return true
}

func isLetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }
