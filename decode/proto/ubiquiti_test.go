package proto_test

import (
	"testing"

	"github.com/ntpwatch/ntpwatch/decode/proto"
)

// TestUbiquiti: the probes of both versions, the answers, and announcements.
func TestUbiquiti(t *testing.T) {
	const port = proto.UbiquitiPort
	tlvs := text("\x02\x00\x0a\x00\x27\x22\x01\x02\x03\xc0\x00\x02\x01\x0b\x00\x06router\x0c\x00\x04ER-X")
	answer := cat([]byte{1, 0, 0, byte(len(tlvs))}, tlvs)
	checkVerdicts(t, &proto.UbiquitiProtocol, []verdict{
		// nmap's ubiquiti-discovery: PROBE_V1 and PROBE_V2.
		{name: "v1 probe", sport: victim, dport: port, payload: []byte{1, 0, 0, 0}, dir: proto.DirRequest, vector: "ubiquiti/discovery"},
		{name: "v2 probe", sport: victim, dport: port, payload: []byte{2, 8, 0, 0}, dir: proto.DirRequest, vector: "ubiquiti/discovery"},
		{name: "v1 answer", sport: port, dport: victim, payload: answer, dir: proto.DirResponse, vector: "ubiquiti/discovery", data: true},
		{name: "v2 answer", sport: port, dport: victim, payload: cat([]byte{2, 6, 0, byte(len(tlvs))}, tlvs), dir: proto.DirResponse, vector: "ubiquiti/discovery", data: true},
		{name: "announcement between two 10001 ports", sport: port, dport: port, payload: cat([]byte{2, 6, 0, byte(len(tlvs))}, tlvs)},
		{name: "announcement to 10001", sport: client, dport: port, payload: cat([]byte{2, 6, 0, byte(len(tlvs))}, tlvs)},
		{name: "probe with a payload", sport: client, dport: port, payload: []byte{1, 0, 0, 1, 0}},
	})
}
