package decode

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"
)

// pcapng block types and constants (draft-ietf-opsawg-pcapng, sections 4 and 11).
const (
	ngSectionHeader  = 0x0a0d0d0a
	ngInterface      = 1
	ngObsoletePacket = 2
	ngSimplePacket   = 3
	ngEnhancedPacket = 6
	ngByteOrderMagic = 0x1a2b3c4d
	ngOptionTSResol  = 9
	ngMaxBlockLen    = 16 << 20 // larger blocks are corruption, not packets
	// ngMaxInterfaces bounds the interfaces of one section. A capture of a router with
	// every subinterface has hundreds; a file with more is crafted, and without a cap a
	// 1 MB gzip of 20 million interface blocks took 779 MiB.
	ngMaxInterfaces = 65536
)

// ngReader reads pcapng. It replaces pcapgo.NgReader, which reports a file cut inside a block
// as a clean io.EOF and sizes its buffer from the record's own capture length; this one reads
// each block whole into a reused buffer, bounded by ngMaxBlockLen, and reports a cut block
// as io.ErrUnexpectedEOF.
type ngReader struct {
	r      *bufio.Reader
	order  binary.ByteOrder
	ifaces []ngIface
	buf    []byte
}

type ngIface struct {
	link LinkType
	res  uint64 // timestamp units per second (if_tsresol, default microseconds)
}

func newNgReader(r *bufio.Reader) *ngReader {
	return &ngReader{r: r, order: binary.LittleEndian}
}

// next fills f with the next packet of any interface; f.Data lives in the reader's buffer.
func (n *ngReader) next(f *Frame) error {
	for {
		b, err := n.block()
		if err != nil {
			return err
		}
		typ := n.order.Uint32(b[0:4])
		body := b[8 : len(b)-4]
		switch typ {
		case ngSectionHeader:
			n.ifaces = n.ifaces[:0] // interface ids restart in each section
		case ngInterface:
			if len(body) < 8 {
				return errors.New("pcapng interface block too short")
			}
			if len(n.ifaces) == ngMaxInterfaces {
				return fmt.Errorf("pcapng section with more than %d interfaces", ngMaxInterfaces)
			}
			n.ifaces = append(n.ifaces, ngIface{
				link: LinkType(n.order.Uint16(body[0:2])),
				res:  n.tsResolution(body[8:]),
			})
		case ngEnhancedPacket, ngObsoletePacket:
			if len(body) < 20 {
				return errors.New("pcapng packet block too short")
			}
			var id int
			if typ == ngEnhancedPacket {
				id = int(n.order.Uint32(body[0:4]))
			} else {
				id = int(n.order.Uint16(body[0:2]))
			}
			if id >= len(n.ifaces) {
				return fmt.Errorf("pcapng packet on interface %d of %d", id, len(n.ifaces))
			}
			ts := uint64(n.order.Uint32(body[4:8]))<<32 | uint64(n.order.Uint32(body[8:12]))
			caplen, wire := int(n.order.Uint32(body[12:16])), int(n.order.Uint32(body[16:20]))
			if caplen > len(body)-20 {
				return fmt.Errorf("pcapng packet of %d bytes in a block of %d", caplen, len(b))
			}
			// A captured length above the wire length is a writer's bug that tshark reads
			// through; the frame was at least as long as what was captured.
			*f = Frame{Data: body[20 : 20+caplen], Time: ngTime(ts, n.ifaces[id].res), WireLen: max(wire, caplen), Link: n.ifaces[id].link}
			return nil
		case ngSimplePacket:
			if len(body) < 4 || len(n.ifaces) == 0 {
				return errors.New("pcapng simple packet block without interface")
			}
			wire := int(n.order.Uint32(body[0:4]))
			caplen := min(wire, len(body)-4)
			*f = Frame{Data: body[4 : 4+caplen], WireLen: wire, Link: n.ifaces[0].link}
			return nil
		}
	}
}

// block reads one whole block into n.buf, learning the byte order from section headers.
func (n *ngReader) block() ([]byte, error) {
	h, err := n.r.Peek(12)
	if len(h) == 0 && err == io.EOF {
		return nil, io.EOF
	}
	if len(h) < 8 {
		return nil, io.ErrUnexpectedEOF
	}
	if binary.BigEndian.Uint32(h[0:4]) == ngSectionHeader {
		if len(h) < 12 {
			return nil, io.ErrUnexpectedEOF
		}
		switch {
		case binary.LittleEndian.Uint32(h[8:12]) == ngByteOrderMagic:
			n.order = binary.LittleEndian
		case binary.BigEndian.Uint32(h[8:12]) == ngByteOrderMagic:
			n.order = binary.BigEndian
		default:
			return nil, errors.New("pcapng section header with a bad byte-order magic")
		}
	}
	l := n.order.Uint32(h[4:8])
	if l < 12 || l%4 != 0 || l > ngMaxBlockLen {
		return nil, fmt.Errorf("pcapng block length %d is invalid", l)
	}
	n.buf, err = readRecord(n.r, n.buf, int(l))
	return n.buf, err
}

// tsResolution reads if_tsresol from interface block options: a power of 10, or of 2 when the
// top bit is set; microseconds when absent.
func (n *ngReader) tsResolution(opts []byte) uint64 {
	for len(opts) >= 4 {
		code, l := n.order.Uint16(opts[0:2]), int(n.order.Uint16(opts[2:4]))
		if code == 0 || 4+l > len(opts) {
			break
		}
		if code == ngOptionTSResol && l >= 1 {
			v := opts[4]
			if v&0x80 != 0 {
				if v&0x7f < 64 {
					return 1 << (v & 0x7f)
				}
				break
			}
			res := uint64(1)
			for i := uint8(0); i < v && i < 19; i++ {
				res *= 10
			}
			return res
		}
		opts = opts[4+(l+3)&^3:]
	}
	return 1e6
}

// ngTime converts a timestamp in units of 1/res seconds to time.
func ngTime(ts, res uint64) time.Time {
	if res == 0 {
		res = 1e6
	}
	sec, frac := ts/res, ts%res
	var nsec uint64
	if res <= 1e9 {
		nsec = frac * 1e9 / res
	} else {
		nsec = frac / (res / 1e9)
	}
	return time.Unix(int64(sec), int64(nsec)).UTC()
}

// readRecord reads the n bytes of a block into buf, grown as needed, and returns them. A
// file that ends before them is cut inside the block: io.ErrUnexpectedEOF.
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
