package proto_test

import (
	"testing"

	"github.com/ntpwatch/ntpwatch/decode/proto"
)

// verdict is a datagram and the verdict its protocol's classifier must give it.
type verdict struct {
	name         string
	sport, dport uint16
	payload      []byte
	len          int // the UDP payload length; 0 means len(payload)
	dir          proto.Dir
	vector       string // the vector's name; "" for none
	data         bool
	refusal      bool
}

// Ports of a client and of a victim in the tests: ephemeral, on no table port.
const (
	client = 40000
	victim = 41000
)

// checkVerdicts classifies each case with p's classifier as the decoder calls it, and checks
// that the default table gives p for the case's ports.
func checkVerdicts(t *testing.T, p *proto.Protocol, cases []verdict) {
	t.Helper()
	for _, c := range cases {
		n := c.len
		if n == 0 {
			n = len(c.payload)
		}
		var ntp proto.NTP
		m := proto.Message{Payload: c.payload, Len: n, SrcPort: c.sport, DstPort: c.dport, Vector: proto.NoVector, NTP: &ntp}
		p.Classify(&m)
		got := p.VectorName(m.Vector)
		if m.Dir != c.dir || got != c.vector || m.Data != c.data || m.Refusal != c.refusal || m.Err != proto.WellFormed {
			t.Errorf("%s %s: dir %d vector %q data %v refusal %v err %d; want dir %d vector %q data %v refusal %v",
				p.Name, c.name, m.Dir, got, m.Data, m.Refusal, m.Err, c.dir, c.vector, c.data, c.refusal)
		}
		if (m.Dir == proto.DirNone) != (m.Vector == proto.NoVector) || (m.Data || m.Refusal) && m.Dir != proto.DirResponse {
			t.Errorf("%s %s: inconsistent verdict: dir %d vector %d data %v refusal %v", p.Name, c.name, m.Dir, m.Vector, m.Data, m.Refusal)
		}
	}
	for _, port := range p.Ports {
		if got := proto.Default.Lookup(client, port); got == nil || got.Name != p.Name {
			t.Errorf("the default table gives %v for port %d, want %s", got, port, p.Name)
		}
	}
}

// cat joins byte slices.
func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// text is s as bytes.
func text(s string) []byte { return []byte(s) }

// zeros is n zero bytes.
func zeros(n int) []byte { return make([]byte, n) }
