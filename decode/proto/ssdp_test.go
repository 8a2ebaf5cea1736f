package proto_test

import (
	"testing"

	"github.com/ntpwatch/ntpwatch/decode/proto"
)

// TestSSDP: an M-SEARCH, its answer, a NOTIFY announcement and an error status.
func TestSSDP(t *testing.T) {
	const port = proto.SSDPPort
	// nmap's nmap-payloads, "UPNP MSEARCH".
	search := text("M-SEARCH * HTTP/1.1\r\nHost: 239.255.255.250:1900\r\nMan: \"ssdp:discover\"\r\nMX: 5\r\nST: ssdp:all\r\n\r\n")
	ok := text("HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=1800\r\nST: upnp:rootdevice\r\nUSN: uuid:x::upnp:rootdevice\r\n" +
		"LOCATION: http://192.0.2.1:49152/rootDesc.xml\r\nSERVER: Linux UPnP/1.0\r\n\r\n")
	checkVerdicts(t, &proto.SSDPProtocol, []verdict{
		{name: "nmap M-SEARCH", sport: victim, dport: port, payload: search, dir: proto.DirRequest, vector: "ssdp/m-search"},
		{name: "lower-case M-SEARCH", sport: victim, dport: port, payload: text("m-search * HTTP/1.1\r\n"), dir: proto.DirRequest, vector: "ssdp/m-search"},
		{name: "answer", sport: port, dport: victim, payload: ok, dir: proto.DirResponse, vector: "ssdp/m-search", data: true},
		{name: "error status", sport: port, dport: victim, payload: text("HTTP/1.1 400 Bad Request\r\n\r\n"), dir: proto.DirResponse, vector: "ssdp/m-search"},
		{name: "NOTIFY", sport: port, dport: port, payload: text("NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nNTS: ssdp:alive\r\n\r\n")},
		{name: "M-SEARCH from port 1900", sport: port, dport: port, payload: search, dir: proto.DirRequest, vector: "ssdp/m-search"},
		{name: "M-SEARC", sport: victim, dport: port, payload: text("M-SEARC")},
		{name: "M-SEARCH with a digit where a letter is", sport: victim, dport: port, payload: text("M\rSEARCH * HTTP/1.1")},
	})
}
