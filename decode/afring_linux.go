//go:build linux && cgo

package decode

import (
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// afRing is one AF_PACKET socket with a TPACKET_V3 receive ring (the kernel's
// Documentation/networking/packet_mmap.rst), read in place. It waits for a block in Go's
// network poller, through a non-blocking descriptor, where gopacket's afpacket waited in
// poll(2): a goroutine blocked in a system call keeps its thread, which Go's runtime takes
// back after 10 ms and then watches every 20 us, so that a quiet link cost 3-5% of a core in
// that watching alone (docs/performance.md). Parked in the poller, the reader costs nothing
// until a block is ready or its deadline passes.
type afRing struct {
	fd    int
	file  *os.File        // fd, in the poller
	raw   syscall.RawConn // file's, to wait on
	ring  []byte
	bsize int // block size
	nblk  int
	blk   int // the block being read, or the next one to wait for
	// In the block being read: the offset of the next packet and the packets left; held is
	// set while the block belongs to the reader, which gives it back on the next call.
	off, left int
	held      bool
	stats     unix.TpacketStatsV3 // accumulated: reading them resets the kernel's
}

// Offsets in struct tpacket_block_desc and struct tpacket3_hdr (linux/if_packet.h).
const (
	blkStatus   = 8  // tpacket_hdr_v1.block_status
	blkNumPkts  = 12 // tpacket_hdr_v1.num_pkts
	blkFirstPkt = 16 // tpacket_hdr_v1.offset_to_first_pkt
	pktNext     = 0  // tp_next_offset
	pktSec      = 4
	pktNsec     = 8
	pktSnaplen  = 12
	pktLen      = 16
	pktStatus   = 20
	pktMac      = 24 // u16
	pktVLANTCI  = 32 // hv1.tp_vlan_tci
)

// newAFRing opens the socket on interface ifindex with a ring of nblk blocks of bsize bytes,
// each handed over when full or tov after its first frame, and the filter prog.
func newAFRing(ifindex, bsize, nblk int, tov time.Duration, prog []bpf.RawInstruction) (*afRing, error) {
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ALL)))
	if err != nil {
		return nil, err
	}
	r := &afRing{fd: fd, bsize: bsize, nblk: nblk}
	fail := func(what string, err error) (*afRing, error) {
		r.close()
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	// The filter first: the socket receives every frame from its creation on.
	filter := make([]unix.SockFilter, len(prog))
	for i, in := range prog {
		filter[i] = unix.SockFilter{Code: in.Op, Jt: in.Jt, Jf: in.Jf, K: in.K}
	}
	if len(filter) > 0 {
		if err := unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER,
			&unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}); err != nil {
			return fail("attach filter", err)
		}
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_VERSION, unix.TPACKET_V3); err != nil {
		return fail("TPACKET_V3", err)
	}
	req := unix.TpacketReq3{Block_size: uint32(bsize), Block_nr: uint32(nblk), Frame_size: uint32(bsize / 16),
		Frame_nr: uint32(nblk * 16), Retire_blk_tov: uint32(tov / time.Millisecond)}
	if err := unix.SetsockoptTpacketReq3(fd, unix.SOL_PACKET, unix.PACKET_RX_RING, &req); err != nil {
		return fail("receive ring", err)
	}
	if r.ring, err = unix.Mmap(fd, 0, bsize*nblk, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED); err != nil {
		return fail("map the ring", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifindex}); err != nil {
		return fail("bind", err)
	}
	// The descriptor is non-blocking, so os.NewFile puts it in the network poller.
	r.file = os.NewFile(uintptr(fd), "packet socket")
	rc, err := r.file.SyscallConn()
	if err != nil {
		return fail("poller", err)
	}
	r.raw = rc
	return r, nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// fanout joins the socket to fanout group id, spreading frames by flow hash.
func (r *afRing) fanout(id uint16) error {
	return unix.SetsockoptInt(r.fd, unix.SOL_PACKET, unix.PACKET_FANOUT, int(id)|unix.PACKET_FANOUT_HASH<<16)
}

// status is the block status word of block i, shared with the kernel.
func (r *afRing) status(i int) *uint32 {
	return (*uint32)(unsafe.Pointer(&r.ring[i*r.bsize+blkStatus]))
}

func (r *afRing) u32(at int) uint32 { return *(*uint32)(unsafe.Pointer(&r.ring[at])) }

// afFrame is one frame in the ring: valid until the next call of next.
type afFrame struct {
	data      []byte
	sec, nsec uint32
	wire      int
	vlan      int // the VLAN tag the kernel took out of the frame, -1 when none
}

// next returns the next frame, waiting at most timeout for one: ErrTimeout then.
func (r *afRing) next(timeout time.Duration) (afFrame, error) {
	for r.left == 0 {
		if r.held {
			// The reader is done with the block: the kernel may fill it again.
			atomic.StoreUint32(r.status(r.blk), unix.TP_STATUS_KERNEL)
			r.held = false
			r.blk = (r.blk + 1) % r.nblk
		}
		if err := r.wait(timeout); err != nil {
			return afFrame{}, err
		}
		base := r.blk * r.bsize
		r.held = true
		r.left = int(r.u32(base + blkNumPkts))
		r.off = base + int(r.u32(base+blkFirstPkt))
	}
	p := r.off
	f := afFrame{sec: r.u32(p + pktSec), nsec: r.u32(p + pktNsec), wire: int(r.u32(p + pktLen)), vlan: -1}
	mac := int(*(*uint16)(unsafe.Pointer(&r.ring[p+pktMac])))
	snap := int(r.u32(p + pktSnaplen))
	f.data = r.ring[p+mac : p+mac+snap : p+mac+snap]
	if r.u32(p+pktStatus)&unix.TP_STATUS_VLAN_VALID != 0 {
		f.vlan = int(r.u32(p+pktVLANTCI) & 0xfff)
	}
	r.left--
	if next := int(r.u32(p + pktNext)); next != 0 {
		r.off = p + next
	}
	return f, nil
}

// wait returns when block r.blk belongs to the reader, or ErrTimeout after timeout.
func (r *afRing) wait(timeout time.Duration) error {
	ready := func() bool { return atomic.LoadUint32(r.status(r.blk))&unix.TP_STATUS_USER != 0 }
	if ready() {
		return nil
	}
	if err := r.file.SetReadDeadline(time.Now().Add(timeout)); err != nil {
		return err
	}
	err := r.raw.Read(func(uintptr) bool { return ready() })
	switch {
	case err == nil:
		return nil
	case errors.Is(err, os.ErrDeadlineExceeded):
		return ErrTimeout
	}
	return err
}

// socketStats returns the socket's counters since it was opened.
func (r *afRing) socketStats() (unix.TpacketStatsV3, error) {
	s, err := unix.GetsockoptTpacketStatsV3(r.fd, unix.SOL_PACKET, unix.PACKET_STATISTICS)
	if err != nil {
		return r.stats, err
	}
	r.stats.Packets += s.Packets
	r.stats.Drops += s.Drops
	r.stats.Freeze_q_cnt += s.Freeze_q_cnt
	return r.stats, nil
}

// close releases the ring and the socket.
func (r *afRing) close() {
	if r.ring != nil {
		unix.Munmap(r.ring)
		r.ring = nil
	}
	if r.file != nil {
		r.file.Close()
		r.file = nil
	} else if r.fd >= 0 {
		unix.Close(r.fd)
	}
	r.fd = -1
}
