package detect

import (
	"math/rand/v2"
	"net/netip"
	"testing"
)

// TestIndexAgreesWithAMap runs random insertions and removals on an index and on a Go map
// side by side, with few enough keys that runs of slots wrap around the end of the array and
// deletions shift entries back across it, and many enough that it grows: every key must be
// found exactly when the map has it.
func TestIndexAgreesWithAMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	x := newIndex[hostSlot, host, *host]()
	m := map[hostSlot]*host{}
	keys := make([]hostKey, 3000)
	for i := range keys {
		var a [16]byte
		a[0], a[15] = byte(i), byte(i>>8)
		addr := netip.AddrFrom16(a)
		if i%3 == 0 {
			addr = netip.AddrFrom4([4]byte{192, 0, byte(i >> 8), byte(i)})
		}
		keys[i] = hostKey{addr, uint8(i % 2), 0}
	}
	for step := range 200_000 {
		n := 40
		if step > 100_000 {
			n = len(keys) // grow
		}
		k := keys[rng.IntN(n)]
		s := k.slot()
		if h, ok := m[s]; ok {
			if x.get(s) != h {
				t.Fatalf("step %d: %v not found", step, k)
			}
			if rng.IntN(2) == 0 {
				x.remove(s, h)
				delete(m, s)
			}
		} else {
			if x.get(s) != nil {
				t.Fatalf("step %d: %v found after its removal", step, k)
			}
			h := &host{key: k}
			x.insert(s, h)
			m[s] = h
		}
		if x.n != len(m) {
			t.Fatalf("step %d: %d entries, want %d", step, x.n, len(m))
		}
	}
	for _, k := range keys {
		if h := m[k.slot()]; x.get(k.slot()) != h {
			t.Fatalf("%v: %p, want %p", k, x.get(k.slot()), h)
		}
	}
	seen := 0
	x.each(func(h *host) {
		if m[h.key.slot()] != h {
			t.Fatalf("each: %v is not in the map", h.key)
		}
		seen++
	})
	if seen != len(m) {
		t.Errorf("each saw %d entries, want %d", seen, len(m))
	}
}

// TestSlotsDistinguishKeys: keys that differ in any field, an IPv4 address and its IPv4-mapped
// IPv6 form included, have different slots and different hashes.
func TestSlotsDistinguishKeys(t *testing.T) {
	a4, a6 := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("::ffff:192.0.2.1")
	seed := [2]uint64{1, 2}
	hosts := []hostKey{{a4, 1, 0}, {a6, 1, 0}, {a4, 2, 0}, {a4, 1, 427}}
	for i, a := range hosts {
		for _, b := range hosts[i+1:] {
			if a.slot() == b.slot() || a.slot().hash(&seed) == b.slot().hash(&seed) {
				t.Errorf("%v and %v share a slot or a hash", a, b)
			}
		}
	}
	b := netip.MustParseAddr("2001:db8::1")
	pairs := []pairKey{{a4, b, 1, 0}, {a6, b, 1, 0}, {b, a4, 1, 0}, {a4, b, 2, 0}, {a4, b, 1, 427}}
	for i, p := range pairs {
		for _, q := range pairs[i+1:] {
			if p.slot() == q.slot() || p.slot().hash(&seed) == q.slot().hash(&seed) {
				t.Errorf("%v and %v share a slot or a hash", p, q)
			}
		}
	}
}
