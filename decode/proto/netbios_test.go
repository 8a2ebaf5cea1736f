package proto_test

import (
	"testing"

	"github.com/ntpwatch/ntpwatch/decode/proto"
)

// TestNetBIOS: a node status request for `*` and its answer; a name query.
func TestNetBIOS(t *testing.T) {
	const port = proto.NetBIOSPort
	star := text("\x20CKAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\x00")
	// nmap's nmap-payloads, "NBTStat".
	nbstat := cat(text("\x80\xF0\x00\x10\x00\x01\x00\x00\x00\x00\x00\x00"), star, text("\x00\x21\x00\x01"))
	names := cat([]byte{3}, zeros(3*18), zeros(46))
	answer := cat(text("\x80\xF0\x84\x00\x00\x00\x00\x01\x00\x00\x00\x00"), star, text("\x00\x21\x00\x01\x00\x00\x00\x00"),
		[]byte{0, byte(len(names))}, names)
	// RFC 1002 section 4.2.12: a name query (NB, 0x0020) for WORKGROUP<1d>.
	query := cat(text("\x12\x34\x01\x10\x00\x01\x00\x00\x00\x00\x00\x00\x20FHEPFCELEHFCEPFFFACACACACACACABN\x00"), text("\x00\x20\x00\x01"))
	checkVerdicts(t, &proto.NetBIOSProtocol, []verdict{
		{name: "nmap NBSTAT", sport: victim, dport: port, payload: nbstat, dir: proto.DirRequest, vector: "netbios/nbstat"},
		{name: "NBSTAT from 137", sport: port, dport: port, payload: nbstat, dir: proto.DirRequest, vector: "netbios/nbstat"},
		{name: "node status answer", sport: port, dport: victim, payload: answer, dir: proto.DirResponse, vector: "netbios/nbstat", data: true},
		{name: "node status answer, headers only", sport: port, dport: victim, payload: answer[:58], len: len(answer), dir: proto.DirResponse, vector: "netbios/nbstat", data: true},
		{name: "name query", sport: client, dport: port, payload: query},
		{name: "answer sent to 137 from elsewhere", sport: client, dport: port, payload: answer},
	})
}
