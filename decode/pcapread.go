package decode

import (
	"encoding/binary"
	"fmt"
	"io"
	"time"
)

// pcapReader reads the records of a classic pcap file (draft-ietf-opsawg-pcap section 5)
// after pcapgo.NewReader has checked the file header. It walks the records where they lie in
// large chunks of the file (chunks.go), reading each record header with the file's byte order
// inlined, and hands out each record's bytes in place; only a record that straddles two
// chunks is copied, into carry. On `make bench`'s mixed capture the walk through a
// bufio.Reader (two peeks and a discard per record, a byte order behind an interface) cost
// about 50 ns a record; this one costs a few.
type pcapReader struct {
	in      chunkReader
	cur     []byte // the unread bytes of the current chunk
	carry   []byte // a record that straddles chunks, assembled
	big     bool   // big-endian file
	nanos   bool   // nanosecond timestamps, else microseconds
	snaplen uint32 // the largest capture length accepted
	err     error  // the chunk reader's error, returned once cur is used up
}

// newPcapReader reads records from in, positioned after the 24-byte file header whose
// magic number (its first 4 bytes, in file order) was magic.
func newPcapReader(in chunkReader, magic []byte, snaplen uint32) *pcapReader {
	p := &pcapReader{in: in, snaplen: snaplen}
	m := binary.LittleEndian.Uint32(magic)
	if m != 0xa1b2c3d4 && m != 0xa1b23c4d {
		p.big, m = true, binary.BigEndian.Uint32(magic)
	}
	p.nanos = m == 0xa1b23c4d
	return p
}

// u32 reads a 32-bit field of a record header in the file's byte order.
func (p *pcapReader) u32(b []byte) uint32 {
	if p.big {
		return binary.BigEndian.Uint32(b)
	}
	return binary.LittleEndian.Uint32(b)
}

// next fills f with the next record but its link type; f.Data is valid until the following
// call. At the end of the file it returns io.EOF, and io.ErrUnexpectedEOF when the file ends
// inside a record.
func (p *pcapReader) next(f *Frame) error {
	h := p.cur
	if len(h) < 16 {
		return p.nextSlow(f)
	}
	incl := p.u32(h[8:12])
	n := 16 + int(incl)
	if incl > p.snaplen || len(h) < n {
		return p.nextSlow(f)
	}
	p.fill(f, h, incl)
	p.cur = h[n:]
	return nil
}

// fill sets f from the record header h, followed by the incl bytes of the record.
func (p *pcapReader) fill(f *Frame, h []byte, incl uint32) {
	sec, frac := int64(p.u32(h[0:4])), int64(p.u32(h[4:8]))
	if !p.nanos {
		frac *= 1000
	}
	f.Time = time.Unix(sec, frac).UTC()
	// A captured length above the original length is a writer's bug that tshark and
	// tcpdump read through; the frame was at least as long as what was captured.
	f.WireLen = int(max(p.u32(h[12:16]), incl))
	f.Weight = 0
	f.Data = h[16 : 16+incl : 16+incl]
}

// nextSlow reads a record that is not whole in the current chunk: it assembles the record
// in carry from the rest of this chunk and the start of the next ones.
func (p *pcapReader) nextSlow(f *Frame) error {
	p.carry = append(p.carry[:0], p.cur...)
	p.cur = nil
	if err := p.gather(16); err != nil {
		return err
	}
	incl := p.u32(p.carry[8:12])
	if incl > p.snaplen {
		return fmt.Errorf("capture length exceeds snap length: %d > %d", incl, p.snaplen)
	}
	if err := p.gather(16 + int(incl)); err != nil {
		return err
	}
	p.fill(f, p.carry, incl)
	return nil
}

// gather moves bytes from the chunks into carry until it holds n. An end of file before
// any byte of a record is io.EOF, inside one io.ErrUnexpectedEOF.
func (p *pcapReader) gather(n int) error {
	for len(p.carry) < n {
		if len(p.cur) == 0 {
			if p.err != nil {
				if p.err == io.EOF && len(p.carry) > 0 {
					return io.ErrUnexpectedEOF
				}
				return p.err
			}
			p.cur, p.err = p.in.next()
			continue
		}
		k := min(n-len(p.carry), len(p.cur))
		p.carry = append(p.carry, p.cur[:k]...)
		p.cur = p.cur[k:]
	}
	return nil
}
