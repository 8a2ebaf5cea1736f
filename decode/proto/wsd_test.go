package proto_test

import (
	"testing"

	"github.com/ntpwatch/ntpwatch/decode/proto"
)

// TestWSD: a probe, its answer and an announcement between two 3702 ports.
func TestWSD(t *testing.T) {
	const port = proto.WSDPort
	// nmap's wsdd.lua, the "general" probe, as Windows 7 sends it.
	probe := text(`<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope" xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing" ` +
		`xmlns:wsd="http://schemas.xmlsoap.org/ws/2005/04/discovery"><env:Header><wsa:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe` +
		`</wsa:Action></env:Header><env:Body><wsd:Probe/></env:Body></env:Envelope>`)
	checkVerdicts(t, &proto.WSDProtocol, []verdict{
		{name: "probe", sport: victim, dport: port, payload: probe, dir: proto.DirRequest, vector: "wsd/probe"},
		{name: "junk", sport: victim, dport: port, payload: text("x"), dir: proto.DirRequest, vector: "wsd/probe"},
		{name: "probe matches", sport: port, dport: victim, payload: cat(text("<soap:Envelope>"), zeros(2000)), dir: proto.DirResponse, vector: "wsd/probe", data: true},
		{name: "hello between two 3702 ports", sport: port, dport: port, payload: probe},
		{name: "empty reply", sport: port, dport: victim},
	})
}
