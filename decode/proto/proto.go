// Package proto is the table of UDP reflection protocols. Each protocol is one file: the ports
// its servers listen on, a classifier that tells its requests from its replies and which of
// them amplify, its vectors (the abused requests) with the remediation text for a server's
// operator, and the sources all this was checked against. The decoder hands every UDP datagram
// to or from a port in the table to that port's classifier, which turns it into the
// protocol-neutral verdict the detection engine reads: direction, vector, whether a reply
// carried amplifying data. Nothing outside this package knows a protocol's wire format.
//
// Adding a protocol: docs/extending.md.
//
// Threading: a Table is immutable once built and may be shared by every goroutine.
package proto

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Dir is a message's place in a reflection exchange.
type Dir uint8

const (
	// DirNone is a message that takes no part in amplification: NTP time service, an ntpdc
	// query whose answer is small, a reply sent to the server port by a symmetric peer.
	DirNone Dir = iota
	// DirRequest is a request to a server, the small packet an attacker forges.
	DirRequest
	// DirResponse is a server's reply, the large packet that floods the victim.
	DirResponse
)

// NoVector is Message.Vector of a message that is no amplifying request or reply.
const NoVector = -1

// MaxVectors is the most vectors one protocol may declare: the engine keeps a byte count per
// vector in every host, so the bound is memory.
const MaxVectors = 4

// VectorUnknown is the vector of an amplifying message whose request is not known: a flow
// record (NetFlow, IPFIX) counts packets and bytes without carrying a payload, so it tells a
// request from a reply by its ports and size, never which request it was. It follows every
// protocol's own vectors in the counters kept by vector, which have VectorSlots entries.
const (
	VectorUnknown     int8 = MaxVectors
	VectorSlots            = MaxVectors + 1
	VectorUnknownName      = "unknown"
)

// Vector is one abused request of a protocol (NTP's monlist, DNS's ANY query).
type Vector struct {
	// Name is the alert's vector value, unique within the protocol: "monlist".
	Name string
	// Weak marks a vector whose amplification is small (NTP mode 6): an exposure or a scan
	// through it alone is graded low.
	Weak bool
	// Remediation tells the operator of a server that answers this vector what to do. It is
	// the alert's remediation text for exposed_amplifier and reflection.
	Remediation string
}

// Malformed says why a datagram on a protocol's port is not a valid message of it.
type Malformed uint8

const (
	WellFormed Malformed = iota
	// Truncated: the capture ended before the message's first byte (a tiny snaplen).
	Truncated
	// Short: the datagram is shorter than the header its first bytes announce.
	Short
	// BadMode: a mode, opcode or message type the protocol does not define.
	BadMode
	// BadVersion: a version the protocol does not define.
	BadVersion
	// BadLength: counts in the header (items, item size, data length) run past the datagram.
	BadLength
)

// Message is one UDP datagram on a protocol's port: what a classifier reads and what it fills.
type Message struct {
	// Payload holds the captured bytes of the UDP payload: fewer than Len when a snaplen or
	// IP fragmentation cut the datagram. Verdicts must not depend on how much was captured
	// beyond what the protocol needs to tell request, reply and vector apart.
	Payload []byte
	// Len is the UDP payload length from the UDP header.
	Len              int
	SrcPort, DstPort uint16

	// Set by the classifier, zero on entry but for Vector (NoVector) and NTP.
	Dir     Dir
	Vector  int8 // index in Protocol.Vectors for an amplifying request or reply, else NoVector
	Data    bool // a reply that carries the amplifying data (monlist items, mode 6 variables)
	Refusal bool // a reply that refuses without amplifying (NTP mode 7 err=4: a patched server)
	Partial bool // the header or body was not captured whole; lengths still come from the headers
	Err     Malformed
	// NTP is where the NTP classifier writes the decoded header, for --ntp-log; the decoder
	// always sets it. Other classifiers leave it alone.
	NTP *NTP
}

// Flow is a flow record (NetFlow v9, IPFIX) between a protocol's port and another: packets of
// one direction counted together, without a byte of their payload. A flow classifier tells
// from the ports and the mean size alone whether they are amplifying requests or replies;
// their vector is VectorUnknown. Sources: RFC 3954 (NetFlow v9), RFC 7011 and RFC 7012
// (IPFIX), whose byte counts include the IP header.
type Flow struct {
	SrcPort, DstPort uint16
	// PayloadLen is the mean UDP payload bytes of the record's packets.
	PayloadLen int

	// Set by the classifier, zero on entry.
	Dir  Dir
	Data bool // replies whose size says they carry the amplifying data
}

// Protocol is one entry of the table.
type Protocol struct {
	// Name is the alert's protocol value: "ntp".
	Name string
	// Ports are the UDP ports its servers listen on; a datagram with one of them on either
	// side is classified.
	Ports []uint16
	// Vectors are its abused requests; Message.Vector indexes them.
	Vectors []Vector
	// Classify fills m's verdict from its payload and ports.
	Classify func(m *Message)
	// ClassifyFlow fills the verdict of a flow record, which has no payload, from its ports
	// and mean size. nil leaves the protocol's flow records out of amplification (DirNone):
	// counted, never accounted.
	ClassifyFlow func(f *Flow)

	// Thresholds are the protocol's own defaults for the detectors whose right values depend
	// on how the protocol is used; zero fields keep the engine's (docs/detection.md).
	Thresholds Thresholds
	// StrayLen, when not zero, is the UDP payload length of the replies a server sends from a
	// port other than its service port (TFTP's data blocks come from a transfer port, RFC 1350
	// section 4). A datagram on no port of the table whose payload has this length goes to
	// Classify too, which must tell such a reply from other traffic by its bytes.
	StrayLen int
	// Fallback marks the entry of the UDP service ports that no other protocol claims (the
	// generic `udp/PORT`, fallback.go). Its Ports are candidates: NewTable gives it those no
	// other entry claims, whatever the order of the entries, and makes its classifier.
	Fallback bool

	// ID is the protocol's index in its Table, set by NewTable: 1 and up.
	ID uint8
}

// VectorIndex is the vector called name, VectorUnknown for "unknown", NoVector when p has no
// such vector: VectorName's inverse.
func (p *Protocol) VectorIndex(name string) int8 {
	if name == VectorUnknownName {
		return VectorUnknown
	}
	for i := range p.Vectors {
		if p.Vectors[i].Name == name {
			return int8(i)
		}
	}
	return NoVector
}

// Thresholds are a protocol's own defaults for the detectors whose right values depend on
// the protocol: how much its everyday replies outweigh their requests, and how many servers
// its clients talk to. A zero field keeps the engine's setting of that key, which applies to
// every protocol (the detect section of the configuration, whose defaults were chosen for
// NTP); the configuration overrides both per protocol (detect.protocols.NAME). Each field
// names its key under detect.
type Thresholds struct {
	ReflectionMinResponseBytes  uint64  // reflection.min_response_bytes
	ReflectionMinAmplification  float64 // reflection.min_amplification
	VictimFloodMinReflectors    int     // victim_flood.min_reflectors
	VictimFloodMinResponseBytes uint64  // victim_flood.min_response_bytes
	VictimFloodMinAmplification float64 // victim_flood.min_amplification
	ScanMinTargets              int     // scan.min_targets
	RequestFloodMinRequests     uint64  // request_flood.min_requests
}

// VectorName is the name of vector v, "unknown" for VectorUnknown, or "" for NoVector.
func (p *Protocol) VectorName(v int8) string {
	if v == VectorUnknown {
		return VectorUnknownName
	}
	if v < 0 || int(v) >= len(p.Vectors) {
		return ""
	}
	return p.Vectors[v].Name
}

// Table maps UDP ports to protocols. Looking a port up is one load from a 64 KiB array, so
// traffic that matches no entry costs next to nothing.
type Table struct {
	protocols []*Protocol // index ID-1
	byPort    [1 << 16]uint8
	fallback  uint8       // the ID of the Fallback entry, 0 without one
	strays    []*Protocol // the entries with a StrayLen
}

// TunnelPorts are the UDP ports of the encapsulations the decoder reads inside UDP: GTP-U
// (2152), VXLAN (4789) and Geneve (6081). The decoder checks them before the table, so no
// protocol may claim them: its datagrams would be read as tunnels.
var TunnelPorts = []uint16{2152, 4789, 6081}

// NewTable builds a table of ps, numbering them from 1 in order. It fails on a protocol
// without a name, ports, vectors or classifier, with too many vectors or a vector without
// remediation text, on a name or a port claimed twice, on a port of TunnelPorts, and on a
// second Fallback entry. A Fallback entry takes the ports of its list that no other entry
// claims, and a classifier of its own (fallback.go).
func NewTable(ps ...*Protocol) (*Table, error) {
	t := &Table{}
	if len(ps) >= MaxProtocols {
		return nil, fmt.Errorf("proto: %d protocols, at most %d", len(ps), MaxProtocols-1)
	}
	var fallback *Protocol
	for i, p := range ps {
		switch {
		case p.Name == "" || (p.Classify == nil && !p.Fallback) || len(p.Ports) == 0 || len(p.Vectors) == 0:
			return nil, fmt.Errorf("proto: protocol %d (%q) needs a name, ports, vectors and a classifier", i+1, p.Name)
		case len(p.Vectors) > MaxVectors:
			return nil, fmt.Errorf("proto: %s has %d vectors, at most %d", p.Name, len(p.Vectors), MaxVectors)
		case slices.ContainsFunc(t.protocols, func(q *Protocol) bool { return q.Name == p.Name }):
			return nil, fmt.Errorf("proto: %s is in the table twice", p.Name)
		case p.Fallback && fallback != nil:
			return nil, fmt.Errorf("proto: %s and %s are both the fallback", fallback.Name, p.Name)
		}
		for _, v := range p.Vectors {
			if v.Remediation == "" {
				return nil, fmt.Errorf("proto: %s vector %q has no remediation text", p.Name, v.Name)
			}
		}
		// A copy, so that the same Protocol value may sit in several tables with other IDs.
		q := *p
		q.ID = uint8(i + 1)
		t.protocols = append(t.protocols, &q)
		if q.Fallback {
			fallback = &q
			continue // its ports are those left when every other entry has taken its own
		}
		for _, port := range q.Ports {
			if slices.Contains(TunnelPorts, port) {
				return nil, fmt.Errorf("proto: %s claims port %d, which carries a tunnel the decoder reads", q.Name, port)
			}
			if other := t.byPort[port]; other != 0 {
				return nil, fmt.Errorf("proto: port %d is claimed by %s and %s", port, t.protocols[other-1].Name, q.Name)
			}
			t.byPort[port] = q.ID
		}
		if q.StrayLen > 0 {
			t.strays = append(t.strays, &q)
		}
	}
	if fallback != nil {
		t.fallback = fallback.ID
		var ports []uint16
		for _, port := range fallback.Ports {
			if t.byPort[port] == 0 && !slices.Contains(TunnelPorts, port) {
				t.byPort[port] = fallback.ID
				ports = append(ports, port)
			}
		}
		fallback.Ports = ports
		fallback.Classify = t.classifyFallback
		fallback.ClassifyFlow = t.classifyFallbackFlow
	}
	return t, nil
}

// MustTable is NewTable for tables written in code, which a test checks.
func MustTable(ps ...*Protocol) *Table {
	t, err := NewTable(ps...)
	if err != nil {
		panic(err)
	}
	return t
}

// Lookup returns the protocol of a datagram between sport and dport, nil when neither port is
// in the table. When both are (NTP's symmetric 123 <-> 123, or a client whose ephemeral port
// happens to be another protocol's), the lower port is taken as the server's, as well-known
// ports are the low ones; Second gives the other. A protocol's port wins over a port of the
// fallback, which takes only datagrams on no other protocol's port.
func (t *Table) Lookup(sport, dport uint16) *Protocol {
	a, b := t.byPort[sport], t.byPort[dport]
	switch {
	case a == 0 && b == 0:
		return nil
	case a == 0 || a == t.fallback && b != 0:
		return t.protocols[b-1]
	case b == 0 || b == t.fallback || sport <= dport:
		return t.protocols[a-1]
	}
	return t.protocols[b-1]
}

// Second returns the protocol of the higher of two table ports when both are in the table and
// belong to different protocols, else nil: the one Lookup passed over. It is never the
// fallback.
func (t *Table) Second(sport, dport uint16) *Protocol {
	a, b := t.byPort[sport], t.byPort[dport]
	if a == 0 || b == 0 || a == b || a == t.fallback || b == t.fallback {
		return nil
	}
	if sport <= dport {
		return t.protocols[b-1]
	}
	return t.protocols[a-1]
}

// Stray returns the protocol whose replies from other ports have UDP payloads of n bytes
// (Protocol.StrayLen), nil when none has.
func (t *Table) Stray(n int) *Protocol {
	for _, p := range t.strays {
		if p.StrayLen == n {
			return p
		}
	}
	return nil
}

// Fallback returns the table's Fallback entry, nil when it has none.
func (t *Table) Fallback() *Protocol { return t.ByID(t.fallback) }

// Protocols lists the table's protocols in ID order.
func (t *Table) Protocols() []*Protocol { return t.protocols }

// ByID returns the protocol numbered id, nil when there is none.
func (t *Table) ByID(id uint8) *Protocol {
	if id == 0 || int(id) > len(t.protocols) {
		return nil
	}
	return t.protocols[id-1]
}

// ByName returns the protocol called name (a Protocol's Name: an alert's protocol), nil when
// there is none.
func (t *Table) ByName(name string) *Protocol {
	for _, p := range t.protocols {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// Service returns the protocol an alert's protocol name stands for, and the service's port:
// a protocol's name and its first port, or the fallback's name, a slash and a service port
// (udp/427, as the engine names the fallback's services). It returns nil when t has neither.
func (t *Table) Service(name string) (*Protocol, uint16) {
	if p := t.ByName(name); p != nil && !p.Fallback {
		return p, p.Ports[0]
	}
	base, port, ok := strings.Cut(name, "/")
	if !ok {
		return nil, 0
	}
	n, err := strconv.ParseUint(port, 10, 16)
	if p := t.ByName(base); err == nil && p != nil && p.Fallback && n > 0 {
		return p, uint16(n)
	}
	return nil, 0
}

// Default is the table ntpwatch runs with: every protocol it reads, NTP first, and the
// generic fallback for the other UDP service ports last.
var Default = MustTable(&NTPProtocol, &DNSProtocol, &CLDAPProtocol, &SSDPProtocol, &MemcachedProtocol,
	&CharGENProtocol, &QOTDProtocol, &SNMPProtocol, &NetBIOSProtocol, &PortmapProtocol, &MSSQLProtocol,
	&WSDProtocol, &ARDProtocol, &CoAPProtocol, &RIPProtocol, &TFTPProtocol, &UbiquitiProtocol, &DVRProtocol,
	&UDPFallback)

// MaxProtocols bounds a table: IDs run from 1 to MaxProtocols-1, and per-protocol arrays of
// counters (decode.Stats) have MaxProtocols entries.
const MaxProtocols = 32
