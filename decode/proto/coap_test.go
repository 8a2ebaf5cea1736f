package proto_test

import (
	"testing"

	"github.com/ntpwatch/ntpwatch/decode/proto"
)

// TestCoAP: discovery's GET and its link-format answer; other GETs and answers; malformed
// options.
func TestCoAP(t *testing.T) {
	const port = proto.CoAPPort
	// nmap's nmap-payloads, "CoAP GET .well-known/core": CON, GET, two Uri-Path options.
	discovery := text("@\x01\x01\xce\xbb.well-known\x04core")
	links := text("</sensors/temp>;rt=\"temperature-c\";if=\"sensor\",</sensors/light>;rt=\"light-lux\";if=\"sensor\"")
	// ACK 2.05 Content, token 0x72 0x16, Content-Format 40, then the links.
	answer := cat(text("\x62\x45\x01\xce\x72\x16\xc1\x28\xff"), links)
	checkVerdicts(t, &proto.CoAPProtocol, []verdict{
		{name: "nmap discovery", sport: victim, dport: port, payload: discovery, dir: proto.DirRequest, vector: "coap/discovery"},
		{name: "discovery with a token and Uri-Host", sport: victim, dport: port,
			payload: text("\x42\x01\x00\x07\xab\xcd\x39example.n\x8b.well-known\x04core"), dir: proto.DirRequest, vector: "coap/discovery"},
		{name: "GET /sensors/temp", sport: client, dport: port, payload: text("\x40\x01\x00\x01\xb7sensors\x04temp")},
		{name: "GET /.well-known/core/x", sport: client, dport: port, payload: text("\x40\x01\x00\x01\xbb.well-known\x04core\x01x")},
		{name: "link-format answer", sport: port, dport: victim, payload: answer, dir: proto.DirResponse, vector: "coap/discovery", data: true},
		{name: "text answer", sport: port, dport: client, payload: text("\x60\x45\x00\x01\xc0\xff21.5")},
		{name: "4.04", sport: port, dport: client, payload: text("\x60\x84\x00\x01")},
		{name: "reserved option delta", sport: client, dport: port, payload: text("\x40\x01\x00\x01\xf1x")},
		{name: "option past the end", sport: client, dport: port, payload: text("\x40\x01\x00\x01\xbb.well")},
		{name: "version 2", sport: client, dport: port, payload: text("\x80\x01\x01\xce\xbb.well-known\x04core")},
	})
}
