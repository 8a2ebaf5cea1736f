package detect

import (
	"encoding/binary"
	"math/bits"
	"math/rand/v2"
)

// index finds a table's entries by key. It replaces a Go map, whose lookup at the cap of a
// table too big for the caches costs two cache misses before the entry's own (its control
// word, then its key): here a lookup reads one 16-byte slot, whose 64-bit hash tells a match
// without reading the key, then the entry, which the caller reads anyway. Deleting and
// inserting, which a full table does for every new host, touch the same few slots.
//
// It is open addressing with linear probing over a power-of-two array of slots, kept at most
// half full (it doubles as entries come), with backward-shift deletion, so that no deleted
// slot lingers. The hash is seeded at random for each index: the addresses are the
// attacker's choice, and with a known hash they could be chosen to fall into one run of
// slots.
type index[K slotKey, T any, P tableEntry[K, T]] struct {
	slots []islot[T]
	n     int
	seed  [2]uint64
}

// islot is one slot: the entry and its key's hash; a nil entry is an empty slot.
type islot[T any] struct {
	h uint64
	e *T
}

// slotKey is a key of an index: hostSlot or pairSlot.
type slotKey interface {
	comparable
	hash(seed *[2]uint64) uint64
}

// tableEntry is an entry type of a table: its place in the recency queue, and its key.
type tableEntry[K any, T any] interface {
	*T
	links() *recency[T]
	slot() K
}

// indexMinSlots is the size of an empty index.
const indexMinSlots = 64

func newIndex[K slotKey, T any, P tableEntry[K, T]]() index[K, T, P] {
	return index[K, T, P]{slots: make([]islot[T], indexMinSlots), seed: [2]uint64{rand.Uint64(), rand.Uint64()}}
}

// get returns the entry of k, nil if there is none.
func (x *index[K, T, P]) get(k K) *T {
	h := k.hash(&x.seed)
	mask := uint64(len(x.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		s := &x.slots[i]
		if s.e == nil {
			return nil
		}
		if s.h == h && P(s.e).slot() == k {
			return s.e
		}
	}
}

// insert adds e under k, which must be absent.
func (x *index[K, T, P]) insert(k K, e *T) {
	if 2*(x.n+1) > len(x.slots) {
		x.grow()
	}
	x.place(k.hash(&x.seed), e)
	x.n++
}

// place puts e with hash h into the first empty slot of its run.
func (x *index[K, T, P]) place(h uint64, e *T) {
	mask := uint64(len(x.slots) - 1)
	i := h & mask
	for x.slots[i].e != nil {
		i = (i + 1) & mask
	}
	x.slots[i] = islot[T]{h, e}
}

// grow doubles the slots and places every entry again.
func (x *index[K, T, P]) grow() {
	old := x.slots
	x.slots = make([]islot[T], 2*len(old))
	for _, s := range old {
		if s.e != nil {
			x.place(s.h, s.e)
		}
	}
}

// remove drops e, whose key is k. The entries after it in its run that would be nearer to
// their own place move back into the gap, so that every entry stays reachable from its
// place without a marker for the deleted slot.
func (x *index[K, T, P]) remove(k K, e *T) {
	mask := uint64(len(x.slots) - 1)
	i := k.hash(&x.seed) & mask
	for x.slots[i].e != e {
		if x.slots[i].e == nil {
			return // not there
		}
		i = (i + 1) & mask
	}
	for j := (i + 1) & mask; x.slots[j].e != nil; j = (j + 1) & mask {
		// The entry at j may fill the gap at i when its place is not in (i, j], the run
		// from after the gap to itself: going back to i keeps it after its place.
		if home := x.slots[j].h & mask; (j-home)&mask >= (j-i)&mask {
			x.slots[i] = x.slots[j]
			i = j
		}
	}
	x.slots[i] = islot[T]{}
	x.n--
}

// each calls f with every entry, in no particular order.
func (x *index[K, T, P]) each(f func(*T)) {
	for _, s := range x.slots {
		if s.e != nil {
			f(s.e)
		}
	}
}

// mix is wyhash's mixing step: the two halves of a 128-bit product folded.
func mix(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

func (k hostSlot) hash(seed *[2]uint64) uint64 {
	a, b := binary.LittleEndian.Uint64(k.a[:8]), binary.LittleEndian.Uint64(k.a[8:])
	meta := uint64(k.port) | uint64(k.proto)<<16
	if k.v4 {
		meta |= 1 << 24
	}
	return mix(mix(a^seed[0], b^seed[1])^meta, seed[0]^0x9e3779b97f4a7c15)
}

func (k pairSlot) hash(seed *[2]uint64) uint64 {
	a, b := binary.LittleEndian.Uint64(k.srv[:8]), binary.LittleEndian.Uint64(k.srv[8:])
	c, d := binary.LittleEndian.Uint64(k.cli[:8]), binary.LittleEndian.Uint64(k.cli[8:])
	meta := uint64(k.port) | uint64(k.proto)<<16 | uint64(k.v4)<<24
	return mix(mix(a^seed[0], b^seed[1])^mix(c^seed[1], d^seed[0])^meta, seed[0]^0x9e3779b97f4a7c15)
}
