package decode

import (
	"strconv"
	"time"
	"unicode/utf8"
)

// ntpEpochOffset is the seconds from the NTP era 0 epoch (1900-01-01) to the Unix epoch
// (RFC 5905 section 6).
const ntpEpochOffset = 2208988800

// AppendNTPLog appends one --ntp-log record for p as a JSON object without a newline: time,
// addresses, ports, wire and payload length, version, mode, the header of that mode under
// "standard", "control" or "private", the other two being null, and the encapsulations the
// message was found in under "encap" (null for none). Its fields are documented in
// docs/ntp-log.md. It is written by hand with strconv so that logging every packet
// allocates nothing once buf has grown.
func AppendNTPLog(buf []byte, p *Packet) []byte {
	n := &p.NTP
	buf = append(buf, `{"ts":"`...)
	buf = p.Time.UTC().AppendFormat(buf, time.RFC3339Nano)
	buf = append(buf, `","src":"`...)
	buf = p.Src.AppendTo(buf)
	buf = append(buf, `","sport":`...)
	buf = strconv.AppendUint(buf, uint64(p.SrcPort), 10)
	buf = append(buf, `,"dst":"`...)
	buf = p.Dst.AppendTo(buf)
	buf = append(buf, `","dport":`...)
	buf = strconv.AppendUint(buf, uint64(p.DstPort), 10)
	buf = appendUintField(buf, "wire_len", uint64(p.WireLen))
	buf = appendUintField(buf, "payload_len", uint64(p.MessageLen))
	buf = appendUintField(buf, "version", uint64(n.Version))
	buf = appendUintField(buf, "mode", uint64(n.Mode))

	buf = append(buf, `,"standard":`...)
	if n.Mode >= 1 && n.Mode <= 5 {
		s := &n.Std
		buf = append(buf, `{"leap":`...)
		buf = strconv.AppendUint(buf, uint64(n.LI), 10)
		buf = appendUintField(buf, "stratum", uint64(s.Stratum))
		buf = appendIntField(buf, "poll", int64(s.Poll))
		buf = appendIntField(buf, "precision", int64(s.Precision))
		buf = append(buf, `,"root_delay":`...)
		buf = strconv.AppendFloat(buf, float64(s.RootDelay)/65536, 'g', -1, 64)
		buf = append(buf, `,"root_dispersion":`...)
		buf = strconv.AppendFloat(buf, float64(s.RootDispersion)/65536, 'g', -1, 64)
		buf = append(buf, `,"reference_id":`...)
		buf = appendReferenceID(buf, s.Stratum, s.ReferenceID)
		buf = appendTimestamp(buf, "reference_ts", s.ReferenceTS)
		buf = appendTimestamp(buf, "origin_ts", s.OriginTS)
		buf = appendTimestamp(buf, "receive_ts", s.ReceiveTS)
		buf = appendTimestamp(buf, "transmit_ts", s.TransmitTS)
		buf = appendUintField(buf, "extension_len", uint64(s.ExtensionLen))
		buf = appendUintField(buf, "mac_len", uint64(s.MACLen))
		buf = append(buf, '}')
	} else {
		buf = append(buf, "null"...)
	}

	buf = append(buf, `,"control":`...)
	if n.Mode == 6 {
		c := &n.Ctl
		buf = append(buf, `{"response":`...)
		buf = strconv.AppendBool(buf, c.Response)
		buf = appendBoolField(buf, "error", c.Error)
		buf = appendBoolField(buf, "more", c.More)
		buf = appendUintField(buf, "opcode", uint64(c.OpCode))
		buf = appendUintField(buf, "sequence", uint64(c.Sequence))
		buf = appendUintField(buf, "status", uint64(c.Status))
		buf = appendUintField(buf, "association_id", uint64(c.AssociationID))
		buf = appendUintField(buf, "offset", uint64(c.Offset))
		buf = appendUintField(buf, "count", uint64(c.Count))
		buf = append(buf, '}')
	} else {
		buf = append(buf, "null"...)
	}

	buf = append(buf, `,"private":`...)
	if n.Mode == 7 {
		pr := &n.Priv
		buf = append(buf, `{"response":`...)
		buf = strconv.AppendBool(buf, pr.Response)
		buf = appendBoolField(buf, "more", pr.More)
		buf = appendBoolField(buf, "auth", pr.Auth)
		buf = appendUintField(buf, "sequence", uint64(pr.Sequence))
		buf = appendUintField(buf, "implementation", uint64(pr.Implementation))
		buf = appendUintField(buf, "request_code", uint64(pr.RequestCode))
		buf = appendUintField(buf, "err", uint64(pr.Err))
		buf = appendUintField(buf, "items", uint64(pr.Items))
		buf = appendUintField(buf, "item_size", uint64(pr.ItemSize))
		buf = append(buf, `,"monlist":`...)
		if pr.IsMonlistReply() {
			buf = append(buf, '[')
			for i, a := range pr.Monlist {
				if i > 0 {
					buf = append(buf, ',')
				}
				buf = append(buf, '"')
				buf = a.AppendTo(buf)
				buf = append(buf, '"')
			}
			buf = append(buf, ']')
		} else {
			buf = append(buf, "null"...)
		}
		buf = append(buf, '}')
	} else {
		buf = append(buf, "null"...)
	}
	buf = append(buf, `,"encap":`...)
	buf = p.Encap.AppendJSON(buf)
	return append(buf, '}')
}

func appendUintField(buf []byte, name string, v uint64) []byte {
	buf = append(buf, `,"`...)
	buf = append(buf, name...)
	buf = append(buf, `":`...)
	return strconv.AppendUint(buf, v, 10)
}

func appendIntField(buf []byte, name string, v int64) []byte {
	buf = append(buf, `,"`...)
	buf = append(buf, name...)
	buf = append(buf, `":`...)
	return strconv.AppendInt(buf, v, 10)
}

func appendBoolField(buf []byte, name string, v bool) []byte {
	buf = append(buf, `,"`...)
	buf = append(buf, name...)
	buf = append(buf, `":`...)
	return strconv.AppendBool(buf, v)
}

// appendTimestamp writes an NTP timestamp (RFC 5905 section 6, era 0) as RFC 3339 UTC with
// nanoseconds, or null when it is zero (RFC 5905: "unknown or not set").
func appendTimestamp(buf []byte, name string, ts uint64) []byte {
	buf = append(buf, `,"`...)
	buf = append(buf, name...)
	buf = append(buf, `":`...)
	if ts == 0 {
		return append(buf, "null"...)
	}
	buf = append(buf, '"')
	buf = NTPTime(ts).AppendFormat(buf, time.RFC3339Nano)
	return append(buf, '"')
}

// NTPTime converts an NTP timestamp (32.32 seconds since 1900, RFC 5905 section 6) of era 0
// to UTC time, the fraction truncated to nanoseconds.
func NTPTime(ts uint64) time.Time {
	sec := int64(ts>>32) - ntpEpochOffset
	nsec := int64((ts & 0xffffffff) * 1e9 >> 32)
	return time.Unix(sec, nsec).UTC()
}

// appendReferenceID writes the reference id as RFC 5905 section 7.3 reads it: for stratum 0
// and 1 a code of up to four ASCII characters (a kiss code or a clock source such as "GPS"),
// NUL padding dropped; otherwise an IPv4 address (for IPv6 servers the first four bytes of an
// MD5 hash, shown the same way).
func appendReferenceID(buf []byte, stratum uint8, id [4]byte) []byte {
	buf = append(buf, '"')
	if stratum > 1 {
		for i, b := range id {
			if i > 0 {
				buf = append(buf, '.')
			}
			buf = strconv.AppendUint(buf, uint64(b), 10)
		}
		return append(buf, '"')
	}
	end := len(id)
	for end > 0 && id[end-1] == 0 {
		end--
	}
	for _, b := range id[:end] {
		buf = appendJSONByte(buf, b)
	}
	return append(buf, '"')
}

// appendJSONByte writes one byte of a code inside a JSON string: printable ASCII as itself
// (quote and backslash escaped), anything else as a \u00XX escape so the output stays valid
// UTF-8 whatever the packet holds.
func appendJSONByte(buf []byte, b byte) []byte {
	const hex = "0123456789abcdef"
	switch {
	case b == '"' || b == '\\':
		return append(buf, '\\', b)
	case b >= 0x20 && b < utf8.RuneSelf && b != 0x7f:
		return append(buf, b)
	default:
		return append(buf, '\\', 'u', '0', '0', hex[b>>4], hex[b&0xf])
	}
}
