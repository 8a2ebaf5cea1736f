package proto

// MS-SQL browser, port 1434: the SQL Server Resolution Protocol (SSRP). A one-byte
// CLNT_BCAST_EX or CLNT_UCAST_EX request asks the SQL Server Browser for every instance on
// the host, and the answer names each with its version and its TCP and named-pipe
// endpoints: hundreds of bytes for one, more with several instances. SQL clients resolving
// a named instance send CLNT_UCAST_INST, answered with that instance alone.
//
// Sources: [MS-SQLR] sections 2.2.1-2.2.5 (CLNT_BCAST_EX 0x02, CLNT_UCAST_EX 0x03,
// CLNT_UCAST_INST 0x04, SVR_RESP 0x05 with a little-endian RESP_SIZE), nmap's
// broadcast-ms-sql-discover script and nmap-payloads ("Sqlping", the one-byte 0x02).

// MSSQLPort is the SQL Server Browser's port ([MS-SQLR] section 2.1).
const MSSQLPort = 1434

// VectorMSSQLPing is the browser's one vector: a request for instances, the "SQL ping".
const VectorMSSQLPing = 0

// SSRP message types ([MS-SQLR] section 2.2).
const (
	ssrpBcastEx   = 0x02
	ssrpUcastEx   = 0x03
	ssrpUcastInst = 0x04
	ssrpResp      = 0x05
)

// MSSQLProtocol is the SQL Server Browser's entry in the table.
var MSSQLProtocol = Protocol{
	Name:  "mssql",
	Ports: []uint16{MSSQLPort},
	Vectors: []Vector{
		VectorMSSQLPing: {Name: "mssql/ping", Remediation: "Block UDP port 1434 at the border, and stop the SQL Server Browser " +
			"service where clients connect to fixed ports (SQL Server Configuration Manager)."},
	},
	Classify: classifyMSSQL,
}

// classifyMSSQL reads the message type: an instance request sent to port 1434 is a request;
// an SVR_RESP from the port is a reply, with data when its RESP_SIZE is not zero.
func classifyMSSQL(m *Message) {
	b := m.Payload
	if len(b) < 1 {
		return
	}
	switch {
	case m.DstPort == MSSQLPort && (b[0] == ssrpBcastEx || b[0] == ssrpUcastEx || b[0] == ssrpUcastInst):
		m.Dir, m.Vector = DirRequest, VectorMSSQLPing
	case m.SrcPort == MSSQLPort && b[0] == ssrpResp && m.Len >= 3:
		m.Dir, m.Vector = DirResponse, VectorMSSQLPing
		m.Data = len(b) >= 3 && (b[1] != 0 || b[2] != 0) || len(b) < 3 && m.Len > 3
	}
	m.Partial = len(b) < m.Len
}
