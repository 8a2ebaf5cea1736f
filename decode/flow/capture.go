package flow

import (
	"net/netip"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"github.com/ntpwatch/ntpwatch/decode"
)

// Ports says which export protocol the datagrams to each UDP port of a capture are.
type Ports map[uint16]Protocol

// DefaultPorts are the protocols' default ports.
func DefaultPorts() Ports {
	return Ports{DefaultSFlowPort: SFlow, DefaultNetFlowPort: NetFlow, DefaultIPFIXPort: IPFIX}
}

// Capture returns a source of the export datagrams in a capture (decode.Open's files, or
// several merged, or a selection of their frames): the payloads of the UDP datagrams to the
// ports of ports, stamped with their capture times, which are the observations' time.
// Frames of other traffic, and datagrams cut into IP fragments (which are not reassembled),
// are passed over. The source closes src.
func (c *Collector) Capture(src decode.Source, ports Ports) decode.PacketSource {
	r := &captureReader{src: src, ports: ports, parsers: map[gopacket.LayerType]*gopacket.DecodingLayerParser{}}
	return c.newSource(src.Name(), r.read, src.Close)
}

// captureReader finds the export datagrams among a capture's frames.
type captureReader struct {
	src   decode.Source
	ports Ports
	frame decode.Frame
	// parsers are by first layer, as gopacket v1.1.19's parser starts at a fixed one.
	parsers map[gopacket.LayerType]*gopacket.DecodingLayerParser
	layers  []gopacket.LayerType
	eth     layers.Ethernet
	dot1q   layers.Dot1Q
	sll     layers.LinuxSLL
	loop    layers.Loopback
	ip4     layers.IPv4
	ip6     layers.IPv6
	udp     layers.UDP
}

// read returns the next export datagram of the capture; its io.EOF and truncation at the end.
func (r *captureReader) read() (datagram, error) {
	for {
		if err := r.src.Next(&r.frame); err != nil {
			return datagram{}, err
		}
		if dg, ok := r.datagram(); ok {
			return dg, nil
		}
	}
}

// datagram reads the frame down to UDP: Ethernet with VLAN tags, Linux cooked captures,
// BSD loopback and raw IP.
func (r *captureReader) datagram() (datagram, bool) {
	f := &r.frame
	var first gopacket.LayerType
	switch f.Link {
	case decode.LinkTypeEthernet:
		first = layers.LayerTypeEthernet
	case decode.LinkTypeLinuxSLL:
		first = layers.LayerTypeLinuxSLL
	case decode.LinkTypeNull, decode.LinkTypeLoop:
		first = layers.LayerTypeLoopback
	case decode.LinkTypeRaw, decode.LinkTypeRawOld, decode.LinkTypeRawOpenBSD, decode.LinkTypeIPv4, decode.LinkTypeIPv6:
		if len(f.Data) == 0 {
			return datagram{}, false
		}
		first = layers.LayerTypeIPv4
		if f.Data[0]>>4 == 6 {
			first = layers.LayerTypeIPv6
		}
	default:
		return datagram{}, false
	}
	parser := r.parsers[first]
	if parser == nil {
		parser = gopacket.NewDecodingLayerParser(first, &r.eth, &r.dot1q, &r.sll, &r.loop, &r.ip4, &r.ip6, &r.udp)
		parser.IgnoreUnsupported = true
		r.parsers[first] = parser
	}
	r.layers = r.layers[:0]
	if err := parser.DecodeLayers(f.Data, &r.layers); err != nil && !errDone(err) {
		return datagram{}, false
	}
	if len(r.layers) == 0 || r.layers[len(r.layers)-1] != layers.LayerTypeUDP {
		return datagram{}, false // not UDP, or a fragment
	}
	p, ok := r.ports[uint16(r.udp.DstPort)]
	if !ok {
		return datagram{}, false
	}
	var from netip.Addr
	if r.layers[len(r.layers)-2] == layers.LayerTypeIPv6 {
		from, _ = netip.AddrFromSlice(r.ip6.SrcIP)
	} else {
		from, _ = netip.AddrFromSlice(r.ip4.SrcIP.To4())
	}
	return datagram{data: r.udp.Payload, from: from.Unmap(), proto: p, time: f.Time}, true
}

// errDone reports whether the parser's error only says it stopped at a layer it does not
// read (the UDP payload).
func errDone(err error) bool {
	_, ok := err.(gopacket.UnsupportedLayerType)
	return ok
}
