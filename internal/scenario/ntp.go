package scenario

import (
	"encoding/binary"
	"net/netip"
	"time"

	"github.com/ntpwatch/ntpwatch/decode/proto"
)

// Mode 7 and mode 6 constants (ntpd include/ntp_request.h, RFC 9327).
const (
	implXNTPD      = 3
	monitorItemLen = 72 // struct info_monitor_1
	mode7MaxData   = 500
	errNoData      = 4
	opReadVar      = 2
	ntpHeaderLen   = 48
	// ntpUnixEpochGap is the seconds from 1900-01-01, the NTP era 0, to 1970-01-01.
	ntpUnixEpochGap = 2208988800
)

// MonlistRequest is a version 2 MON_GETLIST_1 request to implementation 3 (XNTPD) of size
// bytes: 8 as attack tools send it, 48 as older ntpdc and nmap do, 192 as ntpdc 4.2.7 and
// later do. After the 8-byte header it is zeros.
func MonlistRequest(size int) []byte {
	h := proto.Private{Implementation: implXNTPD, RequestCode: proto.ReqMonGetList1}
	b := proto.AppendPrivate(make([]byte, 0, max(size, 8)), 2, &h)
	return append(b, make([]byte, max(0, size-len(b)))...)
}

// MonlistReply is the series of MON_GETLIST_1 reply payloads that list clients, as ntpd's
// more_pkt sends them: six 72-byte info_monitor_1 items a packet, M set on all but the
// last. server is the address the items say the requests were sent to.
func MonlistReply(version uint8, clients []netip.Addr, server netip.Addr) [][]byte {
	const perPacket = mode7MaxData / monitorItemLen
	var out [][]byte
	for seq := 0; seq*perPacket < len(clients); seq++ {
		chunk := clients[seq*perPacket : min(len(clients), (seq+1)*perPacket)]
		h := proto.Private{
			Response: true, More: (seq+1)*perPacket < len(clients), Sequence: uint8(seq),
			Implementation: implXNTPD, RequestCode: proto.ReqMonGetList1,
			Items: uint16(len(chunk)), ItemSize: monitorItemLen,
		}
		b := proto.AppendPrivate(make([]byte, 0, 8+len(chunk)*monitorItemLen), version, &h)
		for i, c := range chunk {
			b = appendMonitorItem(b, uint32(seq*perPacket+i), c, server)
		}
		out = append(out, b)
	}
	return out
}

// MonitorList is a monitor list of n distinct clients for a server's monlist reply: first,
// the most recent client (the requester, whose forged address is the victim), then hosts of
// the IPv4 documentation ranges.
func MonitorList(first netip.Addr, n int) []netip.Addr {
	out := []netip.Addr{first}
	for _, base := range []string{"192.0.2.0", "198.51.100.0", "203.0.113.0"} {
		a := netip.MustParseAddr(base)
		for i := 1; i < 255 && len(out) < n; i++ {
			a = a.Next()
			if a != first {
				out = append(out, a)
			}
		}
	}
	return out
}

// appendMonitorItem appends the n-th info_monitor_1 item: avg_int, last_int, restr, count,
// addr, daddr, flags, port, mode, version, v6_flag, unused, addr6, daddr6.
func appendMonitorItem(b []byte, n uint32, client, server netip.Addr) []byte {
	b = binary.BigEndian.AppendUint32(b, 64+n%900) // avg_int
	b = binary.BigEndian.AppendUint32(b, n*3)      // last_int
	b = binary.BigEndian.AppendUint32(b, 0)        // restr
	b = binary.BigEndian.AppendUint32(b, 1+n%97)   // count
	var v4, d4 [4]byte
	var v6, d6 [16]byte
	var v6flag uint32
	if client.Is4() {
		v4, d4 = client.As4(), server.As4()
	} else {
		v6, d6 = client.As16(), server.As16()
		v6flag = 1
	}
	b = append(b, v4[:]...)
	b = append(b, d4[:]...)
	b = binary.BigEndian.AppendUint32(b, 0)      // flags
	b = binary.BigEndian.AppendUint16(b, 123)    // port
	b = append(b, 3, 4)                          // mode, version
	b = binary.BigEndian.AppendUint32(b, v6flag) // v6_flag
	b = binary.BigEndian.AppendUint32(b, 0)      // unused
	b = append(b, v6[:]...)
	b = append(b, d6[:]...)
	return b
}

// noDataReply is the 8-byte err=4 answer of a patched server to a MON_GETLIST_1 request:
// no amplification, but proof that the host speaks mode 7.
func noDataReply(version uint8) []byte {
	h := proto.Private{Response: true, Implementation: implXNTPD, RequestCode: proto.ReqMonGetList1, Err: errNoData}
	return proto.AppendPrivate(nil, version, &h)
}

// ntpTimestamp is t in the 64-bit NTP timestamp format (RFC 5905 section 6).
func ntpTimestamp(t time.Time) uint64 {
	secs := uint64(t.Unix() + ntpUnixEpochGap)
	frac := uint64(t.Nanosecond()) << 32 / 1e9
	return secs<<32 | frac
}

// ClientRequest is a 48-byte NTPv4 mode 3 request sent at t, as chrony and ntpd send it.
func ClientRequest(t time.Time) []byte {
	b := make([]byte, ntpHeaderLen)
	b[0] = 0<<6 | 4<<3 | 3
	b[2] = 6    // poll 64 s
	b[3] = 0xe9 // precision 2^-23
	binary.BigEndian.PutUint64(b[40:], ntpTimestamp(t))
	return b
}

// ServerReply is the 48-byte mode 4 answer of a stratum 2 server to the ClientRequest req,
// received at recv and sent at xmit; refID names the server's own time source.
func ServerReply(req []byte, recv, xmit time.Time, refID [4]byte) []byte {
	b := make([]byte, ntpHeaderLen)
	b[0] = 0<<6 | 4<<3 | 4
	b[1] = 2
	b[2] = req[2]
	b[3] = 0xe9
	binary.BigEndian.PutUint32(b[4:], 0x0000026f) // root delay 9.5 ms
	binary.BigEndian.PutUint32(b[8:], 0x00000326) // root dispersion 12.3 ms
	copy(b[12:], refID[:])
	binary.BigEndian.PutUint64(b[16:], ntpTimestamp(recv.Add(-37*time.Second)))
	copy(b[24:32], req[40:48]) // origin = the client's transmit time
	binary.BigEndian.PutUint64(b[32:], ntpTimestamp(recv))
	binary.BigEndian.PutUint64(b[40:], ntpTimestamp(xmit))
	return b
}

// ReadVar is one `ntpq -c rv` exchange (RFC 9327 READVAR, mode 6 opcode 2) with sequence
// number seq: the 12-byte request, and the answer in two parts, 468 bytes of variables
// with M set and 200 more, as a server with more variables than fit one packet sends it.
func ReadVar(seq uint16) (request []byte, answer [2][]byte) {
	vars := make([]byte, 468)
	for i := range vars {
		vars[i] = 'a' + byte(i%26)
	}
	request = proto.AppendControl(nil, 0, 2, &proto.Control{OpCode: opReadVar, Sequence: seq})
	answer[0] = readVarPart(seq, 0, vars, true)
	answer[1] = readVarPart(seq, uint16(len(vars)), vars[:200], false)
	return request, answer
}

// readVarPart is one part of a READVAR answer: data at offset, padded to 32 bits, with the
// leap and sync status of a synchronized server (0x0615).
func readVarPart(seq, offset uint16, data []byte, more bool) []byte {
	h := proto.Control{Response: true, More: more, OpCode: opReadVar, Sequence: seq,
		Status: 0x0615, Offset: offset, Count: uint16(len(data))}
	b := proto.AppendControl(nil, 0, 2, &h)
	b = append(b, data...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}
