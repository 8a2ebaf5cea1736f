package proto_test

import (
	"testing"

	"github.com/ntpwatch/ntpwatch/decode/proto"
)

// TestTFTP: a read request, the first block from the transfer's port, later blocks and an
// error; the table hands 516-byte datagrams on no table port to TFTP.
func TestTFTP(t *testing.T) {
	const port = proto.TFTPPort
	block := func(n byte, size int) []byte { return cat([]byte{0, 3, 0, n}, zeros(size)) }
	checkVerdicts(t, &proto.TFTPProtocol, []verdict{
		// tcpdump's tests/tftp.pcap frame 1: RRQ of file1, octet mode.
		{name: "tcpdump tftp frame 1", sport: 44935, dport: port, payload: unhex(t, "000166696c6531006f6374657400"), dir: proto.DirRequest, vector: "tftp/rrq"},
		{name: "WRQ", sport: client, dport: port, payload: text("\x00\x02file1\x00octet\x00")},
		{name: "block 1", sport: 50123, dport: victim, payload: block(1, 512), dir: proto.DirResponse, vector: "tftp/rrq", data: true},
		{name: "block 1, headers only", sport: 50123, dport: victim, payload: block(1, 0), len: 516, dir: proto.DirResponse, vector: "tftp/rrq", data: true},
		{name: "block 2", sport: 50123, dport: client, payload: block(2, 512)},
		{name: "last block of a small file", sport: 50123, dport: client, payload: block(1, 100)},
		{name: "error from port 69", sport: port, dport: victim, payload: text("\x00\x05\x00\x01File not found\x00"), dir: proto.DirResponse, vector: "tftp/rrq", refusal: true},
		{name: "block 1 sent to port 69", sport: 50123, dport: port, payload: block(1, 512)},
	})
	if p := proto.Default.Stray(516); p == nil || p.Name != "tftp" {
		t.Errorf("Stray(516) = %v, want tftp", p)
	}
	if p := proto.Default.Stray(515); p != nil {
		t.Errorf("Stray(515) = %s, want none", p.Name)
	}
}
