package proto

// The generic fallback, `udp/PORT`: the UDP service ports below 1024 that no protocol of the
// table claims. A reflection through a service nobody has written a classifier for still has
// the shape of every reflection: replies sent from the service's well-known port, by many
// reflectors, to one victim that asked for none of them. sFlow-RT's DDoS application and
// xSight flag floods by destination and UDP source port for that reason. The engine watches
// the fallback for that one shape, victim_flood; a reply it cannot read tells nothing of
// amplification, exposure or scanning.
//
// The ports are those below 1024 (the well-known ports, RFC 6335 section 6, where the
// services of the US-CERT TA14-017A table live) because a reply from an ephemeral port is
// any client's traffic, and a datagram from a well-known port to a high one is a server's
// answer. Three are left out: 443 and 853 carry QUIC (HTTP/3, DNS over QUIC), the bulk of
// UDP on today's links, whose servers may not send a client more than three times what it
// sent before its address is validated (RFC 9000 section 8.1), so that QUIC is no
// amplifier; and 80, which carries no UDP service and is the victim port attack tools favour:
// a reply from port 427 to port 80 must read as a reply from 427.
//
// Sources: RFC 6335, RFC 9000 section 8.1, US-CERT TA14-017A, sFlow-RT's ddos-protect
// application (https://sflow-rt.com/ddos_protect.php: UDP floods by source port).

// UDPFallback is the fallback's entry in the table: the last one of Default.
var UDPFallback = Protocol{
	Name:     "udp",
	Ports:    fallbackPorts(),
	Fallback: true,
	Vectors: []Vector{
		{Name: "udp", Remediation: "Find the service answering on this UDP port and stop it answering the Internet, " +
			"or filter the port at the border."},
	},
	Thresholds: Thresholds{
		// Unsolicited: the victim sent less than a tenth of what it received from the port.
		VictimFloodMinAmplification: 10,
	},
}

// fallbackPorts lists the candidates of the fallback: 1 to 1023 but 80, 443 and 853.
func fallbackPorts() []uint16 {
	var ports []uint16
	for p := uint16(1); p < 1024; p++ {
		if p != 80 && p != 443 && p != 853 {
			ports = append(ports, p)
		}
	}
	return ports
}

// classifyFallback judges a datagram on a fallback port by its ports alone: from the
// service port it is a reply, to it a request; both ends on the same port (IKE's 500 <-> 500,
// syslog's 514 <-> 514) is a peer's traffic, none. When both ends are fallback ports the lower
// is the service's, as Lookup takes it. The payload is not read: nothing is known of it.
func (t *Table) classifyFallback(m *Message) {
	s, d := t.byPort[m.SrcPort] == t.fallback, t.byPort[m.DstPort] == t.fallback
	switch {
	case m.SrcPort == m.DstPort:
	case s && (!d || m.SrcPort < m.DstPort):
		m.Dir, m.Vector = DirResponse, 0
	case d:
		m.Dir, m.Vector = DirRequest, 0
	}
}

// classifyFallbackFlow judges a flow record (sampled flows: NetFlow, IPFIX) as
// classifyFallback judges a datagram, by its ports: a victim_flood of udp/PORT needs nothing
// more, which is how flow-based detectors (sFlow-RT, xSight) catch the vectors nobody wrote a
// parser for.
func (t *Table) classifyFallbackFlow(f *Flow) {
	m := Message{SrcPort: f.SrcPort, DstPort: f.DstPort, Vector: NoVector}
	t.classifyFallback(&m)
	f.Dir = m.Dir
}

// ServerPort is the service port of a datagram the classifier judged: the destination port
// of a request, the source port of a reply.
func ServerPort(dir Dir, sport, dport uint16) uint16 {
	if dir == DirRequest {
		return dport
	}
	return sport
}
