package decode

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"time"
)

// pcapReader reads the records of a classic pcap file (draft-ietf-opsawg-pcap section 5)
// after pcapgo.NewReader has checked the file header. It hands out each record's bytes in
// place in the bufio.Reader's buffer, where pcapgo's ZeroCopyReadPacketData copies every
// record out of it with two io.ReadFull calls: on `make bench`'s mixed capture that copy and
// its calls were about a fifth of the reader goroutine's time. A record too large for the
// buffer is copied into buf.
type pcapReader struct {
	r       *bufio.Reader
	order   binary.ByteOrder
	nanos   bool   // nanosecond timestamps, else microseconds
	skip    int    // bytes of the previous record still in r, dropped by the next call
	snaplen uint32 // the largest capture length accepted
	buf     []byte
}

// newPcapReader reads records from r, positioned after the 24-byte file header whose
// magic number (its first 4 bytes, in file order) was magic.
func newPcapReader(r *bufio.Reader, magic []byte, snaplen uint32) *pcapReader {
	p := &pcapReader{r: r, order: binary.LittleEndian, snaplen: snaplen}
	m := binary.LittleEndian.Uint32(magic)
	if m != 0xa1b2c3d4 && m != 0xa1b23c4d {
		p.order, m = binary.BigEndian, binary.BigEndian.Uint32(magic)
	}
	p.nanos = m == 0xa1b23c4d
	return p
}

// next fills f with the next record but its link type; f.Data is valid until the following
// call. At the end of the file it returns io.EOF, and io.ErrUnexpectedEOF when the file ends
// inside a record.
func (p *pcapReader) next(f *Frame) error {
	if p.skip > 0 {
		if _, err := p.r.Discard(p.skip); err != nil {
			return err
		}
		p.skip = 0
	}
	h, err := p.r.Peek(16)
	if err != nil {
		if len(h) == 0 && err == io.EOF {
			return io.EOF
		}
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
	sec, frac := int64(p.order.Uint32(h[0:4])), int64(p.order.Uint32(h[4:8]))
	if !p.nanos {
		frac *= 1000
	}
	incl, orig := p.order.Uint32(h[8:12]), p.order.Uint32(h[12:16])
	if incl > p.snaplen {
		return fmt.Errorf("capture length exceeds snap length: %d > %d", incl, p.snaplen)
	}
	f.Time = time.Unix(sec, frac).UTC()
	// A captured length above the original length is a writer's bug that tshark and
	// tcpdump read through; the frame was at least as long as what was captured.
	f.WireLen = int(max(orig, incl))
	f.Weight = 0
	n := 16 + int(incl)
	rec, err := p.r.Peek(n)
	switch {
	case err == nil:
		p.skip = n
		f.Data = rec[16:]
		return nil
	case err == bufio.ErrBufferFull:
		p.r.Discard(16)
		p.buf, err = readRecord(p.r, p.buf, int(incl))
		f.Data = p.buf
		return err
	case err == io.EOF:
		return io.ErrUnexpectedEOF
	}
	return err
}

// readRecord reads the n bytes of a record into buf, grown as needed, and returns them. A
// file that ends before them is cut inside the record: io.ErrUnexpectedEOF.
func readRecord(r io.Reader, buf []byte, n int) ([]byte, error) {
	if cap(buf) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := io.ReadFull(r, buf); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return buf, err
	}
	return buf, nil
}
