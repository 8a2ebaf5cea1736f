package main

import (
	"encoding/binary"
	"net/netip"
	"time"
)

// Mode 7 request codes and implementation numbers (ntpd include/ntp_request.h).
const (
	reqPeerList     = 0
	reqMonGetlist   = 20
	reqMonGetlist1  = 42
	implXNTPD       = 3
	implXNTPDOld    = 2
	mode7ItemSize1  = 72 // struct info_monitor_1
	mode7MaxData    = 500
	errNoData       = 4
	ntpHeaderLen    = 48
	ntpUnixEpochGap = 2208988800 // seconds from 1900-01-01 to 1970-01-01
)

// mode7Request is a MON_GETLIST-style request of size 8 (attack tools), 48 (older ntpdc, nmap)
// or 192 bytes (ntpdc 4.2.7 and later): R=0, M=0, VN=2, mode 7, then zeros.
func mode7Request(version, impl, code byte, size int) []byte {
	b := make([]byte, size)
	b[0] = version<<3 | 7
	b[2] = impl
	b[3] = code
	return b
}

// mode7Header appends the 8-byte mode 7 header: R and M bits, version, sequence, request
// code, err, item count and item size (ntp_request.h struct resp_pkt).
func mode7Header(b []byte, more bool, version, seq, impl, code byte, errCode byte, items, itemSize int) []byte {
	b0 := byte(0x80) | version<<3 | 7
	if more {
		b0 |= 0x40
	}
	b = append(b, b0, seq&0x7f, impl, code)
	b = binary.BigEndian.AppendUint16(b, uint16(errCode)<<12|uint16(items)&0x0fff)
	b = binary.BigEndian.AppendUint16(b, uint16(itemSize)&0x0fff)
	return b
}

// monlistReply is the series of MON_GETLIST_1 (impl 3) reply payloads that list clients: six
// 72-byte info_monitor_1 items per packet, M set on all but the last, as ntpd's more_pkt
// sends them.
func monlistReply(version byte, clients []netip.Addr, server netip.Addr) [][]byte {
	const perPacket = mode7MaxData / mode7ItemSize1
	var out [][]byte
	for seq := 0; seq*perPacket < len(clients); seq++ {
		chunk := clients[seq*perPacket : min(len(clients), (seq+1)*perPacket)]
		more := (seq+1)*perPacket < len(clients)
		b := mode7Header(make([]byte, 0, 8+len(chunk)*mode7ItemSize1), more, version, byte(seq), implXNTPD, reqMonGetlist1, 0, len(chunk), mode7ItemSize1)
		for i, c := range chunk {
			b = appendMonitorItem(b, uint32(seq*perPacket+i), c, server)
		}
		out = append(out, b)
	}
	return out
}

// appendMonitorItem appends one info_monitor_1 item: avg_int, last_int, restr, count, addr,
// daddr, flags, port, mode, version, v6_flag, unused, addr6, daddr6.
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

// noDataReply is the 8-byte err=4 answer of a patched server to a monlist request: no
// amplification, but proof that the host speaks mode 7.
func noDataReply(version byte, code byte) []byte {
	return mode7Header(nil, false, version, 0, implXNTPD, code, errNoData, 0, 0)
}

// ntpTimestamp is t in the 64-bit NTP timestamp format (RFC 5905 section 6).
func ntpTimestamp(t time.Time) uint64 {
	secs := uint64(t.Unix() + ntpUnixEpochGap)
	frac := uint64(t.Nanosecond()) << 32 / 1e9
	return secs<<32 | frac
}

// clientPacket is a 48-byte NTPv4 mode 3 request as chrony and ntpd send it.
func clientPacket(t time.Time) []byte {
	b := make([]byte, ntpHeaderLen)
	b[0] = 0<<6 | 4<<3 | 3
	b[2] = 6    // poll 64 s
	b[3] = 0xe9 // precision 2^-23
	binary.BigEndian.PutUint64(b[40:], ntpTimestamp(t))
	return b
}

// serverPacket is the 48-byte mode 4 answer of a stratum 2 server to a clientPacket.
func serverPacket(req []byte, recv, xmit time.Time, refID [4]byte) []byte {
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

// mode6Request is a 12-byte control request (RFC 1305 appendix B): opcode, sequence,
// association id.
func mode6Request(opcode byte, seq uint16, assoc uint16) []byte {
	b := []byte{2<<3 | 6, opcode & 0x1f}
	b = binary.BigEndian.AppendUint16(b, seq)
	b = append(b, 0, 0)
	b = binary.BigEndian.AppendUint16(b, assoc)
	return append(b, 0, 0, 0, 0)
}

// mode6Response is a control response carrying data at offset, with M set when more follows.
func mode6Response(opcode byte, seq, status, assoc, offset uint16, data []byte, more bool) []byte {
	b1 := byte(0x80) | opcode&0x1f
	if more {
		b1 |= 0x20
	}
	b := []byte{2<<3 | 6, b1}
	b = binary.BigEndian.AppendUint16(b, seq)
	b = binary.BigEndian.AppendUint16(b, status)
	b = binary.BigEndian.AppendUint16(b, assoc)
	b = binary.BigEndian.AppendUint16(b, offset)
	b = binary.BigEndian.AppendUint16(b, uint16(len(data)))
	b = append(b, data...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}
