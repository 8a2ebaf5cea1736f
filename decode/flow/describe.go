package flow

import (
	"maps"
	"slices"
	"strconv"
	"strings"
)

// Empty reports whether a run read no export datagram at all, valid or not; a nil Stats is
// empty.
func (fs *Stats) Empty() bool {
	if fs == nil {
		return true
	}
	for _, e := range fs.Exporters {
		if e.Datagrams > 0 {
			return false
		}
	}
	for _, n := range fs.Invalid {
		if n > 0 {
			return false
		}
	}
	return true
}

// String lists the ports in order, for a sentence: "2055, 4739 or 6343".
func (ports Ports) String() string {
	var ns []string
	for _, p := range slices.Sorted(maps.Keys(ports)) {
		ns = append(ns, strconv.Itoa(int(p)))
	}
	if len(ns) > 1 {
		return strings.Join(ns[:len(ns)-1], ", ") + " or " + ns[len(ns)-1]
	}
	return strings.Join(ns, "")
}
