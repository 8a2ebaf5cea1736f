package proto_test

import (
	"testing"

	"github.com/ntpwatch/ntpwatch/decode/proto"
)

// TestRIP: whole-table requests of both versions, an answer to one, and routers' updates.
func TestRIP(t *testing.T) {
	const port = proto.RIPPort
	// tcpdump's tests/ripv1v2.pcap frames 1 and 3: whole-table requests of RIPv1 and RIPv2,
	// 520 to 520; frame 2, a RIPv1 update (one route).
	v1req := unhex(t, "010100000000000000000000000000000000000000000010")
	v2req := unhex(t, "010200000000000000000000000000000000000000000010")
	update := unhex(t, "02010000000200000a46b200000000000000000000000001")
	checkVerdicts(t, &proto.RIPProtocol, []verdict{
		{name: "tcpdump ripv1v2 frame 1", sport: port, dport: port, payload: v1req, dir: proto.DirRequest, vector: "rip/request"},
		{name: "tcpdump ripv1v2 frame 3", sport: port, dport: port, payload: v2req, dir: proto.DirRequest, vector: "rip/request"},
		{name: "forged request", sport: victim, dport: port, payload: v1req, dir: proto.DirRequest, vector: "rip/request"},
		{name: "tcpdump ripv1v2 frame 2: an update", sport: port, dport: port, payload: update},
		{name: "answer to a request's port", sport: port, dport: victim, payload: cat(update[:4], update[4:], update[4:]), dir: proto.DirResponse, vector: "rip/request", data: true},
		{name: "request for one route", sport: client, dport: port, payload: unhex(t, "010100000002000001020304000000000000000000000001")},
		{name: "version 3", sport: client, dport: port, payload: unhex(t, "010300000000000000000000000000000000000000000010")},
	})
}
