package detect

import (
	"encoding/binary"
	"math/bits"
)

// doorkeeper guards a full host table: at the cap a host is admitted, and the least recent
// one evicted for it, only when its address comes back after a first packet. This is the
// admission filter of TinyLFU (Einziger, Friedman and Manes, ACM Transactions on Storage
// 13(4), 2017). A storm of forged sources, each seen once, then costs one probe of a small
// filter per packet instead of a map miss, an eviction and two insertions on tables too big
// for the caches, and it cannot flush from the table the hosts that are really active. The
// other side's totals count every packet either way; a client turned away is not counted
// among its server's peers (victims) until it comes back.
//
// doorkeeper is a blocked Bloom filter: two bits in one 64-bit word per address. Every host
// in the table is marked in it, so an address it does not know is certainly not in the
// table and needs no map lookup. It is cleared when a quarter of its bits are set, which
// keeps false admissions below 1 in 16 (about 1 in 35 on `make bench`'s attack capture),
// and the hosts of the table are marked again at once.
type doorkeeper struct {
	words []uint64
	set   int
}

// doorkeeperWords sizes the filter: 2^22 bits, 512 KiB, which stays in a core's cache and
// is cleared about every 500,000 new addresses.
const doorkeeperWords = 1 << 16

func newDoorkeeper() doorkeeper {
	return doorkeeper{words: make([]uint64, doorkeeperWords)}
}

// probe returns k's word and its two bits in it.
func (d *doorkeeper) probe(k hostSlot) (w *uint64, m uint64) {
	b := k.a
	hi, lo := bits.Mul64(binary.BigEndian.Uint64(b[:8])^0x9e3779b97f4a7c15^uint64(k.proto)<<56^uint64(k.port)<<40,
		binary.BigEndian.Uint64(b[8:])^0xc2b2ae3d27d4eb4f)
	h := hi ^ lo
	return &d.words[h&(doorkeeperWords-1)], 1<<(h>>52&63) | 1<<(h>>58)
}

// has reports whether k may have been marked since the last clearing.
func (d *doorkeeper) has(k hostSlot) bool {
	w, m := d.probe(k)
	return *w&m == m
}

// mark records k, and reports whether the filter is now full and must be cleared.
func (d *doorkeeper) mark(k hostSlot) (full bool) {
	w, m := d.probe(k)
	return d.set1(w, m)
}

func (d *doorkeeper) set1(w *uint64, m uint64) (full bool) {
	d.set += bits.OnesCount64(m &^ *w)
	*w |= m
	return d.set >= doorkeeperWords*64/4
}

// admit reports whether a host for a may enter the full host table, evicting another; it
// is false, and a is remembered, when the doorkeeper does not know a, which is then not in
// the table either.
func (e *Engine) admit(a hostSlot) bool {
	w, m := e.door.probe(a)
	if *w&m == m {
		return true
	}
	e.hosts.stat.Deferred++
	if e.door.set1(w, m) {
		e.refill()
		e.door.mark(a) // a's second packet must find it
	}
	return false
}

// remember marks a, which has just entered the host table, in the doorkeeper.
func (e *Engine) remember(a hostSlot) {
	if e.door.mark(a) {
		e.refill()
	}
}

// refill clears the full doorkeeper and marks the hosts of the table again, so that every
// one of them stays known. The addresses deferred since the last clearing are forgotten.
func (e *Engine) refill() {
	clear(e.door.words)
	e.door.set = 0
	e.hosts.entries(func(h *host) { // in memory order: cheaper than the list or the index
		if h.key.addr.IsValid() {
			e.door.mark(h.key.slot())
		}
	})
}
