package proto_test

import (
	"testing"

	"github.com/ntpwatch/ntpwatch/decode/proto"
)

// TestQOTD checks QOTD's verdict on each datagram of an RFC 865 exchange and on the empty
// datagram from port 17 that takes no part, and that the default table sends port 17 to it.
func TestQOTD(t *testing.T) {
	quote := text("Any datagram to port 17 brings back a quote.\r\n")
	checkVerdicts(t, &proto.QOTDProtocol, []verdict{
		{name: "request", sport: client, dport: proto.QOTDPort, payload: text("\n"), dir: proto.DirRequest, vector: "qotd/any"},
		{name: "empty request", sport: client, dport: proto.QOTDPort, dir: proto.DirRequest, vector: "qotd/any"},
		{name: "quote", sport: proto.QOTDPort, dport: victim, payload: quote, dir: proto.DirResponse, vector: "qotd/any", data: true},
		{name: "empty reply", sport: proto.QOTDPort, dport: victim},
	})
}
