package proto_test

import (
	"bytes"
	"testing"

	"github.com/ntpwatch/ntpwatch/decode/proto"
)

// TestCharGEN: any datagram to port 19 is a request (RFC 864 ignores it), a line of
// characters back is the reply; a snaplen that kept none of the reply's bytes changes
// nothing.
func TestCharGEN(t *testing.T) {
	line := bytes.Repeat(text("!\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefg\r\n"), 7)
	checkVerdicts(t, &proto.CharGENProtocol, []verdict{
		{name: "request", sport: client, dport: proto.CharGENPort, payload: zeros(1), dir: proto.DirRequest, vector: "chargen/any"},
		{name: "reply", sport: proto.CharGENPort, dport: victim, payload: line, dir: proto.DirResponse, vector: "chargen/any", data: true},
		{name: "reply, headers only", sport: proto.CharGENPort, dport: victim, len: 512, dir: proto.DirResponse, vector: "chargen/any", data: true},
		{name: "19 to 19", sport: proto.CharGENPort, dport: proto.CharGENPort, payload: zeros(1), dir: proto.DirRequest, vector: "chargen/any"},
	})
}
