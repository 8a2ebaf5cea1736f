package proto

// NetBIOS name service, port 137: a node status request (NBSTAT) asks a Windows host, a
// Samba server or a printer for every name it has registered, and the answer lists them
// with the adapter's MAC address and statistics, 3.8 times the request (US-CERT). nbtstat -A
// and nmap's nbstat send it for the wildcard name `*`. The names themselves are looked up by
// NB queries, which take no part here.
//
// Sources: RFC 1002 sections 4.2.1 (header), 4.2.17 and 4.2.18 (NODE STATUS REQUEST and
// RESPONSE, RR type NBSTAT 0x0021), RFC 1001 section 14.1 (first-level name encoding: `*`
// is CKAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA), US-CERT TA14-017A, nmap's nmap-payloads (the NBSTAT
// probe), Wireshark's epan/dissectors/packet-nbns.c.

// NetBIOSPort is the NetBIOS name service port (RFC 1002 section 4).
const NetBIOSPort = 137

// VectorNetBIOSStatus is the name service's one vector: a node status request.
const VectorNetBIOSStatus = 0

// nbstatType is the RR type of a node status request and response (RFC 1002 section 4.2.1.3).
const nbstatType = 0x0021

// NetBIOSProtocol is the NetBIOS name service's entry in the table.
var NetBIOSProtocol = Protocol{
	Name:  "netbios",
	Ports: []uint16{NetBIOSPort},
	Vectors: []Vector{
		// 3.8 times: exposure or a scan through it is graded low.
		VectorNetBIOSStatus: {Name: "netbios/nbstat", Weak: true, Remediation: "Block UDP ports 137-139 at the border, and disable " +
			"NetBIOS over TCP/IP on interfaces that face the Internet (Windows: adapter WINS settings; Samba: disable netbios = yes)."},
	},
	Classify: classifyNetBIOS,
}

// classifyNetBIOS reads the header (R bit, opcode 0 query) and the type of the question or
// answer record: NBSTAT sent to port 137 with R clear is a request, with R set from port 137
// a reply, with data when it holds a node name array after the record's header. Hosts query from port 137 as well as
// from ephemeral ports, so only the side of the port that takes the message is checked.
func classifyNetBIOS(m *Message) {
	b := m.Payload
	if len(b) < dnsHeaderLen {
		return
	}
	flags := be16(b, 2)
	response, opcode := flags>>15 == 1, flags>>11&0xf
	if opcode != 0 {
		return
	}
	count := be16(b, 4) // QDCOUNT for a request
	if response {
		count = be16(b, 6) // ANCOUNT
	}
	end, ok := skipName(b, dnsHeaderLen)
	if count != 1 || !ok || be16(b, end) != nbstatType {
		return
	}
	switch {
	case !response && m.DstPort == NetBIOSPort:
		m.Dir, m.Vector = DirRequest, VectorNetBIOSStatus
	case response && m.SrcPort == NetBIOSPort:
		m.Dir, m.Vector = DirResponse, VectorNetBIOSStatus
		// TYPE, CLASS, TTL and RDLENGTH, then the node name array: the lengths tell
		// whether there is one, whatever the snaplen kept.
		m.Data = flags&0xf == 0 && m.Len > end+10
	}
	m.Partial = len(b) < m.Len
}
