package proto_test

import (
	"testing"

	"github.com/ntpwatch/ntpwatch/decode/proto"
)

// TestARD: the information request and its answer.
func TestARD(t *testing.T) {
	const port = proto.ARDPort
	checkVerdicts(t, &proto.ARDProtocol, []verdict{
		// nmap's nmap-payloads, "Apple Remote Desktop (ARD)".
		{name: "nmap ARD probe", sport: victim, dport: port, payload: text("\x00\x14\x00\x01\x03"), dir: proto.DirRequest, vector: "ard/info"},
		{name: "other datagram", sport: client, dport: port, payload: text("\x00\x15\x00\x01\x03")},
		{name: "answer", sport: port, dport: victim, payload: zeros(1034), dir: proto.DirResponse, vector: "ard/info", data: true},
		{name: "between two 3283 ports", sport: port, dport: port, payload: text("\x00\x14\x00\x01\x03")},
	})
}
