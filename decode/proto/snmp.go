package proto

// SNMP, port 161: a GetBulkRequest (SNMPv2c) with a community the agent accepts ("public"
// on many devices) asks for max-repetitions variables in one reply; US-CERT puts SNMPv2's
// amplification at 6.3, and a large max-repetitions fills the reply up to the agent's
// message size. Monitoring stations (Cacti, LibreNMS, Zabbix) poll with GetBulk too, and
// their replies are 10 to 30 times their requests: what tells an attack from monitoring is
// that its victim asked for none of the replies.
//
// SNMPv3 is left out: its PDUs are usually encrypted, and GetBulk there needs a user, not a
// community.
//
// Sources: RFC 3416 sections 3 and 4.2.3 (PDUs, GetBulkRequest-PDU [5]), RFC 1901 and RFC
// 3584 (the SNMPv2c message: version 1 and a community), RFC 1157 section 4 (the message and
// GetResponse-PDU [2]), US-CERT TA14-017A, Wireshark's epan/dissectors/packet-snmp.c.

// SNMPPort is the SNMP agent port (RFC 3417 section 2).
const SNMPPort = 161

// VectorSNMPGetBulk is SNMP's one vector: a GetBulkRequest.
const VectorSNMPGetBulk = 0

// SNMP message fields (RFC 3416 section 3, RFC 1901).
const (
	snmpV1        = 0
	snmpV2c       = 1
	snmpGetResp   = 0xa2 // GetResponse-PDU / Response-PDU
	snmpGetBulk   = 0xa5 // GetBulkRequest-PDU
	snmpBigAnswer = 500  // a Response longer than this holds a walk's worth of variables
)

// SNMPProtocol is SNMP's entry in the table.
var SNMPProtocol = Protocol{
	Name:  "snmp",
	Ports: []uint16{SNMPPort},
	Vectors: []Vector{
		// US-CERT's 6.3: exposure or a scan (a monitoring station's polling looks like
		// one) through it is graded low.
		VectorSNMPGetBulk: {Name: "snmp/getbulk", Weak: true, Remediation: "Do not answer SNMP from the Internet: change the " +
			"default communities, allow only the monitoring stations' addresses (net-snmp: rocommunity COMMUNITY SOURCE), " +
			"move to SNMPv3, or block UDP port 161 at the border."},
	},
	Classify: classifySNMP,
	Thresholds: Thresholds{
		// A monitoring station asked for every reply it receives, 10 to 30 times its
		// requests; a victim asked for none.
		VictimFloodMinAmplification: 100,
	},
}

// classifySNMP reads the message header (version, community) and the PDU's tag: a
// GetBulkRequest of SNMPv2c sent to port 161 is a request; a Response of SNMPv1 or v2c sent
// from port 161 is a reply, counted under GetBulk, the one vector, whatever request it
// answers; it carries data when it is long enough to hold a walk and its error-status, when captured,
// is 0.
func classifySNMP(m *Message) {
	tag, _, r, ok := ber{m.Payload}.next()
	if !ok || tag != 0x30 {
		return
	}
	version, r, ok := r.int()
	if !ok || version != snmpV1 && version != snmpV2c {
		return
	}
	tag, n, r, ok := r.next()
	if !ok || tag != 0x04 { // community
		return
	}
	if r, ok = r.skip(n); !ok {
		return
	}
	pdu, _, r, ok := r.next()
	if !ok {
		return
	}
	switch {
	case pdu == snmpGetBulk && version == snmpV2c && m.DstPort == SNMPPort:
		m.Dir, m.Vector = DirRequest, VectorSNMPGetBulk
	case pdu == snmpGetResp && m.SrcPort == SNMPPort:
		m.Dir, m.Vector = DirResponse, VectorSNMPGetBulk
		// request-id, then error-status: an error is no data, when it was captured.
		m.Data = m.Len > snmpBigAnswer
		if _, r, ok = r.int(); ok {
			if status, _, ok := r.int(); ok && status != 0 {
				m.Data = false
			}
		}
	}
	m.Partial = len(m.Payload) < m.Len
}
