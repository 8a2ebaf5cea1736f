package proto

// ber reads the BER encoding of ASN.1 (ITU-T X.690 section 8.1) as LDAP (RFC 4511 section
// 5.1) and SNMP (RFC 3416, RFC 1157 section 4) put their messages on the wire: a tag byte, a
// length in the short form (one byte below 0x80) or the long form (0x81 to 0x84 and that
// many bytes of length), then the contents. Only the tags these protocols use are read, all
// of them one byte long.
type ber struct{ b []byte }

// next reads the tag and length of the element at the front, returning the tag, the contents'
// declared length and the reader of what follows the header. ok is false when the header is
// cut short or its length form is one these protocols never use (indefinite, or more than
// four bytes).
func (r ber) next() (tag byte, n int, rest ber, ok bool) {
	b := r.b
	if len(b) < 2 {
		return 0, 0, r, false
	}
	tag, l := b[0], int(b[1])
	b = b[2:]
	if l >= 0x80 {
		k := l & 0x7f
		if k == 0 || k > 4 || len(b) < k {
			return 0, 0, r, false
		}
		l = 0
		for _, c := range b[:k] {
			l = l<<8 | int(c)
		}
		b = b[k:]
	}
	return tag, l, ber{b}, true
}

// skip passes over an element of n content bytes, whose header next has read, and returns
// the reader of what follows it; ok is false when its contents were not all captured.
func (r ber) skip(n int) (ber, bool) {
	if n > len(r.b) {
		return r, false
	}
	return ber{r.b[n:]}, true
}

// int reads an INTEGER of at most 4 bytes (tag 0x02).
func (r ber) int() (v int64, rest ber, ok bool) {
	tag, n, r, ok := r.next()
	if !ok || tag != 0x02 || n < 1 || n > 4 || n > len(r.b) {
		return 0, r, false
	}
	v = int64(int8(r.b[0])) // the sign
	for _, c := range r.b[1:n] {
		v = v<<8 | int64(c)
	}
	return v, ber{r.b[n:]}, true
}
