package proto_test

import (
	"testing"

	"github.com/ntpwatch/ntpwatch/decode/proto"
)

// TestPortmap: DUMP calls of versions 2 and 3 and a DUMP reply; GETPORT, NULL and denied
// replies.
func TestPortmap(t *testing.T) {
	const port = proto.PortmapPort
	// OpenBSD's nc data/pmap-dump.d: a DUMP call of version 2 with AUTH_NONE.
	dump := cat(text("\x01\x02\x03\x04\x00\x00\x00\x00\x00\x00\x00\x02\x00\x01\x86\xa0\x00\x00\x00\x02\x00\x00\x00\x04"), zeros(16))
	dump3 := append([]byte(nil), dump...)
	dump3[19] = 3
	getport := append([]byte(nil), dump...)
	getport[23] = 3
	head := text("\x01\x02\x03\x04\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00")
	entry := text("\x00\x00\x00\x01\x00\x01\x86\xa0\x00\x00\x00\x02\x00\x00\x00\x11\x00\x00\x00\x6f")
	reply := cat(head, entry, entry, entry, text("\x00\x00\x00\x00"))
	// nmap's nmap-payloads, "RPCCheck": a call of another program.
	rpccheck := text("\x72\xFE\x1D\x13\x00\x00\x00\x00\x00\x00\x00\x02\x00\x01\x86\xA0\x00\x01\x97\x7C\x00\x00\x00\x00" +
		"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00")
	checkVerdicts(t, &proto.PortmapProtocol, []verdict{
		{name: "DUMP v2", sport: victim, dport: port, payload: dump, dir: proto.DirRequest, vector: "portmap/dump"},
		{name: "DUMP v3", sport: victim, dport: port, payload: dump3, dir: proto.DirRequest, vector: "portmap/dump"},
		{name: "GETPORT", sport: client, dport: port, payload: getport},
		{name: "nmap RPCCheck", sport: client, dport: port, payload: rpccheck},
		{name: "DUMP reply", sport: port, dport: victim, payload: reply, dir: proto.DirResponse, vector: "portmap/dump", data: true},
		{name: "GETPORT reply", sport: port, dport: client, payload: cat(head, text("\x00\x00\x08\x01"))},
		{name: "NULL reply", sport: port, dport: client, payload: head},
		{name: "denied reply", sport: port, dport: client, payload: cat(head[:8], text("\x00\x00\x00\x01"), zeros(40))},
		{name: "reply sent to 111", sport: client, dport: port, payload: reply},
	})
}
