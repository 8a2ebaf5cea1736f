package proto_test

import (
	"testing"

	"github.com/ntpwatch/ntpwatch/decode/proto"
)

// memcachedFrame is the 8-byte UDP frame header (protocol.txt, "UDP protocol") before b.
func memcachedFrame(seq, total uint16, b []byte) []byte {
	return cat([]byte{0x12, 0x34, byte(seq >> 8), byte(seq), byte(total >> 8), byte(total), 0, 0}, b)
}

// TestMemcached: stats and get requests, the first and later datagrams of their replies, a
// miss, and what is not a request.
func TestMemcached(t *testing.T) {
	const port = proto.MemcachedPort
	checkVerdicts(t, &proto.MemcachedProtocol, []verdict{
		{name: "stats", sport: victim, dport: port, payload: memcachedFrame(0, 1, text("stats\r\n")), dir: proto.DirRequest, vector: "memcached/stats"},
		{name: "get", sport: victim, dport: port, payload: memcachedFrame(0, 1, text("get a b c\r\n")), dir: proto.DirRequest, vector: "memcached/get"},
		{name: "gets", sport: victim, dport: port, payload: memcachedFrame(0, 1, text("gets a\r\n")), dir: proto.DirRequest, vector: "memcached/get"},
		// nmap's nmap-payloads: the version probe.
		{name: "nmap version probe", sport: client, dport: port, payload: text("\x00\x01\x00\x00\x00\x01\x00\x00version\r\n")},
		{name: "set", sport: client, dport: port, payload: memcachedFrame(0, 1, text("set a 0 0 1\r\nx\r\n"))},
		{name: "stats in two datagrams", sport: victim, dport: port, payload: memcachedFrame(0, 2, text("stats\r\n"))},
		{name: "reserved bytes set", sport: victim, dport: port, payload: cat(memcachedFrame(0, 1, nil)[:6], []byte{0, 1}, text("stats\r\n"))},
		{name: "STAT reply", sport: port, dport: victim, payload: memcachedFrame(0, 3, text("STAT pid 1\r\nSTAT uptime 9\r\n")), dir: proto.DirResponse, vector: "memcached/stats", data: true},
		{name: "STAT reply, later datagram", sport: port, dport: victim, payload: memcachedFrame(2, 3, text("STAT curr_items 3\r\nEND\r\n")), dir: proto.DirResponse, vector: "memcached/stats", data: true},
		{name: "VALUE reply", sport: port, dport: victim, payload: memcachedFrame(0, 700, text("VALUE a 0 1000000\r\nxxxx")), dir: proto.DirResponse, vector: "memcached/get", data: true},
		{name: "value's later datagram", sport: port, dport: victim, payload: memcachedFrame(5, 700, zeros(1400)), dir: proto.DirResponse, vector: "memcached/get", data: true},
		{name: "value's later datagram, headers only", sport: port, dport: victim, payload: memcachedFrame(5, 700, nil), len: 1408, dir: proto.DirResponse, vector: "memcached/get", data: true},
		{name: "miss", sport: port, dport: victim, payload: memcachedFrame(0, 1, text("END\r\n")), dir: proto.DirResponse, vector: "memcached/get"},
		{name: "sequence beyond total", sport: port, dport: victim, payload: memcachedFrame(3, 3, zeros(100))},
		{name: "short", sport: port, dport: victim, payload: zeros(7)},
	})
}
