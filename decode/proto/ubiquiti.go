package proto

// Ubiquiti discovery, port 10001: Ubiquiti's routers and access points answer a 4-byte
// discovery probe with their name, model, firmware and addresses, 30 to 35 times the probe
// (Rapid7 and Jon Hart, 2019); hundreds of thousands answered from the Internet. Devices
// also announce themselves, by broadcast to port 10001, which is no reply.
//
// Sources: nmap's ubiquiti-discovery script and nmap-payloads (the version 1 probe 01 00 00
// 00 and version 2 probe 02 08 00 00; replies of version 1 command 0, or version 2 commands
// 6, 9 and 11, with a 16-bit length and TLVs), Rapid7's "Ubiquiti discovery" research (2019).

// UbiquitiPort is the discovery service's port.
const UbiquitiPort = 10001

// VectorUbiquitiDiscovery is the discovery service's one vector: the probe.
const VectorUbiquitiDiscovery = 0

// UbiquitiProtocol is Ubiquiti discovery's entry in the table.
var UbiquitiProtocol = Protocol{
	Name:  "ubiquiti",
	Ports: []uint16{UbiquitiPort},
	Vectors: []Vector{
		VectorUbiquitiDiscovery: {Name: "ubiquiti/discovery", Remediation: "Turn off the device discovery service (UniFi/EdgeOS: " +
			"service ubnt-discover disable, or the 'Device Discovery' setting), upgrade the firmware, and block UDP port 10001 at the border."},
	},
	Classify: classifyUbiquiti,
}

// classifyUbiquiti reads the 4-byte header (version, command, length): a probe (version 1
// command 0, or version 2 command 8, with no payload) sent to port 10001 is a request; a
// reply of version 1 command 0, or version 2 command 6, 9 or 11, with TLVs, sent from the
// port to another port is the reply with data.
func classifyUbiquiti(m *Message) {
	b := m.Payload
	if len(b) < 4 || m.SrcPort == m.DstPort {
		return
	}
	v, cmd, n := b[0], b[1], be16(b, 2)
	switch {
	case m.DstPort == UbiquitiPort && m.Len == 4 && n == 0 && (v == 1 && cmd == 0 || v == 2 && cmd == 8):
		m.Dir, m.Vector = DirRequest, VectorUbiquitiDiscovery
	case m.SrcPort == UbiquitiPort && n > 0 && (v == 1 && cmd == 0 || v == 2 && (cmd == 6 || cmd == 9 || cmd == 11)):
		m.Dir, m.Vector, m.Data = DirResponse, VectorUbiquitiDiscovery, true
	}
	m.Partial = len(b) < m.Len
}
