package proto

// TFTP, port 69: a read request (RRQ) for a file the server has (a PXE boot loader, a
// router's configuration) is answered with the file's first 512-byte block; a victim that
// never acknowledges makes the server send the block again and again, up to 60 times the
// request in all (Sieber et al., "Amplification DDoS attacks with TFTP", SANS, 2016). The
// server sends its blocks from a new port, the transfer's, not from port 69 (RFC 1350
// section 4), so the replies are told by their bytes: a DATA packet (opcode 3) of block 1
// holding a full 512-byte block, 516 bytes in all, which is what the table's StrayLen hands
// to the classifier from any port. Later blocks go only to a client that acknowledged, and
// take no part; so do uploads (WRQ) and option negotiation (RFC 2347), whose blocks have
// other sizes.
//
// Sources: RFC 1350 sections 4 and 5 (TIDs; RRQ 1, DATA 3, ERROR 5), US-CERT TA14-017A (TFTP,
// added 2016), nmap's nmap-payloads ("TFTP GET"), Wireshark's epan/dissectors/packet-tftp.c.

// TFTPPort is the TFTP server port (RFC 1350 section 4).
const TFTPPort = 69

// VectorTFTPRead is TFTP's one vector: a read request.
const VectorTFTPRead = 0

// TFTP opcodes and sizes (RFC 1350 section 5).
const (
	tftpRRQ   = 1
	tftpDATA  = 3
	tftpERROR = 5
	// tftpFirstBlock is a DATA packet of block 1 with a full 512-byte block.
	tftpFirstBlock = 4 + 512
)

// TFTPProtocol is TFTP's entry in the table.
var TFTPProtocol = Protocol{
	Name:  "tftp",
	Ports: []uint16{TFTPPort},
	Vectors: []Vector{
		VectorTFTPRead: {Name: "tftp/rrq", Remediation: "Serve TFTP to the boot or management network only (bind it there, " +
			"or allow only those clients), and block UDP port 69 at the border."},
	},
	Classify: classifyTFTP,
	StrayLen: tftpFirstBlock,
}

// classifyTFTP judges by opcode: an RRQ sent to port 69 is a request; block 1 of DATA of 516
// bytes, from whatever port, is the reply with data; an ERROR sent from port 69 (servers
// that answer a missing file from the port itself) refuses.
func classifyTFTP(m *Message) {
	b := m.Payload
	if len(b) < 4 || b[0] != 0 {
		return
	}
	switch {
	case b[1] == tftpRRQ && m.DstPort == TFTPPort:
		m.Dir, m.Vector = DirRequest, VectorTFTPRead
	case b[1] == tftpDATA && m.Len == tftpFirstBlock && be16(b, 2) == 1 && m.DstPort != TFTPPort:
		m.Dir, m.Vector, m.Data = DirResponse, VectorTFTPRead, true
	case b[1] == tftpERROR && m.SrcPort == TFTPPort:
		m.Dir, m.Vector, m.Refusal = DirResponse, VectorTFTPRead, true
	}
	m.Partial = len(b) < m.Len
}
