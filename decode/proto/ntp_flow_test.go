package proto

import "testing"

// TestClassifyNTPFlow: flow records are judged by their mean payload size, the sizes of real
// traffic: attack tools' 8-byte monlist requests and mode 6's 12-byte ones are requests,
// time service's 48-byte packets (68 and 72 with a MAC) take no part, full monlist replies
// (440 bytes) and mode 6 READVAR fragments (480) carry data, an NTS reply (about 230 bytes)
// does not.
func TestClassifyNTPFlow(t *testing.T) {
	for _, c := range []struct {
		what         string
		sport, dport uint16
		size         int
		dir          Dir
		data         bool
	}{
		{"monlist request of an attack tool", 40000, 123, 8, DirRequest, false},
		{"mode 6 READVAR request", 40000, 123, 12, DirRequest, false},
		{"mode 3 client request", 40000, 123, 48, DirNone, false},
		{"nmap's 48-byte monlist probe", 40000, 123, 48, DirNone, false},
		{"ntpdc's 192-byte request", 40000, 123, 192, DirNone, false},
		{"mode 4 reply", 123, 40000, 48, DirNone, false},
		{"mode 4 reply with a SHA-1 MAC", 123, 40000, 72, DirNone, false},
		{"NTS reply", 123, 40000, 228, DirNone, false},
		{"full monlist reply", 123, 40000, 440, DirResponse, true},
		{"a monlist reply series with its short last packet", 123, 40000, 437, DirResponse, true},
		{"mode 6 READVAR reply fragments", 123, 40000, 480, DirResponse, true},
		{"symmetric peers", 123, 123, 8, DirNone, false},
		{"symmetric peers, large", 123, 123, 440, DirNone, false},
	} {
		f := Flow{SrcPort: c.sport, DstPort: c.dport, PayloadLen: c.size}
		NTPProtocol.ClassifyFlow(&f)
		if f.Dir != c.dir || f.Data != c.data {
			t.Errorf("%s (%d -> %d, %d bytes): dir %d data %v, want %d %v", c.what, c.sport, c.dport, c.size, f.Dir, f.Data, c.dir, c.data)
		}
	}
	if got := NTPProtocol.VectorName(VectorUnknown); got != "unknown" {
		t.Errorf("VectorName(VectorUnknown) = %q", got)
	}
}
