package proto

// CoAP, port 5683: the Constrained Application Protocol of IoT devices. A GET of
// /.well-known/core asks a device for the links to all its resources (CoRE Link Format), a
// reply many times the 20-odd bytes of the request; RFC 7252 section 11.3 warns of exactly
// this amplification. Sensors and gateways reading a resource with GET get small answers, in
// other content formats.
//
// Sources: RFC 7252 sections 3 (header: version 1, type, token length, code, message id),
// 3.1 (options, delta-encoded; 0xFF before the payload), 5.10 (Uri-Path 11, Content-Format
// 12) and 11.3 (amplification), RFC 6690 sections 4 and 7.2 (/.well-known/core,
// application/link-format, content format 40), nmap's nmap-payloads and coap-resources,
// Wireshark's epan/dissectors/packet-coap.c.

// CoAPPort is CoAP's port (RFC 7252 section 6.1).
const CoAPPort = 5683

// VectorCoAPDiscovery is CoAP's one vector: resource discovery, GET /.well-known/core.
const VectorCoAPDiscovery = 0

// CoAP header and option values (RFC 7252 sections 3, 5.10, 12.2; RFC 6690 section 7.2).
const (
	coapGET           = 0x01
	coapURIPath       = 11
	coapContentFormat = 12
	coapLinkFormat    = 40
	coapMaxOptions    = 32 // options walked, so that a crafted datagram cannot make the walk long
)

// CoAPProtocol is CoAP's entry in the table.
var CoAPProtocol = Protocol{
	Name:  "coap",
	Ports: []uint16{CoAPPort},
	Vectors: []Vector{
		VectorCoAPDiscovery: {Name: "coap/discovery", Remediation: "Block UDP port 5683 at the border, or require DTLS (port 5684) " +
			"and answer /.well-known/core to authorised clients only."},
	},
	Classify: classifyCoAP,
}

// classifyCoAP reads the header and the options: a GET whose Uri-Path is .well-known/core
// sent to port 5683 is a request; a 2.xx reply from the port whose Content-Format is
// link-format (40) is the discovery reply, with data when it has a payload. A reply carries
// no path, but only discovery answers in link-format.
func classifyCoAP(m *Message) {
	b := m.Payload
	if len(b) < 4 || b[0]>>6 != 1 || b[0]&0x0f > 8 {
		return
	}
	code := b[1]
	switch {
	case code == coapGET && m.DstPort == CoAPPort:
		if coapIsDiscovery(b) {
			m.Dir, m.Vector = DirRequest, VectorCoAPDiscovery
		}
	case code>>5 == 2 && m.SrcPort == CoAPPort:
		if format, payload := coapFormat(b); format == coapLinkFormat {
			m.Dir, m.Vector, m.Data = DirResponse, VectorCoAPDiscovery, payload
		}
	}
	m.Partial = len(b) < m.Len
}

// coapOptions calls f with the number and value of each option of message b, in order, until
// f returns false or the options end; it returns whether a payload marker followed them.
func coapOptions(b []byte, f func(num int, val []byte) bool) (payload bool) {
	off, num := 4+int(b[0]&0x0f), 0
	for range coapMaxOptions {
		if off >= len(b) {
			return false
		}
		if b[off] == 0xff {
			return off+1 < len(b)
		}
		delta, length := int(b[off]>>4), int(b[off]&0x0f)
		off++
		var ok bool
		if delta, off, ok = coapExtend(b, delta, off); !ok {
			return false
		}
		if length, off, ok = coapExtend(b, length, off); !ok || off+length > len(b) {
			return false
		}
		num += delta
		if !f(num, b[off:off+length]) {
			return false
		}
		off += length
	}
	return false
}

// coapExtend reads an option's extended delta or length (RFC 7252 section 3.1): 13 and 14
// announce one or two more bytes, 15 is reserved.
func coapExtend(b []byte, v, off int) (int, int, bool) {
	switch v {
	case 13:
		if off >= len(b) {
			return 0, 0, false
		}
		return int(b[off]) + 13, off + 1, true
	case 14:
		if off+2 > len(b) {
			return 0, 0, false
		}
		return int(be16(b, off)) + 269, off + 2, true
	case 15:
		return 0, 0, false
	}
	return v, off, true
}

// coapIsDiscovery reports whether request b's Uri-Path is .well-known/core.
func coapIsDiscovery(b []byte) bool {
	seg := 0
	coapOptions(b, func(num int, val []byte) bool {
		if num != coapURIPath {
			return num < coapURIPath
		}
		switch {
		case seg == 0 && string(val) == ".well-known", seg == 1 && string(val) == "core":
			seg++
		default:
			seg = -1
			return false
		}
		return true
	})
	return seg == 2
}

// coapFormat returns reply b's Content-Format (-1 without one) and whether a payload follows
// its options.
func coapFormat(b []byte) (format int, payload bool) {
	format = -1
	payload = coapOptions(b, func(num int, val []byte) bool {
		if num == coapContentFormat {
			format = 0
			for _, c := range val {
				format = format<<8 | int(c)
			}
		}
		return true
	})
	return format, payload
}
