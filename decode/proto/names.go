package proto

import "encoding/binary"

// skipName returns the offset just past the domain name that starts at off in a DNS or
// NetBIOS name service message (RFC 1035 section 4.1.2, RFC 1002 section 4.1): labels of at
// most 63 bytes up to the root's zero, or ending in a 2-byte compression pointer (RFC 1035
// section 4.1.4), and at most 255 bytes in all. ok is false when the name is cut short or
// not a name.
func skipName(b []byte, off int) (int, bool) {
	for start := off; off < len(b); {
		l := int(b[off])
		switch {
		case l == 0:
			return off + 1, true
		case l&0xc0 == 0xc0:
			return off + 2, off+2 <= len(b)
		case l > 63 || off+1+l-start > 255:
			return 0, false
		}
		off += 1 + l
	}
	return 0, false
}

// be16 reads the big-endian 16-bit word at off, or 0 when it was not captured.
func be16(b []byte, off int) uint16 {
	if off+2 > len(b) {
		return 0
	}
	return binary.BigEndian.Uint16(b[off:])
}

// hasPrefix reports whether b begins with the text prefix.
func hasPrefix(b []byte, prefix string) bool {
	return len(b) >= len(prefix) && string(b[:len(prefix)]) == prefix
}
