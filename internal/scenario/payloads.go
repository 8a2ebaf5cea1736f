package scenario

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
)

// The payloads of the reflection protocols' samples: each protocol's abused request and the
// reply a server sends back, well-formed as tshark reads them, with the sizes the attacks
// reported in the protocol's file of decode/proto produce. Each builder is a pure function.

// DNSQuery is a recursive DNS query for name of type qtype (RFC 1035 section 4.1) with an
// EDNS0 OPT record advertising buffer bytes (RFC 6891), none when buffer is 0.
func DNSQuery(id uint16, name string, qtype, buffer uint16) []byte {
	b := binary.BigEndian.AppendUint16(nil, id)
	b = append(b, 0x01, 0x00) // RD
	arcount := uint16(0)
	if buffer > 0 {
		arcount = 1
	}
	for _, n := range []uint16{1, 0, 0, arcount} {
		b = binary.BigEndian.AppendUint16(b, n)
	}
	b = appendDNSName(b, name)
	b = binary.BigEndian.AppendUint16(b, qtype)
	b = binary.BigEndian.AppendUint16(b, 1) // IN
	if buffer > 0 {
		b = append(b, 0, 0, 41) // the root, OPT
		b = binary.BigEndian.AppendUint16(b, buffer)
		b = append(b, 0, 0, 0, 0, 0, 0) // extended rcode, version, flags; no options
	}
	return b
}

// DNSAnswer is the answer to query (a DNSQuery) of size bytes: the query's header and
// question with QR, AA and RA set, then TXT records of the question's name (a compression
// pointer to it) whose strings fill the answer to exactly size bytes. size must leave room
// for one record.
func DNSAnswer(query []byte, size int) []byte {
	q := bytes.IndexByte(query[12:], 0) + 12 + 5 // the question's end
	b := append([]byte(nil), query[:q]...)
	b[2], b[3] = 0x85, 0x80
	binary.BigEndian.PutUint16(b[10:], 0)  // no additional record
	const overhead = 2 + 2 + 2 + 4 + 2 + 1 // pointer, type, class, TTL, RDLENGTH, string length
	var count uint16
	for left := size - len(b); left > 0; count++ {
		n := min(255, left-overhead)
		if rest := left - overhead - n; rest > 0 && rest < overhead {
			n -= overhead // leave the last record room for its own header
		}
		b = append(b, 0xc0, 12, 0, 16, 0, 1, 0, 0, 0x0e, 0x10)
		b = binary.BigEndian.AppendUint16(b, uint16(n+1))
		b = append(b, byte(n))
		b = append(b, strings.Repeat("v=spf1 include:_spf.example.net ~all ", 8)[:n]...)
		left = size - len(b)
	}
	binary.BigEndian.PutUint16(b[6:], count)
	return b
}

// appendDNSName appends name in the labels of RFC 1035 section 3.1.
func appendDNSName(b []byte, name string) []byte {
	for _, label := range strings.Split(name, ".") {
		b = append(b, byte(len(label)))
		b = append(b, label...)
	}
	return append(b, 0)
}

// berLong is a BER element of tag with its length in the 4-byte long form, as Active
// Directory writes LDAP, so that an element's size grows with its contents alone.
func berLong(tag byte, contents ...[]byte) []byte {
	n := 0
	for _, c := range contents {
		n += len(c)
	}
	b := []byte{tag, 0x84}
	b = binary.BigEndian.AppendUint32(b, uint32(n))
	for _, c := range contents {
		b = append(b, c...)
	}
	return b
}

// ber is a BER element of tag with its length in the shortest form (X.690 section 8.1.3).
func ber(tag byte, contents ...[]byte) []byte {
	n := 0
	for _, c := range contents {
		n += len(c)
	}
	b := []byte{tag}
	switch {
	case n < 0x80:
		b = append(b, byte(n))
	case n < 0x100:
		b = append(b, 0x81, byte(n))
	default:
		b = append(b, 0x82, byte(n>>8), byte(n))
	}
	for _, c := range contents {
		b = append(b, c...)
	}
	return b
}

// CLDAPRootDSE is the search of the root DSE for (objectClass=*) that attack tools send, as
// nmap's probe: message id 7, base object "", scope base, no alias dereferencing, no limits.
func CLDAPRootDSE() []byte {
	search := berLong(0x63,
		[]byte{0x04, 0x00, 0x0a, 0x01, 0x00, 0x0a, 0x01, 0x00, 0x02, 0x01, 0x00, 0x02, 0x01, 0x64, 0x01, 0x01, 0x00},
		ber(0x87, []byte("objectClass")), berLong(0x30))
	return berLong(0x30, []byte{0x02, 0x01, 0x07}, search)
}

// CLDAPRootEntry is a domain controller's answer to CLDAPRootDSE: a search result entry of
// the root DSE's attributes (naming contexts, supported controls and capabilities, as Active
// Directory lists them), padded by its last value to size bytes with the search result done
// after it in the same datagram.
func CLDAPRootEntry(size int) []byte {
	done := berLong(0x30, []byte{0x02, 0x01, 0x07}, berLong(0x65, []byte{0x0a, 0x01, 0x00, 0x04, 0x00, 0x04, 0x00}))
	attr := func(name string, vals ...string) []byte {
		var set [][]byte
		for _, v := range vals {
			set = append(set, berLong(0x04, []byte(v)))
		}
		return berLong(0x30, berLong(0x04, []byte(name)), berLong(0x31, set...))
	}
	fixed := [][]byte{
		attr("currentTime", "20260314090000.0Z"),
		attr("defaultNamingContext", "DC=example,DC=net"),
		attr("namingContexts", "DC=example,DC=net", "CN=Configuration,DC=example,DC=net", "CN=Schema,CN=Configuration,DC=example,DC=net"),
		attr("supportedLDAPVersion", "3", "2"),
		attr("dnsHostName", "dc1.example.net"),
		attr("domainFunctionality", "7"),
	}
	entry := func(pad int) []byte {
		attrs := append(append([][]byte(nil), fixed...), attr("supportedControl", strings.Repeat("1.2.840.113556.1.4.319 ", pad/23+1)[:pad]))
		e := berLong(0x30, []byte{0x02, 0x01, 0x07}, berLong(0x64, berLong(0x04), berLong(0x30, attrs...)))
		return append(e, done...)
	}
	return entry(size - len(entry(0)))
}

// SSDPSearch is the M-SEARCH for every service (ssdp:all) of UPnP Device Architecture
// section 1.3.2, as attack tools and nmap send it.
func SSDPSearch() []byte {
	return []byte("M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\nMX: 1\r\nST: ssdp:all\r\n\r\n")
}

// SSDPAnswers are the answers of a home router to SSDPSearch: one per service it offers
// (UPnP Device Architecture section 1.3.3), each naming its description's URL.
func SSDPAnswers(router string) [][]byte {
	var out [][]byte
	for _, st := range []string{"upnp:rootdevice", "uuid:4d696e69-444c-164e-9d41-b0c5543f1e2a",
		"urn:schemas-upnp-org:device:InternetGatewayDevice:1", "urn:schemas-upnp-org:service:Layer3Forwarding:1",
		"urn:schemas-upnp-org:device:WANDevice:1", "urn:schemas-upnp-org:service:WANCommonInterfaceConfig:1",
		"urn:schemas-upnp-org:device:WANConnectionDevice:1", "urn:schemas-upnp-org:service:WANIPConnection:1"} {
		out = append(out, []byte("HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=1800\r\nDATE: Sat, 14 Mar 2026 09:00:00 GMT\r\nEXT:\r\n"+
			"LOCATION: http://"+router+":1900/rootDesc.xml\r\nSERVER: Linux/4.14 UPnP/1.1 MiniUPnPd/2.1\r\nST: "+st+
			"\r\nUSN: uuid:4d696e69-444c-164e-9d41-b0c5543f1e2a::"+st+"\r\nBOOTID.UPNP.ORG: 7\r\nCONFIGID.UPNP.ORG: 1337\r\n\r\n"))
	}
	return out
}

// memcachedUDPMax is the payload memcached puts in one UDP datagram after the frame header
// (UDP_MAX_PAYLOAD_SIZE 1400 of memcached.c, less the 8-byte header).
const memcachedUDPMax = 1400 - 8

// MemcachedGet is the `get` request of an attacker who stored a large value under key:
// one datagram with the UDP frame header (request id, sequence 0 of 1).
func MemcachedGet(id uint16, key string) []byte {
	return memcachedFrame(id, 0, 1, []byte("get "+key+"\r\n"))
}

// MemcachedValue is memcached's answer to MemcachedGet for a value of n bytes: the VALUE
// line, the value and END (protocol.txt, "Retrieval command"), cut into datagrams of 1,400
// bytes with their frame headers.
func MemcachedValue(id uint16, key string, n int) [][]byte {
	text := append([]byte(fmt.Sprintf("VALUE %s 0 %d\r\n", key, n)), bytes.Repeat([]byte("0123456789abcdef"), n/16+1)[:n]...)
	text = append(text, "\r\nEND\r\n"...)
	total := (len(text) + memcachedUDPMax - 1) / memcachedUDPMax
	var out [][]byte
	for seq := range total {
		out = append(out, memcachedFrame(id, seq, total, text[seq*memcachedUDPMax:min(len(text), (seq+1)*memcachedUDPMax)]))
	}
	return out
}

func memcachedFrame(id uint16, seq, total int, b []byte) []byte {
	h := binary.BigEndian.AppendUint16(nil, id)
	h = binary.BigEndian.AppendUint16(h, uint16(seq))
	h = binary.BigEndian.AppendUint16(h, uint16(total))
	return append(append(h, 0, 0), b...)
}

// CharGENLine is what a CharGEN server answers (RFC 864): lines of 72 printable characters,
// each starting one character further along the 95 of ASCII, ending in CR LF, n bytes in all.
func CharGENLine(n int) []byte {
	var b []byte
	for line := 0; len(b) < n; line++ {
		for i := range 72 {
			b = append(b, byte(' '+(line+i)%95))
		}
		b = append(b, '\r', '\n')
	}
	return b[:n]
}

// QOTDQuote is a quote of n bytes (RFC 865: at most 512 characters).
func QOTDQuote(n int) []byte {
	return bytes.Repeat([]byte("Quote of the Day, RFC 865: any datagram to port 17 brings one back.\r\n"), n/69+1)[:n]
}

// snmpOID is the BER encoding of 1.3.6.1.2.1.2.2.1.2.k, ifDescr of interface k (RFC 2863).
func snmpOID(k int) []byte {
	return ber(0x06, []byte{0x2b, 6, 1, 2, 1, 2, 2, 1, 2, byte(k)})
}

// SNMPGetBulk is a GetBulkRequest of SNMPv2c with community public (RFC 3416 section 4.2.3)
// for the interfaces table: no non-repeaters, max-repetitions repetitions.
func SNMPGetBulk(id uint32, repetitions int) []byte {
	vb := ber(0x30, ber(0x30, ber(0x06, []byte{0x2b, 6, 1, 2, 1, 2, 2}), []byte{0x05, 0x00}))
	pdu := ber(0xa5, ber(0x02, binary.BigEndian.AppendUint32(nil, id)), []byte{0x02, 0x01, 0x00},
		ber(0x02, []byte{byte(repetitions >> 8), byte(repetitions)}), vb)
	return ber(0x30, []byte{0x02, 0x01, 0x01}, ber(0x04, []byte("public")), pdu)
}

// SNMPWalk is an agent's Response to SNMPGetBulk: n variables, each an interface's
// description, of the given length (RFC 3416 section 3).
func SNMPWalk(id uint32, n, descLen int) []byte {
	var vbs [][]byte
	for k := 1; k <= n; k++ {
		desc := fmt.Sprintf("GigabitEthernet0/%d %s", k, strings.Repeat("uplink ", descLen/7+1))[:descLen]
		vbs = append(vbs, ber(0x30, snmpOID(k%256), ber(0x04, []byte(desc))))
	}
	pdu := ber(0xa2, ber(0x02, binary.BigEndian.AppendUint32(nil, id)), []byte{0x02, 0x01, 0x00, 0x02, 0x01, 0x00}, ber(0x30, vbs...))
	return ber(0x30, []byte{0x02, 0x01, 0x01}, ber(0x04, []byte("public")), pdu)
}

// nbWildcard is the NetBIOS name `*` in the first-level encoding of RFC 1001 section 14.1.
const nbWildcard = "\x20CKAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\x00"

// NetBIOSStatus is a NODE STATUS REQUEST for `*` (RFC 1002 section 4.2.17), as nbtstat -A and
// nmap send it.
func NetBIOSStatus(id uint16) []byte {
	b := binary.BigEndian.AppendUint16(nil, id)
	b = append(b, 0, 0x10, 0, 1, 0, 0, 0, 0, 0, 0)
	b = append(b, nbWildcard...)
	return append(b, 0, 0x21, 0, 1)
}

// NetBIOSStatusAnswer is a host's NODE STATUS RESPONSE (RFC 1002 section 4.2.18) listing
// names of its registered names, then its MAC address and statistics.
func NetBIOSStatusAnswer(id uint16, names int) []byte {
	rdata := []byte{byte(names)}
	for i := range names {
		name := fmt.Sprintf("%-15s", fmt.Sprintf("FILESERVER%02d", i))
		rdata = append(rdata, name...)
		rdata = append(rdata, byte(0x20*(i%2)), 0x04, 0x00) // suffix, flags: active
	}
	rdata = append(rdata, 0x02, 0, 0, 0, 0, 0x42) // unit id (the MAC address)
	rdata = append(rdata, make([]byte, 40)...)    // statistics
	b := binary.BigEndian.AppendUint16(nil, id)
	b = append(b, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0)
	b = append(b, nbWildcard...)
	b = append(b, 0, 0x21, 0, 1, 0, 0, 0, 0)
	b = binary.BigEndian.AppendUint16(b, uint16(len(rdata)))
	return append(b, rdata...)
}

// PortmapDump is a port mapper DUMP call, version 2, with AUTH_NONE (RFC 1833, RFC 5531).
func PortmapDump(xid uint32) []byte {
	b := binary.BigEndian.AppendUint32(nil, xid)
	for _, v := range []uint32{0, 2, 100000, 2, 4, 0, 0, 0, 0} {
		b = binary.BigEndian.AppendUint32(b, v)
	}
	return b
}

// PortmapDumpAnswer is the port mapper's answer to PortmapDump: the version 2 list of n
// mappings (program, version, protocol, port) of an NFS server (RFC 1833 appendix).
func PortmapDumpAnswer(xid uint32, n int) []byte {
	b := binary.BigEndian.AppendUint32(nil, xid)
	for _, v := range []uint32{1, 0, 0, 0, 0} { // REPLY, MSG_ACCEPTED, AUTH_NONE verifier, SUCCESS
		b = binary.BigEndian.AppendUint32(b, v)
	}
	programs := []uint32{100000, 100003, 100005, 100021, 100024, 100227}
	for i := range n {
		b = binary.BigEndian.AppendUint32(b, 1) // value follows
		for _, v := range []uint32{programs[i%len(programs)], uint32(2 + i%3), []uint32{6, 17}[i%2], uint32(111 + 1000*(i%40))} {
			b = binary.BigEndian.AppendUint32(b, v)
		}
	}
	return binary.BigEndian.AppendUint32(b, 0)
}

// MSSQLPing is the SQL Server Resolution Protocol's CLNT_UCAST_EX, a request for every
// instance ([MS-SQLR] section 2.2.2).
func MSSQLPing() []byte { return []byte{0x03} }

// MSSQLInstances is the SQL Server Browser's SVR_RESP ([MS-SQLR] section 2.2.5) naming n
// instances of server.
func MSSQLInstances(server string, n int) []byte {
	var data strings.Builder
	for i := range n {
		fmt.Fprintf(&data, "ServerName;%s;InstanceName;INST%02d;IsClustered;No;Version;15.0.2000.5;tcp;%d;np;\\\\%s\\pipe\\MSSQL$INST%02d\\sql\\query;;",
			server, i, 49152+i, server, i)
	}
	b := []byte{0x05}
	b = binary.LittleEndian.AppendUint16(b, uint16(data.Len()))
	return append(b, data.String()...)
}

// wsdEnvelope is a SOAP-over-UDP envelope of WS-Discovery (2005/04) with the given action and body.
func wsdEnvelope(action, relates, body string) []byte {
	return []byte(`<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope" ` +
		`xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:wsd="http://schemas.xmlsoap.org/ws/2005/04/discovery">` +
		`<soap:Header><wsa:To>urn:schemas-xmlsoap-org:ws:2005:04:discovery</wsa:To><wsa:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/` +
		action + `</wsa:Action><wsa:MessageID>urn:uuid:6c5e4a37-7b21-4b6a-9a3e-2a8e3d0c1f55</wsa:MessageID>` + relates +
		`</soap:Header><soap:Body>` + body + `</soap:Body></soap:Envelope>`)
}

// WSDProbe is a WS-Discovery Probe for any device (WS-Discovery section 5.2).
func WSDProbe() []byte { return wsdEnvelope("Probe", "", "<wsd:Probe/>") }

// WSDProbeMatches is a camera's answer to WSDProbe (WS-Discovery section 5.3) listing its
// types, scopes and service addresses, scopes scopes long.
func WSDProbeMatches(addr string, scopes int) []byte {
	var sc strings.Builder
	for i := range scopes {
		fmt.Fprintf(&sc, "onvif://www.onvif.org/location/building/%d onvif://www.onvif.org/hardware/IPC-HDW%04d ", i, i)
	}
	body := `<wsd:ProbeMatches><wsd:ProbeMatch><wsa:EndpointReference><wsa:Address>urn:uuid:2419d68a-2dd2-21b2-a205-ec4d1f2b9a33` +
		`</wsa:Address></wsa:EndpointReference><wsd:Types>dn:NetworkVideoTransmitter tds:Device</wsd:Types><wsd:Scopes>` + sc.String() +
		`</wsd:Scopes><wsd:XAddrs>http://` + addr + `/onvif/device_service</wsd:XAddrs><wsd:MetadataVersion>1</wsd:MetadataVersion>` +
		`</wsd:ProbeMatch></wsd:ProbeMatches>`
	return wsdEnvelope("ProbeMatches", `<wsa:RelatesTo>urn:uuid:6c5e4a37-7b21-4b6a-9a3e-2a8e3d0c1f55</wsa:RelatesTo>`, body)
}

// ARDInfo is the Apple Remote Desktop information request of nmap's nmap-payloads.
func ARDInfo() []byte { return []byte{0x00, 0x14, 0x00, 0x01, 0x03} }

// ARDStatus is an ARMS answer to ARDInfo: 1,034 bytes of status, the size NETSCOUT ASERT
// reported, here a header and the machine's name padded out.
func ARDStatus(name string) []byte {
	b := append([]byte{0x00, 0x01, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00}, name...)
	return append(b, make([]byte, 1034-len(b))...)
}

// CoAPDiscovery is a confirmable GET of /.well-known/core with message id mid (RFC 7252,
// RFC 6690), as nmap's probe.
func CoAPDiscovery(mid uint16) []byte {
	b := []byte{0x40, 0x01}
	b = binary.BigEndian.AppendUint16(b, mid)
	return append(b, "\xbb.well-known\x04core"...)
}

// CoAPLinks is a device's 2.05 Content answer to CoAPDiscovery: piggybacked on the ACK, in
// link-format (content format 40), listing n resources.
func CoAPLinks(mid uint16, n int) []byte {
	b := []byte{0x60, 0x45}
	b = binary.BigEndian.AppendUint16(b, mid)
	b = append(b, 0xc1, 40, 0xff) // Content-Format: 40, then the payload
	for i := range n {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, fmt.Sprintf(`</sensors/s%03d>;rt="temperature-c";if="sensor";ct=0`, i)...)
	}
	return b
}

// RIPRequest is a RIP request for the whole routing table (RFC 1058 section 3.4.1): one entry
// of address family 0 and metric 16.
func RIPRequest(version byte) []byte {
	b := []byte{1, version, 0, 0}
	b = append(b, make([]byte, 16)...)
	return append(b, 0, 0, 0, 16)
}

// RIPTable is a router's answer to RIPRequest: its routes, 25 to a datagram (RFC 1058
// section 3.1), routes routes in all, from 10.0.0.0/24 on.
func RIPTable(version byte, routes int) [][]byte {
	var out [][]byte
	for first := 0; first < routes; first += 25 {
		b := []byte{2, version, 0, 0}
		for i := first; i < min(routes, first+25); i++ {
			b = append(b, 0, 2, 0, 0, 10, byte(i>>8), byte(i), 0)
			b = append(b, make([]byte, 8)...)
			b = append(b, 0, 0, 0, byte(1+i%14))
		}
		out = append(out, b)
	}
	return out
}

// TFTPRead is a read request for file in octet mode (RFC 1350 section 5).
func TFTPRead(file string) []byte {
	return append([]byte{0, 1}, file+"\x00octet\x00"...)
}

// TFTPFirstBlock is the first DATA block of a file of more than 512 bytes (RFC 1350
// section 5): what a server sends, and sends again, to a client that does not acknowledge.
func TFTPFirstBlock() []byte {
	b := []byte{0, 3, 0, 1}
	return append(b, bytes.Repeat([]byte{0x55, 0xaa, 0x90, 0x90}, 128)...)
}

// UbiquitiProbe is the version 1 discovery probe of nmap's ubiquiti-discovery.
func UbiquitiProbe() []byte { return []byte{1, 0, 0, 0} }

// UbiquitiAnswer is a Ubiquiti router's version 1 answer: its MAC and address pairs, its
// firmware, name, model, ESSID and uptime as TLVs (type, 16-bit length, value), as
// ubiquiti-discovery reads them, with addrs address pairs.
func UbiquitiAnswer(addrs int) []byte {
	tlv := func(b []byte, t byte, v []byte) []byte {
		b = append(b, t)
		b = binary.BigEndian.AppendUint16(b, uint16(len(v)))
		return append(b, v...)
	}
	var body []byte
	body = tlv(body, 0x01, []byte{0x24, 0xa4, 0x3c, 0x01, 0x02, 0x03})
	for i := range addrs {
		body = tlv(body, 0x02, []byte{0x24, 0xa4, 0x3c, 0x01, 0x02, byte(3 + i), 192, 0, 2, byte(1 + i)})
	}
	body = tlv(body, 0x0a, []byte{0, 0x12, 0xd6, 0x87})
	body = tlv(body, 0x0b, []byte("edge-router-office"))
	body = tlv(body, 0x0c, []byte("ER-X"))
	body = tlv(body, 0x03, []byte("EdgeRouter.ER-e50.v2.0.9-hotfix.6.5574651.230213.1025"))
	body = tlv(body, 0x0d, []byte("office-uplink"))
	b := []byte{1, 0}
	b = binary.BigEndian.AppendUint16(b, uint16(len(body)))
	return append(b, body...)
}

// dhip is a DHIP message: the 32-byte header (its length 32 and the body's, little-endian,
// the magic DHIP) and the JSON body.
func dhip(body string) []byte {
	b := binary.LittleEndian.AppendUint32(nil, 32)
	b = append(b, "DHIP"...)
	b = append(b, make([]byte, 8)...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(body)))
	b = append(b, 0, 0, 0, 0)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(body)))
	b = append(b, 0, 0, 0, 0)
	return append(b, body...)
}

// DVRSearch is the DHDiscover.search request of Dahua's device search.
func DVRSearch() []byte {
	return dhip(`{"method":"DHDiscover.search","params":{"mac":"","uni":1}}` + "\n")
}

// DVRDevice is a video recorder's answer to DVRSearch, describing the device.
func DVRDevice(addr string) []byte {
	return dhip(`{"mac":"3c:ef:8c:12:34:56","method":"client.notifyDevInfo","params":{"deviceInfo":{"AlarmInputChannels":8,` +
		`"AlarmOutputChannels":3,"DeviceClass":"NVR","DeviceType":"DHI-NVR5216-16P-4KS2E","HttpPort":80,"IPv4Address":{"DefaultGateway":` +
		`"192.0.2.1","DhcpEnable":false,"IPAddress":"` + addr + `","SubnetMask":"255.255.255.0"},"IPv6Address":{"DefaultGateway":"",` +
		`"DhcpEnable":false,"IPAddress":"2001:db8::1/64","LinkLocalAddress":"fe80::3eef:8cff:fe12:3456/64"},"Init":1,"MachineName":` +
		`"NVR-ENTRANCE","Manufacturer":"Private","Port":37777,"RemoteVideoInputChannels":16,"SerialNo":"5L0123456789ABC",` +
		`"Vendor":"General","Version":"4.1.1","VideoInputChannels":16,"VideoOutputChannels":2}}}` + "\n")
}
