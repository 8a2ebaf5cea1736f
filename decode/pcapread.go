package decode

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"time"

	"github.com/google/gopacket"
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

// next returns the next record; data is valid until the following call. At the end of the
// file it returns io.EOF, and io.ErrUnexpectedEOF when the file ends inside a record.
func (p *pcapReader) next() ([]byte, gopacket.CaptureInfo, error) {
	var ci gopacket.CaptureInfo
	if p.skip > 0 {
		if _, err := p.r.Discard(p.skip); err != nil {
			return nil, ci, err
		}
		p.skip = 0
	}
	h, err := p.r.Peek(16)
	if err != nil {
		if len(h) == 0 && err == io.EOF {
			return nil, ci, io.EOF
		}
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, ci, err
	}
	sec, frac := int64(p.order.Uint32(h[0:4])), int64(p.order.Uint32(h[4:8]))
	if !p.nanos {
		frac *= 1000
	}
	incl, orig := p.order.Uint32(h[8:12]), p.order.Uint32(h[12:16])
	ci.Timestamp = time.Unix(sec, frac).UTC()
	ci.CaptureLength, ci.Length = int(incl), int(orig)
	if incl > p.snaplen {
		return nil, ci, fmt.Errorf("capture length exceeds snap length: %d > %d", incl, p.snaplen)
	}
	if incl > orig {
		return nil, ci, fmt.Errorf("capture length exceeds original packet length: %d > %d", incl, orig)
	}
	n := 16 + int(incl)
	rec, err := p.r.Peek(n)
	switch {
	case err == nil:
		p.skip = n
		return rec[16:], ci, nil
	case err == bufio.ErrBufferFull:
		p.r.Discard(16)
		if cap(p.buf) < int(incl) {
			p.buf = make([]byte, incl)
		}
		data := p.buf[:incl]
		if _, err := io.ReadFull(p.r, data); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, ci, err
		}
		return data, ci, nil
	case err == io.EOF:
		return nil, ci, io.ErrUnexpectedEOF
	}
	return nil, ci, err
}
