package flow

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"os"
	"time"

	"github.com/ntpwatch/ntpwatch/decode"
	"github.com/ntpwatch/ntpwatch/decode/proto"
)

// item is one observation of a datagram: a sampled packet header (header set) or a flow
// record. Its slices point into the datagram, valid until the source reads the next one.
type item struct {
	header []byte
	link   decode.LinkType
	wire   int // the sampled frame's length on the wire

	src, dst       netip.Addr
	sport, dport   uint16
	ipProto        uint8
	packets, bytes uint64

	rate uint32 // the sampling rate it is weighted by
}

// datagram is one export datagram, as a socket or a capture hands it over.
type datagram struct {
	data  []byte // valid until the next read
	from  netip.Addr
	proto Protocol
	time  time.Time
}

// source is a decode.PacketSource of the datagrams read decodes.
type source struct {
	c     *Collector
	name  string
	local netip.AddrPort // the socket's address, for a live source
	read  func() (datagram, error)
	close func() error
	// live marks a socket's source: a datagram that holds nothing to observe (counter
	// samples, templates, or junk sent to the port) ends NextPacket with decode.ErrTimeout, so
	// that its reader still hands over, looks at its context and moves the clock however
	// such datagrams keep coming.
	live bool

	items []item
	next  int
	now   time.Time // the current datagram's time
	frame decode.Frame

	tmpl     map[netip.Addr]*templates
	samplers map[domainKey]*samplers
}

func (c *Collector) newSource(name string, read func() (datagram, error), closer func() error) *source {
	return &source{c: c, name: name, read: read, close: closer,
		tmpl: map[netip.Addr]*templates{}, samplers: map[domainKey]*samplers{}}
}

// NextPacket returns the next observation of the datagrams: a sampled header decoded by d,
// or a flow record counted with d.Record. See decode.PacketSource.
func (s *source) NextPacket(d *decode.Decoder, p *decode.Packet) (decode.Kind, error) {
	for s.next == len(s.items) {
		dg, err := s.read()
		if err != nil {
			return decode.KindOther, err
		}
		s.items, s.next, s.now = s.items[:0], 0, dg.time
		if dg.proto == SFlow {
			s.sflowDatagram(dg.data, dg.from)
		} else {
			s.netflowDatagram(dg.data, dg.from, dg.proto)
		}
		if s.live && len(s.items) == 0 {
			return decode.KindOther, decode.ErrTimeout
		}
	}
	it := &s.items[s.next]
	s.next++
	if it.header != nil {
		s.frame = decode.Frame{Data: it.header, Time: s.now, WireLen: it.wire, Link: it.link, Weight: it.rate}
		kind := d.Decode(&s.frame, p)
		p.Samples = 1
		return kind, nil
	}
	s.record(it, p)
	d.Record(p)
	return p.Kind, nil
}

// record fills p from a flow record: a UDP record between a port of the protocol table and
// another is a message of that protocol, one observation of all its packets, which the
// protocol's flow classifier judges by their mean size. Its lengths are estimates from that
// mean: the UDP payload is the mean IP length less an IP header without options or extension
// headers and the UDP header, and the wire length adds an untagged Ethernet header. Anything
// else is KindOther.
func (s *source) record(it *item, p *decode.Packet) {
	monlist := p.NTP.Priv.Monlist[:0]
	*p = decode.Packet{Time: s.now, Vector: proto.NoVector, Src: it.src, Dst: it.dst, SrcPort: it.sport, DstPort: it.dport,
		Weight: 1}
	p.NTP.Priv.Monlist = monlist
	if it.ipProto != ipProtoUDP || it.packets == 0 || !it.src.IsValid() || !it.dst.IsValid() {
		return
	}
	pr := s.c.cfg.Table.Lookup(it.sport, it.dport)
	if pr == nil {
		return
	}
	hdr := uint64(ipv4Header + udpHeader)
	if it.src.Is6() && !it.src.Is4In6() {
		hdr = ipv6Header + udpHeader
	}
	ipLen := min(it.bytes/it.packets, math.MaxUint16)
	payload := max(ipLen, hdr) - hdr
	p.Kind, p.Proto = decode.KindMessage, pr
	p.IPLen, p.WireLen = uint32(ipLen), uint32(ipLen+ethernetHeader)
	p.MessageLen, p.PayloadLen = uint32(payload), uint32(payload)
	p.Weight = uint32(min(it.packets*uint64(it.rate), math.MaxUint32))
	p.Samples = uint32(min(it.packets, math.MaxUint32))
	if pr.ClassifyFlow == nil {
		return
	}
	f := proto.Flow{SrcPort: it.sport, DstPort: it.dport, PayloadLen: int(payload)}
	pr.ClassifyFlow(&f)
	if f.Dir != proto.DirNone {
		p.Dir, p.Vector, p.Data = f.Dir, proto.VectorUnknown, f.Data
	}
}

// Name is the address listened on, or the capture's name.
func (s *source) Name() string { return s.name }

// Close closes the socket or the capture.
func (s *source) Close() error { return s.close() }

// socketBuffer is the receive buffer a collector's socket asks for, so that the bursts of
// an attack's exports wait in the kernel (net.core.rmem_max caps it).
const socketBuffer = 8 << 20

// Listen returns a live source of the datagrams of protocol p that exporters send to addr
// (host:port, a port of 0 for one the system chooses). Its NextPacket returns
// decode.ErrTimeout after decode.DefaultLiveTimeout without a datagram, so that it runs with
// pipeline.LiveFlush. NetFlow v9 and IPFIX are told apart by their version, so either port
// takes both.
func (c *Collector) Listen(p Protocol, addr string) (decode.PacketSource, error) {
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", p, addr, err)
	}
	conn, err := net.ListenUDP("udp", ua)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", p, addr, err)
	}
	conn.SetReadBuffer(socketBuffer)
	name := p.String() + " " + conn.LocalAddr().String()
	buf := make([]byte, 1<<16)
	read := func() (datagram, error) {
		conn.SetReadDeadline(time.Now().Add(decode.DefaultLiveTimeout))
		n, from, err := conn.ReadFromUDPAddrPort(buf)
		switch {
		case errors.Is(err, os.ErrDeadlineExceeded):
			return datagram{}, decode.ErrTimeout
		case err != nil:
			return datagram{}, fmt.Errorf("%s: %w", name, err)
		}
		return datagram{data: buf[:n], from: from.Addr().Unmap(), proto: p, time: time.Now()}, nil
	}
	s := c.newSource(name, read, conn.Close)
	s.local, s.live = conn.LocalAddr().(*net.UDPAddr).AddrPort(), true
	return s, nil
}

// Addr is the local address of a source that Listen returned, for a port the system chose;
// the zero AddrPort for another source.
func Addr(src decode.PacketSource) netip.AddrPort {
	s, ok := src.(*source)
	if !ok {
		return netip.AddrPort{}
	}
	return s.local
}
