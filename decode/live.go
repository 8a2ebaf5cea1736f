package decode

import (
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ntpwatch/ntpwatch/decode/proto"
	"github.com/ntpwatch/ntpwatch/internal/setting"
)

// AnyInterface is libpcap's pseudo-interface that captures on every interface, in Linux
// cooked frames (SLL), as tcpdump -i any does.
const AnyInterface = "any"

// Capture engines for OpenLive.
const (
	// EnginePcap captures through libpcap: portable, and what tcpdump uses.
	EnginePcap = "pcap"
	// EngineAFPacket captures through Linux AF_PACKET TPACKET_V3 rings, several sockets in one
	// fanout group, each read by its own goroutine.
	EngineAFPacket = "afpacket"
)

// Filter is the capture filter that passes what the decoder needs of the protocols of table:
// UDP with one of their ports on either side, and every IP fragment that may belong to such a
// datagram, untagged, under one 802.1Q/802.1ad tag, or under two (QinQ); and every frame of
// the tunnels and mirror encapsulations the decoder reads, whose inner ports a filter cannot
// reach (GRE and so ERSPAN, IP in IP, EtherIP, which it counts as unread, the UDP ports of
// VXLAN, Geneve and GTP-U, MPLS, PPPoE sessions), so that a sensor on a mirror port sees
// inside. libpcap's `udp` stops at IPv4 fragments with a non-zero offset and at IPv6 fragment
// headers, which carry no UDP header; they are let through whatever their ports and
// attributed (or counted as orphans) by the decoder. Each `vlan` keyword shifts the offsets
// of everything after it (pcap-filter(7)), hence the nesting; `ether proto` is used for MPLS
// and PPPoE rather than libpcap's `mpls` and `pppoes`, which shift them too. On a live Linux
// capture the kernel has usually moved the outer tag into the packet's metadata; libpcap's
// `vlan` checks the metadata first, and a filter compiled for AF_PACKET sees the frame
// without its outer tag, so single-tagged frames match the first alternative there.
func Filter(table *proto.Table) string {
	frames := untaggedFilter(table, true)
	return frames + " or (vlan and (" + frames + " or (vlan and (" + frames + "))))"
}

// untaggedFilter is the alternatives of Filter for a frame without VLAN tags; with
// etherTypes, those of the Ethernet types of MPLS and PPPoE too. GTP-U is matched on either
// port, as the decoder reads it (TS 29.281 lets the sender pick its source port, and many
// pick 2152); VXLAN and Geneve on their destination port.
func untaggedFilter(table *proto.Table, etherTypes bool) string {
	alts := portFilters(table)
	alts = append(alts, "(ip and ip[6:2] & 0x1fff != 0)", "(ip6 and ip6[6] == 44)")
	for _, n := range []int{ipProtoGRE, ipProtoIPIP, ipProtoIPv6, ipProtoEtherIP} {
		alts = append(alts, "ip proto "+strconv.Itoa(n), "ip6 proto "+strconv.Itoa(n))
	}
	for _, port := range proto.TunnelPorts {
		dir := "dst "
		if port == portGTPU {
			dir = ""
		}
		alts = append(alts, "udp "+dir+"port "+strconv.Itoa(int(port)))
	}
	if etherTypes {
		for _, t := range []int{etherTypeMPLS, etherTypeMPLSMulticast, etherTypePPPoESession} {
			alts = append(alts, "ether proto 0x"+strconv.FormatInt(int64(t), 16))
		}
	}
	return strings.Join(alts, " or ")
}

// portFilters are the alternatives of the table's ports: one `udp port` for a port alone
// and one `udp portrange` for a run of them (the fallback's are most of the ports below
// 1024), and for each protocol whose replies come from other ports (Protocol.StrayLen) the
// UDP length of those replies, on IPv4 and on IPv6 without extension headers.
func portFilters(table *proto.Table) []string {
	var ports []int
	for _, p := range table.Protocols() {
		for _, port := range p.Ports {
			ports = append(ports, int(port))
		}
	}
	slices.Sort(ports)
	ports = slices.Compact(ports)
	var alts []string
	for i := 0; i < len(ports); {
		j := i
		for j+1 < len(ports) && ports[j+1] == ports[j]+1 {
			j++
		}
		if i == j {
			alts = append(alts, "udp port "+strconv.Itoa(ports[i]))
		} else {
			alts = append(alts, "udp portrange "+strconv.Itoa(ports[i])+"-"+strconv.Itoa(ports[j]))
		}
		i = j + 1
	}
	for _, p := range table.Protocols() {
		if p.StrayLen > 0 {
			// libpcap's udp[] reads IPv4 only (pcap-filter(7)); over IPv6 the UDP header is
			// read after the fixed header, as datagrams without extension headers have it.
			n := strconv.Itoa(p.StrayLen + 8)
			alts = append(alts, "(ip and udp[4:2] == "+n+")", "(ip6 and ip6[6] == 17 and ip6[44:2] == "+n+")")
		}
	}
	return alts
}

// FilterFor is Filter for a capture of link type link. libpcap's vlan works on Ethernet
// only, and refuses the whole expression elsewhere (a Linux "any" capture, which is Linux
// SLL, or a PPP interface), so on other link types it is Filter's untagged alternatives: with
// the Ethernet types of MPLS and PPPoE on the Linux cooked captures, which carry Ethernet
// types, without them on links that carry IP only. libpcap cannot filter NFLOG at all: there
// it is empty, no filter, and every frame is read.
func FilterFor(table *proto.Table, link LinkType) string {
	switch link {
	case LinkTypeEthernet:
		return Filter(table)
	case LinkTypeLinuxSLL, LinkTypeLinuxSLL2:
		return untaggedFilter(table, true)
	case LinkTypeNFLOG:
		return ""
	}
	return untaggedFilter(table, false)
}

// linkFilter is the filter a capture of link type link compiles: the configured one, or, for
// the default, FilterFor that link type.
func (c LiveConfig) linkFilter(link LinkType) string {
	if c.BPF == DefaultBPF {
		return FilterFor(proto.Default, link)
	}
	return c.BPF
}

// DefaultBPF is the capture filter of a live source when none is given: Filter of the
// default protocol table, on an Ethernet interface; FilterFor its link type on others.
var DefaultBPF = Filter(proto.Default)

// DefaultSnaplen is the bytes captured of each frame: whole frames on any common MTU, so the
// monlist items and the NTP log are complete. Byte counts never depend on it.
const DefaultSnaplen = 65535

// DefaultLiveTimeout is how long Next waits on a quiet link before returning ErrTimeout.
const DefaultLiveTimeout = 50 * time.Millisecond

// DefaultBufferSize is the kernel ring of a live capture in bytes, shared by the afpacket
// workers: at 500-byte frames it holds about 100,000 of them, a fraction of a second at the
// rates a 2014 monlist attack reached, so a reader that stalls briefly loses nothing.
const DefaultBufferSize = 64 << 20

// LiveConfig says how to capture from a network interface. The zero value of every field but
// Interface selects its default.
type LiveConfig struct {
	Interface string
	// Engine is EnginePcap (the default) or EngineAFPacket.
	Engine string
	// BPF is a libpcap filter expression; DefaultBPF when empty.
	BPF string
	// Snaplen is the bytes captured per frame; DefaultSnaplen when 0.
	Snaplen int
	// Promisc puts the interface into promiscuous mode, as a SPAN port or tap needs.
	Promisc bool
	// Workers is the number of AF_PACKET sockets in the fanout group, each with its own
	// goroutine; 1 when 0. The pcap engine has one.
	Workers int
	// BufferSize is the kernel ring in bytes, split between the workers; DefaultBufferSize
	// when 0.
	BufferSize int
	// Timeout is how long Next waits for a frame before returning ErrTimeout;
	// DefaultLiveTimeout when 0.
	Timeout time.Duration
}

// LiveSource is a Source on a network interface. Its Next returns ErrTimeout when no frame
// came within LiveConfig.Timeout, so that the caller can hand over what it holds and check for
// shutdown; it never returns io.EOF before Close.
type LiveSource interface {
	Source
	// CaptureStats returns the kernel's counters for this source since it was opened. Like
	// Next, it belongs to the source's goroutine.
	CaptureStats() (CaptureStats, error)
}

// CaptureStats are the kernel's counters of a live capture.
type CaptureStats struct {
	Received uint64 // frames the filter passed to the capture (pcap ps_recv, AF_PACKET tp_packets)
	Dropped  uint64 // frames lost because the ring was full (ps_drop, tp_drops)
	// IfDropped are frames the interface or its driver dropped (pcap ps_ifdrop); AF_PACKET
	// does not know them.
	IfDropped uint64
}

// Add adds o's counters to s, to total the sources of one fanout group.
func (s *CaptureStats) Add(o CaptureStats) {
	s.Received += o.Received
	s.Dropped += o.Dropped
	s.IfDropped += o.IfDropped
}

// ErrTimeout is returned by a LiveSource's Next when no frame came within the timeout.
var ErrTimeout = errors.New("no frame within the timeout")

// ErrCapturePermission is matched (errors.Is) by the error of OpenLive when the process may
// not capture: it needs root or the CAP_NET_RAW capability.
var ErrCapturePermission = errors.New("permission denied: capturing needs root or the CAP_NET_RAW capability")

// OpenLive opens cfg.Interface for capture with cfg.Engine and returns one source per worker:
// one for pcap, cfg.Workers for afpacket. Each source belongs to one goroutine. Errors name
// the interface on one line; a missing interface and a missing privilege are told apart
// (errors.Is(err, ErrCapturePermission)).
func OpenLive(cfg LiveConfig) ([]LiveSource, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("capture on %s: %w", cfg.Interface, err)
	}
	var srcs []LiveSource
	var err error
	switch cfg.Engine {
	case EnginePcap:
		// libpcap knows "any", which no interface index names.
		if cfg.Interface != AnyInterface {
			if _, err := net.InterfaceByName(cfg.Interface); err != nil {
				return nil, fmt.Errorf("capture on %s: no such network interface", cfg.Interface)
			}
		}
		srcs, err = openPcap(cfg)
	case EngineAFPacket:
		ifc, ierr := net.InterfaceByName(cfg.Interface)
		if ierr != nil {
			return nil, fmt.Errorf("capture on %s: no such network interface", cfg.Interface)
		}
		srcs, err = openAFPacket(cfg, ifc)
	}
	if err != nil {
		return nil, fmt.Errorf("capture on %s (%s): %w", cfg.Interface, cfg.Engine, err)
	}
	return srcs, nil
}

func (c LiveConfig) withDefaults() LiveConfig {
	if c.Engine == "" {
		c.Engine = EnginePcap
	}
	if c.BPF == "" {
		c.BPF = DefaultBPF
	}
	if c.Snaplen == 0 {
		c.Snaplen = DefaultSnaplen
	}
	if c.Workers == 0 {
		c.Workers = 1
	}
	if c.BufferSize == 0 {
		c.BufferSize = DefaultBufferSize
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultLiveTimeout
	}
	return c
}

// maxWorkers bounds the fanout group: more sockets than cores only split the ring.
const maxWorkers = 64

// Validate reports every field of c (with the defaults filled in) that cannot be used, each
// as a *setting.Error keyed by the field's name in lower case ("workers", "buffer_size"),
// joined.
func (c LiveConfig) Validate() error {
	c = c.withDefaults()
	var errs []error
	bad := func(key string, value any, format string, args ...any) {
		errs = append(errs, setting.Errorf(key, fmt.Sprint(value), format, args...))
	}
	switch c.Engine {
	case EnginePcap:
		if c.Workers != 1 {
			bad("workers", c.Workers, "the pcap engine has one worker; the afpacket engine has more")
		}
	case EngineAFPacket:
		if c.Workers < 1 || c.Workers > maxWorkers {
			bad("workers", c.Workers, "must be between 1 and %d", maxWorkers)
		}
		if c.Interface == AnyInterface {
			bad("engine", c.Engine, "cannot capture on %s: AF_PACKET binds each socket to one interface's index, and %s has none; the %s engine captures on every interface",
				AnyInterface, AnyInterface, EnginePcap)
		}
	default:
		bad("engine", strconv.Quote(c.Engine), "must be %s or %s", EnginePcap, EngineAFPacket)
	}
	if c.Snaplen < 64 || c.Snaplen > maxSnaplen {
		bad("snaplen", c.Snaplen, "must be between 64 and %d", maxSnaplen)
	}
	if c.BufferSize < 1<<20 {
		bad("buffer_size", c.BufferSize, "must be at least 1 MiB")
	}
	if c.Timeout < time.Millisecond {
		bad("timeout", c.Timeout, "must be at least 1ms")
	}
	return errors.Join(errs...)
}

// permissionError turns an operating system refusal into ErrCapturePermission.
func permissionError(err error) error {
	if errors.Is(err, os.ErrPermission) {
		return ErrCapturePermission
	}
	return err
}

// insertVLANTag writes into buf the Ethernet frame data with an 802.1Q tag carrying tci put
// back after the MAC addresses, and returns it. AF_PACKET hands frames over with the outer tag
// moved into the packet's metadata (VLAN offload, or skb_vlan_untag in the receive path);
// libpcap puts it back the same way, so both engines give the decoder the frame as it was on
// the wire. The TPID is taken as 0x8100: the metadata that gopacket exposes omits it.
func insertVLANTag(buf, data []byte, tci uint16) []byte {
	if len(data) < 12 {
		return append(buf[:0], data...)
	}
	buf = append(buf[:0], data[:12]...)
	buf = append(buf, 0x81, 0x00, byte(tci>>8), byte(tci))
	return append(buf, data[12:]...)
}
