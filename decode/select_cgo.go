//go:build cgo

package decode

import (
	"encoding/binary"
	"errors"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcap"
)

// frameFilter is a filter compiled by libpcap for one link type, run on frames with
// pcap_offline_filter, as tcpdump -r runs its expression.
type frameFilter struct {
	bpf *pcap.BPF
	// sll2 is set for LINKTYPE_LINUX_SLL2 frames: gopacket hands libpcap an 8-bit link type,
	// so the filter is compiled for SLL (v1) and each frame's 20-byte SLL2 header is
	// rewritten as the 16-byte SLL header in buf, the bytes after it unchanged.
	sll2 bool
	buf  []byte
}

// compileFilter compiles expr for frames of link.
func compileFilter(expr string, link LinkType) (*frameFilter, error) {
	ff := &frameFilter{}
	if link == LinkTypeLinuxSLL2 {
		ff.sll2, link = true, LinkTypeLinuxSLL
	}
	if link > 0xff {
		return nil, errors.New("libpcap cannot filter this link type here")
	}
	bpf, err := pcap.NewBPF(layers.LinkType(link), maxSnaplen, expr)
	if err != nil {
		return nil, err
	}
	ff.bpf = bpf
	return ff, nil
}

// matches runs the filter on f. BPF's len is the wire length, as in a live capture.
func (ff *frameFilter) matches(f *Frame) bool {
	data := f.Data
	wire := f.WireLen
	if ff.sll2 {
		if len(data) < sll2HeaderLen {
			return false
		}
		ff.buf = sll2ToSLL(ff.buf, data)
		data, wire = ff.buf, wire-(sll2HeaderLen-sllHeaderLen)
	}
	if len(data) == 0 {
		return false
	}
	ci := gopacket.CaptureInfo{Timestamp: f.Time, CaptureLength: len(data), Length: max(wire, len(data))}
	return ff.bpf.Matches(ci, data)
}

// Header lengths of Linux cooked captures (https://www.tcpdump.org/linktypes/LINKTYPE_LINUX_SLL.html
// and LINKTYPE_LINUX_SLL2.html).
const (
	sllHeaderLen  = 16
	sll2HeaderLen = 20
)

// sll2ToSLL writes into buf the SLL2 frame data as an SLL frame: the same packet type, ARPHRD
// type, address length, address and protocol, in SLL's order, then the network layer.
func sll2ToSLL(buf, data []byte) []byte {
	var h [sllHeaderLen]byte
	binary.BigEndian.PutUint16(h[0:], uint16(data[10])) // packet type
	copy(h[2:4], data[8:10])                            // ARPHRD type
	binary.BigEndian.PutUint16(h[4:], uint16(data[11])) // address length
	copy(h[6:14], data[12:20])                          // address
	copy(h[14:16], data[0:2])                           // protocol type
	return append(append(buf[:0], h[:]...), data[sll2HeaderLen:]...)
}
