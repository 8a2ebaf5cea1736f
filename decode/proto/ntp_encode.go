package proto

import "encoding/binary"

// AppendControl appends the 12-byte mode 6 header of c (RFC 9327 section 2) with the given
// leap indicator and version. It is the inverse of the decoder, for tests and the generator.
func AppendControl(b []byte, li, version uint8, c *Control) []byte {
	b1 := c.OpCode & 0x1f
	if c.Response {
		b1 |= 0x80
	}
	if c.Error {
		b1 |= 0x40
	}
	if c.More {
		b1 |= 0x20
	}
	b = append(b, li<<6|(version&7)<<3|6, b1)
	b = binary.BigEndian.AppendUint16(b, c.Sequence)
	b = binary.BigEndian.AppendUint16(b, c.Status)
	b = binary.BigEndian.AppendUint16(b, c.AssociationID)
	b = binary.BigEndian.AppendUint16(b, c.Offset)
	return binary.BigEndian.AppendUint16(b, c.Count)
}

// AppendPrivate appends the 8-byte mode 7 header of p (ntpd include/ntp_request.h) with the
// given version. Fields wider than their bits are cut (Sequence to 7 bits, Err and MBZ to 4,
// Items and ItemSize to 12). Monlist is not written.
func AppendPrivate(b []byte, version uint8, p *Private) []byte {
	b0 := (version&7)<<3 | 7
	if p.Response {
		b0 |= 0x80
	}
	if p.More {
		b0 |= 0x40
	}
	b1 := p.Sequence & 0x7f
	if p.Auth {
		b1 |= 0x80
	}
	b = append(b, b0, b1, p.Implementation, p.RequestCode)
	b = binary.BigEndian.AppendUint16(b, uint16(p.Err&0x0f)<<12|p.Items&0x0fff)
	return binary.BigEndian.AppendUint16(b, uint16(p.MBZ&0x0f)<<12|p.ItemSize&0x0fff)
}
