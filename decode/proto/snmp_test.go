package proto_test

import (
	"testing"

	"github.com/ntpwatch/ntpwatch/decode/proto"
)

// snmpMessage builds an SNMP message of version (0 v1, 1 v2c) with community "public" and a
// PDU of tag pdu: request-id, then a and b (error-status and error-index, or non-repeaters
// and max-repetitions), then a variable-binding list of filler bytes.
func snmpMessage(version byte, pdu byte, a, b byte, filler int) []byte {
	varbinds := cat([]byte{0x30, 0x82, byte(filler >> 8), byte(filler)}, zeros(filler))
	body := cat([]byte{0x02, 0x04, 0, 0, 0x30, 0x39, 0x02, 0x01, a, 0x02, 0x01, b}, varbinds)
	p := cat([]byte{pdu, 0x82, byte(len(body) >> 8), byte(len(body))}, body)
	inner := cat([]byte{0x02, 0x01, version, 0x04, 0x06}, text("public"), p)
	return cat([]byte{0x30, 0x82, byte(len(inner) >> 8), byte(len(inner))}, inner)
}

// TestSNMP: GetBulk of v2c and its answer; a Get and its small answer; an error; v1 and v3.
func TestSNMP(t *testing.T) {
	const port = proto.SNMPPort
	// nmap's nmap-payloads, "SNMPv3GetRequest".
	v3 := text("\x30\x3A\x02\x01\x03\x30\x0F\x02\x02\x4A\x69\x02\x03\x00\xFF\xE3\x04\x01\x04\x02\x01\x03\x04\x10\x30\x0E\x04\x00\x02\x01\x00\x02")
	checkVerdicts(t, &proto.SNMPProtocol, []verdict{
		{name: "GetBulk v2c", sport: victim, dport: port, payload: snmpMessage(1, 0xa5, 0, 250, 14), dir: proto.DirRequest, vector: "snmp/getbulk"},
		{name: "GetBulk answer", sport: port, dport: victim, payload: snmpMessage(1, 0xa2, 0, 0, 1400), dir: proto.DirResponse, vector: "snmp/getbulk", data: true},
		{name: "GetBulk answer, headers only", sport: port, dport: victim, payload: snmpMessage(1, 0xa2, 0, 0, 1400)[:40], len: 1431, dir: proto.DirResponse, vector: "snmp/getbulk", data: true},
		{name: "GetBulk answer, cut in the community", sport: port, dport: victim, payload: snmpMessage(1, 0xa2, 0, 0, 1400)[:12], len: 1431},
		{name: "Get v2c", sport: client, dport: port, payload: snmpMessage(1, 0xa0, 0, 0, 14)},
		{name: "Get answer", sport: port, dport: client, payload: snmpMessage(1, 0xa2, 0, 0, 60), dir: proto.DirResponse, vector: "snmp/getbulk"},
		{name: "tooBig answer", sport: port, dport: victim, payload: snmpMessage(1, 0xa2, 1, 0, 1400), dir: proto.DirResponse, vector: "snmp/getbulk"},
		{name: "v1 answer", sport: port, dport: client, payload: snmpMessage(0, 0xa2, 0, 0, 900), dir: proto.DirResponse, vector: "snmp/getbulk", data: true},
		{name: "GetBulk in v1", sport: victim, dport: port, payload: snmpMessage(0, 0xa5, 0, 250, 14)},
		{name: "nmap SNMPv3 Get", sport: client, dport: port, payload: v3},
		{name: "trap to 162's agent port", sport: port, dport: 162, payload: snmpMessage(1, 0xa7, 0, 0, 40)},
	})
}
