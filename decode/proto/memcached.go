package proto

// memcached, port 11211: a cache server that also listened on UDP by default until 1.5.6.
// Attackers stored large values and fetched them with `get` from forged sources, or asked for
// `stats`: a request of 15 bytes brought back up to a megabyte, 10,000 to 51,000 times
// (US-CERT; the 1.3 Tbit/s attack on GitHub in February 2018). Every UDP datagram starts
// with an 8-byte frame header: request id, sequence number, total datagrams, reserved zero.
// A reply longer than a datagram is split at arbitrary bytes, so only its first datagram
// (sequence 0) starts with a reply line.
//
// Sources: memcached's doc/protocol.txt ("UDP protocol", "Commands"), US-CERT TA14-017A
// (memcached, added 2018), Cloudflare's "Memcrashed" (2018), nmap's nmap-payloads (the
// `version` probe), Wireshark's epan/dissectors/packet-memcache.c.

// MemcachedPort is memcached's port.
const MemcachedPort = 11211

// The vectors of MemcachedProtocol.
const (
	VectorMemcachedStats = iota // `stats`, answered with STAT lines
	VectorMemcachedGet          // `get` and `gets`, answered with VALUE lines and the values
)

// memcachedFrame is the UDP frame header's length (protocol.txt, "UDP protocol").
const memcachedFrame = 8

const memcachedRemediation = "Disable memcached's UDP listener (-U 0, the default since 1.5.6), bind it to localhost or the " +
	"application network (-l), and block port 11211 at the border."

// MemcachedProtocol is memcached's entry in the table.
var MemcachedProtocol = Protocol{
	Name:  "memcached",
	Ports: []uint16{MemcachedPort},
	Vectors: []Vector{
		VectorMemcachedStats: {Name: "memcached/stats", Remediation: memcachedRemediation},
		VectorMemcachedGet:   {Name: "memcached/get", Remediation: memcachedRemediation},
	},
	Classify: classifyMemcached,
}

// classifyMemcached reads the frame header and the command or reply line after it. A
// request to port 11211 is one datagram (total 1, sequence 0) with `stats` or `get`/`gets`;
// a reply from the port is a datagram of a series (sequence below total) whose first
// datagram starts with STAT (stats) or VALUE (get) and carries data, or END alone (a cache
// miss: no data). The later datagrams of a series carry data of the `stats` reply when they
// start with STAT, else of a `get`.
func classifyMemcached(m *Message) {
	b := m.Payload
	if len(b) < memcachedFrame || be16(b, 6) != 0 {
		return
	}
	seq, total := be16(b, 2), be16(b, 4)
	text := b[memcachedFrame:]
	switch {
	case m.DstPort == MemcachedPort && seq == 0 && total == 1:
		switch {
		case hasPrefix(text, "stats"):
			m.Dir, m.Vector = DirRequest, VectorMemcachedStats
		case hasPrefix(text, "get ") || hasPrefix(text, "gets "):
			m.Dir, m.Vector = DirRequest, VectorMemcachedGet
		}
	case m.SrcPort == MemcachedPort && seq < total:
		switch {
		case hasPrefix(text, "STAT "):
			m.Dir, m.Vector, m.Data = DirResponse, VectorMemcachedStats, true
		case hasPrefix(text, "VALUE ") || seq > 0 && m.Len > memcachedFrame:
			m.Dir, m.Vector, m.Data = DirResponse, VectorMemcachedGet, true
		case hasPrefix(text, "END\r\n"):
			m.Dir, m.Vector = DirResponse, VectorMemcachedGet
		}
	}
	m.Partial = len(b) < m.Len
}
