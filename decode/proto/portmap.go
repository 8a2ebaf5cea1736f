package proto

import "encoding/binary"

// portmap, port 111: the ONC RPC port mapper (rpcbind). Its DUMP procedure lists every RPC
// program the host offers, with versions, protocols and ports: a 40-byte call brings back a
// list of hundreds to thousands of bytes, 7 to 28 times (US-CERT; Level 3's 2015 report).
// NFS clients use GETPORT, whose reply is one port number.
//
// Sources: RFC 5531 section 9 (the RPC message: xid, CALL 0 / REPLY 1, rpcvers 2, prog, vers,
// proc, credentials; MSG_ACCEPTED, SUCCESS), RFC 1833 sections 2 and 3 (rpcbind versions 3
// and 4, RPCBPROC_DUMP 4) and its appendix (port mapper version 2, PMAPPROC_DUMP 4, program
// 100000), US-CERT TA14-017A, OpenBSD's nc data/pmap-dump.d (a DUMP call), Wireshark's
// epan/dissectors/packet-portmap.c.

// PortmapPort is the port mapper's port (RFC 1833 section 1).
const PortmapPort = 111

// VectorPortmapDump is the port mapper's one vector: DUMP.
const VectorPortmapDump = 0

// ONC RPC and port mapper constants (RFC 5531 section 9, RFC 1833).
const (
	rpcCall        = 0
	rpcReply       = 1
	rpcVersion     = 2
	portmapProgram = 100000
	portmapDump    = 4
	// rpcReplyHead is a successful reply's header with empty verifier: xid, REPLY,
	// MSG_ACCEPTED, the verifier's flavor and length, SUCCESS.
	rpcReplyHead = 24
	// portmapDumpMin is the shortest DUMP reply that lists a program: the header, one entry
	// of a version 2 list (value-follows, program, version, protocol, port) and the list's end.
	portmapDumpMin = rpcReplyHead + 20 + 4
)

// PortmapProtocol is the port mapper's entry in the table.
var PortmapProtocol = Protocol{
	Name:  "portmap",
	Ports: []uint16{PortmapPort},
	Vectors: []Vector{
		VectorPortmapDump: {Name: "portmap/dump", Remediation: "Block UDP port 111 at the border, and stop rpcbind where no NFS " +
			"or other RPC service is needed (systemctl disable --now rpcbind.socket rpcbind.service)."},
	},
	Classify: classifyPortmap,
}

// classifyPortmap reads the RPC header: a CALL of DUMP to the port mapper program (any of
// versions 2 to 4) sent to port 111 is a request; a successful REPLY sent from port 111 that
// starts a list and is long enough to hold an entry is a DUMP reply with data. A reply holds
// no procedure number, so shorter replies (GETPORT's port, NULL) take no part.
func classifyPortmap(m *Message) {
	b := m.Payload
	if len(b) < 8 {
		return
	}
	switch binary.BigEndian.Uint32(b[4:8]) {
	case rpcCall:
		if m.DstPort != PortmapPort || len(b) < 24 {
			return
		}
		vers := binary.BigEndian.Uint32(b[16:20])
		if binary.BigEndian.Uint32(b[8:12]) == rpcVersion && binary.BigEndian.Uint32(b[12:16]) == portmapProgram &&
			vers >= 2 && vers <= 4 && binary.BigEndian.Uint32(b[20:24]) == portmapDump {
			m.Dir, m.Vector = DirRequest, VectorPortmapDump
		}
	case rpcReply:
		if m.SrcPort != PortmapPort || len(b) < 20 || binary.BigEndian.Uint32(b[8:12]) != 0 { // MSG_ACCEPTED
			return
		}
		// The verifier's flavor, length and body (padded to 4 bytes), then accept_stat and
		// the results.
		vl := binary.BigEndian.Uint32(b[16:20])
		if vl > 400 { // opaque_auth's body is at most 400 bytes (RFC 5531 section 8.2)
			return
		}
		off := 20 + int(vl+3)&^3
		if off+8 > len(b) || binary.BigEndian.Uint32(b[off:]) != 0 || // SUCCESS
			binary.BigEndian.Uint32(b[off+4:]) != 1 || m.Len < portmapDumpMin {
			return
		}
		m.Dir, m.Vector, m.Data = DirResponse, VectorPortmapDump, true
	}
	m.Partial = len(b) < m.Len
}
