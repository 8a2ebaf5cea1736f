package decode

import "github.com/ntpwatch/ntpwatch/decode/proto"

// DefaultFragmentCap is the number of fragmented datagrams a Decoder remembers. Fragmented UDP
// is rare (monlist replies are 482-byte frames), so a few thousand entries cover normal traffic
// while bounding what a flood of forged first fragments can hold: about 100 KiB.
const DefaultFragmentCap = 4096

// fragKey names one IP datagram (RFC 791 section 3.2, RFC 8200 section 4.5): source,
// destination, identification and protocol. IPv4 addresses fill the first 4 bytes.
type fragKey struct {
	src, dst [16]byte
	id       uint32
	proto    uint8
	v6       bool
}

func newFragKey(src, dst []byte, id uint32, proto uint8) fragKey {
	k := fragKey{id: id, proto: proto, v6: len(src) == 16}
	copy(k.src[:], src)
	copy(k.dst[:], dst)
	return k
}

// fragEntry is what the first fragment told of its datagram: its ports, its protocol and the
// classifier's verdict, which the datagram's other fragments carry too, and how many bytes of
// its UDP payload are still to come.
type fragEntry struct {
	sport, dport uint16
	proto        *proto.Protocol // nil for a datagram on no port of the protocol table
	dir          proto.Dir
	vector       int8
	data         bool
	refusal      bool
	left         uint32 // UDP payload bytes not yet carried: a fragment never counts beyond them
	seq          uint64 // insertion number, to tell a live ring slot from a reused key
}

// fragTable maps datagrams whose first fragment was seen to their ports. It is capped: the
// ring remembers insertion order, and inserting into a full ring evicts the oldest datagram
// still present (counted in Stats.FragmentEvictions). An entry leaves when its last fragment
// (MF clear) is seen; fragments after that, like ones whose first fragment was never seen, are
// orphans.
type fragTable struct {
	m         map[fragKey]fragEntry
	ring      []ringSlot
	next      uint64
	evictions uint64
}

type ringSlot struct {
	key fragKey
	seq uint64
}

func newFragTable(n int) fragTable {
	if n < 1 {
		n = 1
	}
	return fragTable{m: make(map[fragKey]fragEntry, n), ring: make([]ringSlot, n)}
}

func (t *fragTable) add(k fragKey, e fragEntry) {
	t.next++
	slot := &t.ring[t.next%uint64(len(t.ring))]
	if old, ok := t.m[slot.key]; ok && old.seq == slot.seq {
		delete(t.m, slot.key)
		t.evictions++
	}
	*slot = ringSlot{key: k, seq: t.next}
	e.seq = t.next
	t.m[k] = e
}

// carry finds the datagram of a non-first fragment holding n bytes of its payload, takes
// those bytes (at most what is left of the datagram, so that overlapping or repeated
// fragments never count a byte twice) and forgets the datagram when this is its last
// fragment. It returns the entry and the bytes taken.
func (t *fragTable) carry(k fragKey, n int, more bool) (fragEntry, uint32, bool) {
	e, ok := t.m[k]
	if !ok {
		return e, 0, false
	}
	took := min(uint32(max(n, 0)), e.left)
	e.left -= took
	if more {
		t.m[k] = e
	} else {
		delete(t.m, k)
	}
	return e, took, true
}
