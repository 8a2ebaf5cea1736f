package proto_test

import (
	"testing"

	"github.com/ntpwatch/ntpwatch/decode/proto"
)

// ldapMessage wraps the operation op (tag and contents) in an LDAPMessage with message id 7,
// with long-form lengths as Active Directory writes them.
func ldapMessage(op byte, contents []byte) []byte {
	long := func(n int) []byte { return []byte{0x84, byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)} }
	inner := cat([]byte{0x02, 0x01, 0x07, op}, long(len(contents)), contents)
	return cat([]byte{0x30}, long(len(inner)), inner)
}

// TestCLDAP: a root DSE search and its entry; an LDAP ping's small entry; a search with a
// base object and a searchResDone alone.
func TestCLDAP(t *testing.T) {
	const port = proto.CLDAPPort
	// nmap's nmap-payloads, "Connectionless LDAP": a root DSE search for (objectClass=*).
	nmapProbe := text("\x30\x84\x00\x00\x00\x2d\x02\x01\x07\x63\x84\x00\x00\x00\x24\x04\x00" +
		"\x0a\x01\x00\x0a\x01\x00\x02\x01\x00\x02\x01\x64\x01\x01\x00\x87\x0b" +
		"objectClass0\x84\x00\x00\x00\x00")
	entry := func(n int) []byte {
		return ldapMessage(0x64, cat([]byte{0x04, 0x00, 0x30, 0x82, byte(n >> 8), byte(n)}, zeros(n)))
	}
	checkVerdicts(t, &proto.CLDAPProtocol, []verdict{
		{name: "nmap root DSE probe", sport: victim, dport: port, payload: nmapProbe, dir: proto.DirRequest, vector: "cldap/rootdse"},
		{name: "root DSE entry", sport: port, dport: victim, payload: entry(2900), dir: proto.DirResponse, vector: "cldap/rootdse", data: true},
		{name: "root DSE entry, headers only", sport: port, dport: victim, payload: entry(2900)[:30], len: len(entry(2900)), dir: proto.DirResponse, vector: "cldap/rootdse", data: true},
		{name: "LDAP ping answer", sport: port, dport: client, payload: entry(160), dir: proto.DirResponse, vector: "cldap/rootdse"},
		{name: "search of a base object", sport: client, dport: port, payload: ldapMessage(0x63, cat([]byte{0x04, 0x03}, text("o=x"), zeros(20)))},
		{name: "searchResDone alone", sport: port, dport: client, payload: ldapMessage(0x65, []byte{0x0a, 0x01, 0x20, 0x04, 0x00, 0x04, 0x00}), dir: proto.DirResponse, vector: "cldap/rootdse", refusal: true},
		{name: "CLDAPv2 user name (RFC 1798)", sport: victim, dport: port,
			payload: cat([]byte{0x30, 0x0c, 0x02, 0x01, 0x01, 0x04, 0x00, 0x63, 0x05, 0x04, 0x00, 0x0a, 0x01, 0x00}), dir: proto.DirRequest, vector: "cldap/rootdse"},
		{name: "request sent from port 389", sport: port, dport: client, payload: nmapProbe},
		{name: "not BER", sport: client, dport: port, payload: text("hello")},
		{name: "length form of 5 bytes", sport: client, dport: port, payload: []byte{0x30, 0x85, 0, 0, 0, 0, 1}},
	})
}
