package proto_test

import (
	"testing"

	"github.com/ntpwatch/ntpwatch/decode/proto"
)

// dhip builds a DHIP message: the 32-byte header with the body's length, then body.
func dhip(body string) []byte {
	n := len(body)
	h := cat([]byte{0x20, 0, 0, 0}, text("DHIP"), zeros(8), []byte{byte(n), byte(n >> 8), 0, 0}, zeros(4), []byte{byte(n), byte(n >> 8), 0, 0}, zeros(4))
	return cat(h, text(body))
}

// TestDVR: the DHDiscover search and a device's answer.
func TestDVR(t *testing.T) {
	const port = proto.DVRPort
	search := dhip(`{"method":"DHDiscover.search","params":{"mac":"","uni":1}}` + "\n")
	answer := dhip(`{"method":"client.notifyDevInfo","params":{"deviceInfo":{"DeviceType":"DH-XVR5108HS","SerialNo":"X"}}}`)
	checkVerdicts(t, &proto.DVRProtocol, []verdict{
		{name: "search", sport: victim, dport: port, payload: search, dir: proto.DirRequest, vector: "dvr/dhdiscover"},
		{name: "answer", sport: port, dport: victim, payload: answer, dir: proto.DirResponse, vector: "dvr/dhdiscover", data: true},
		{name: "answer without a body", sport: port, dport: victim, payload: dhip(""), dir: proto.DirResponse, vector: "dvr/dhdiscover"},
		{name: "between two 37810 ports", sport: port, dport: port, payload: search},
		{name: "no magic", sport: victim, dport: port, payload: zeros(40)},
	})
}
