//go:build linux && cgo

package decode

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcap"
	"github.com/ntpwatch/ntpwatch/internal/setting"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// afBlockSize is the TPACKET_V3 block: the kernel fills a block with frames and hands it over
// whole, when it is full or afBlockTimeout after its first frame. 1 MiB holds any frame up to
// the largest snaplen and is well under the kernel's largest contiguous allocation.
const afBlockSize = 1 << 20

// afBlockTimeout bounds how long a frame waits in a partly filled block on a quiet link: a
// part of the 1 s alert budget.
const afBlockTimeout = 10 * time.Millisecond

// ARPHRD values of /sys/class/net/IFACE/type (linux/if_arp.h) that the engine reads.
const (
	arphrdEther    = 1
	arphrdLoopback = 772
	arphrdNone     = 65534 // tun and other raw-IP devices
)

// packetOutgoing is PACKET_OUTGOING (linux/if_packet.h): a frame this host sends.
const packetOutgoing = 4

// afpacketSource is one socket of an AF_PACKET fanout group.
type afpacketSource struct {
	name    string
	ring    *afRing
	timeout time.Duration
	link    LinkType
	buf     []byte // a frame with its VLAN tag put back
	// promiscFD is the socket whose membership keeps the interface promiscuous, or -1.
	promiscFD int
	// ready is when the socket had its filter and its place in the fanout group. A packet
	// socket receives every frame from its creation until then: frames the filter would
	// have refused, and, before it joins the group, copies of frames that the group's
	// sockets also get. Next drops the frames stamped before ready, then stops looking.
	ready time.Time
}

// openAFPacket opens cfg.Workers TPACKET_V3 sockets on ifc in one fanout group. The kernel
// spreads frames over them by flow hash (PACKET_FANOUT_HASH), which is symmetric in the
// addresses and, for fragments, takes no ports, so both directions of an exchange and every
// fragment of a datagram reach the same socket, whose decoder attributes the fragments.
func openAFPacket(cfg LiveConfig, ifc *net.Interface) ([]LiveSource, error) {
	link, err := afLinkType(ifc.Name)
	if err != nil {
		return nil, err
	}
	prog, err := afFilter(cfg, link, ifc.Flags&net.FlagLoopback != 0)
	if err != nil {
		return nil, err
	}
	blocks := max(2, cfg.BufferSize/cfg.Workers/afBlockSize)
	fanoutID := uint16(os.Getpid())
	var srcs []LiveSource
	closeAll := func() {
		for _, s := range srcs {
			s.Close()
		}
	}
	for range cfg.Workers {
		ring, err := newAFRing(ifc.Index, afBlockSize, blocks, afBlockTimeout, prog)
		if err != nil {
			closeAll()
			return nil, permissionError(err)
		}
		src := &afpacketSource{name: ifc.Name, ring: ring, timeout: cfg.Timeout, link: link, promiscFD: -1}
		srcs = append(srcs, src)
		if cfg.Workers > 1 {
			if err := ring.fanout(fanoutID); err != nil {
				closeAll()
				return nil, fmt.Errorf("join fanout group %d: %w", fanoutID, permissionError(err))
			}
		}
		src.ready = time.Now()
	}
	if cfg.Promisc {
		// AF_PACKET has no promiscuous option of its own: membership is per socket and ends
		// with it (packet_mreq, PACKET_MR_PROMISC).
		fd, err := promiscSocket(ifc.Index)
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("promiscuous mode: %w", permissionError(err))
		}
		srcs[0].(*afpacketSource).promiscFD = fd
	}
	return srcs, nil
}

// promiscSocket opens a packet socket of protocol 0, which receives nothing, and makes it a
// promiscuous member of the interface; the interface leaves promiscuous mode when the last
// such member closes.
func promiscSocket(ifindex int) (int, error) {
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	mreq := unix.PacketMreq{Ifindex: int32(ifindex), Type: unix.PACKET_MR_PROMISC}
	if err := unix.SetsockoptPacketMreq(fd, unix.SOL_PACKET, unix.PACKET_ADD_MEMBERSHIP, &mreq); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

// afLinkType maps the interface's hardware type to the link type of the frames a SOCK_RAW
// packet socket reads from it.
func afLinkType(name string) (LinkType, error) {
	raw, err := os.ReadFile("/sys/class/net/" + name + "/type")
	if err != nil {
		return 0, fmt.Errorf("hardware type: %w", err)
	}
	t, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil {
		return 0, fmt.Errorf("hardware type %q: %w", raw, err)
	}
	switch t {
	case arphrdEther, arphrdLoopback:
		return LinkTypeEthernet, nil
	case arphrdNone:
		return LinkTypeRaw, nil
	}
	return 0, fmt.Errorf("hardware type %d is not Ethernet or raw IP: use the pcap engine", t)
}

// afFilter compiles the filter of cfg for link with libpcap, truncating frames to the snaplen (the
// kernel keeps as many bytes as the filter returns). On a loopback interface it first rejects
// outgoing frames: the kernel hands each frame sent on lo to packet sockets twice, once going
// out (PACKET_OUTGOING) and once coming in, and libpcap drops the first copy the same way.
func afFilter(cfg LiveConfig, link LinkType, loopback bool) ([]bpf.RawInstruction, error) {
	f := cfg.linkFilter(link)
	ins, err := pcap.CompileBPFFilter(layers.LinkType(link), cfg.Snaplen, f)
	if err != nil {
		return nil, &setting.Error{Key: "bpf", Value: strconv.Quote(f), Err: err}
	}
	var prog []bpf.RawInstruction
	if loopback {
		pre, err := bpf.Assemble([]bpf.Instruction{
			bpf.LoadExtension{Num: bpf.ExtType},
			bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: packetOutgoing, SkipTrue: 1},
			bpf.RetConstant{Val: 0},
		})
		if err != nil {
			return nil, err
		}
		// The compiled filter's jumps are relative, so it runs unchanged after the prefix.
		prog = pre
	}
	for _, in := range ins {
		prog = append(prog, bpf.RawInstruction{Op: in.Code, Jt: in.Jt, Jf: in.Jf, K: in.K})
	}
	return prog, nil
}

// Next returns the next frame, or ErrTimeout. See LiveSource.
func (s *afpacketSource) Next(f *Frame) error {
	fr, err := s.ring.next(s.timeout)
	for err == nil && !s.ready.IsZero() {
		if !time.Unix(int64(fr.sec), int64(fr.nsec)).Before(s.ready) {
			s.ready = time.Time{} // the ring is in time order: no earlier frame follows
			break
		}
		fr, err = s.ring.next(s.timeout)
	}
	if err != nil {
		if errors.Is(err, ErrTimeout) {
			return ErrTimeout
		}
		return fmt.Errorf("capture on %s: %w", s.name, err)
	}
	*f = Frame{Data: fr.data, Time: time.Unix(int64(fr.sec), int64(fr.nsec)), WireLen: fr.wire, Link: s.link}
	if fr.vlan >= 0 && s.link == LinkTypeEthernet {
		s.buf = insertVLANTag(s.buf, fr.data, uint16(fr.vlan))
		f.Data = s.buf
		f.WireLen += 4
	}
	return nil
}

// CaptureStats returns the socket's TPACKET_V3 counters (PACKET_STATISTICS), accumulated
// because reading them resets them in the kernel.
func (s *afpacketSource) CaptureStats() (CaptureStats, error) {
	v3, err := s.ring.socketStats()
	if err != nil {
		return CaptureStats{}, fmt.Errorf("capture on %s: statistics: %w", s.name, err)
	}
	return CaptureStats{Received: uint64(v3.Packets), Dropped: uint64(v3.Drops)}, nil
}

// Name is the interface.
func (s *afpacketSource) Name() string { return s.name }

// Close releases the socket and its ring.
func (s *afpacketSource) Close() error {
	s.ring.close()
	if s.promiscFD >= 0 {
		unix.Close(s.promiscFD)
		s.promiscFD = -1
	}
	return nil
}
