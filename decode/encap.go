package decode

import "strconv"

// EncapKind is a header that carries the datagram's IP packet: a VLAN tag, a tunnel, a mirror
// encapsulation. The decoder walks them to the innermost IP packet, whose addresses detection
// uses, and records the way in Packet.Encap.
type EncapKind uint8

// Encapsulations, in the order the summary and the metrics list them. The ones marked unread
// are recognised but not walked: a frame that reaches one counts under
// ProblemUnsupportedEncap.
const (
	EncapVLAN    EncapKind = iota // IEEE 802.1Q or 802.1ad tag; id: the VLAN id
	EncapPPPoE                    // PPPoE session (RFC 2516); id: the session id
	EncapMPLS                     // one MPLS label (RFC 3032); id: the label
	EncapPW                       // MPLS pseudowire control word (RFC 4385), an Ethernet frame follows
	EncapGRE                      // GRE (RFC 2784, 2890) or PPTP's enhanced GRE (RFC 2637); id: the key, when present
	EncapERSPAN                   // Cisco ERSPAN type I, II or III in GRE; id: the session id of types II and III
	EncapVXLAN                    // VXLAN (RFC 7348), UDP port 4789; id: the VNI
	EncapGeneve                   // Geneve (RFC 8926), UDP port 6081; id: the VNI
	EncapGTPU                     // GTP-U (3GPP TS 29.281), UDP port 2152; id: the TEID
	EncapIPIP                     // IPv4 in IP (IP protocol 4, RFC 2003)
	EncapIP6IP                    // IPv6 in IP (IP protocol 41, RFC 4213 over IPv4, RFC 2473 over IPv6)
	EncapEtherIP                  // EtherIP (IP protocol 97, RFC 3378): unread
	numEncaps
)

var encapNames = [numEncaps]string{
	EncapVLAN: "vlan", EncapPPPoE: "pppoe", EncapMPLS: "mpls", EncapPW: "pw", EncapGRE: "gre",
	EncapERSPAN: "erspan", EncapVXLAN: "vxlan", EncapGeneve: "geneve", EncapGTPU: "gtpu",
	EncapIPIP: "ipip", EncapIP6IP: "ip6ip", EncapEtherIP: "etherip",
}

// String is the kind's name in the NTP log, the summary and the metric labels.
func (k EncapKind) String() string {
	if k < numEncaps {
		return encapNames[k]
	}
	return "unknown"
}

// EncapKinds lists every kind, in order, for summaries and metrics.
func EncapKinds() []EncapKind {
	ks := make([]EncapKind, numEncaps)
	for i := range ks {
		ks[i] = EncapKind(i)
	}
	return ks
}

// MaxTunnelDepth bounds the tunnels walked in one frame (VLAN tags and the labels of one MPLS
// stack beyond the first are not counted), so that a crafted frame of tunnels nested in
// tunnels cannot make the decoder recurse long. Deeper frames count under
// ProblemTunnelDepth.
const MaxTunnelDepth = 4

// MaxEncap is how many headers Packet.Encap records; a frame with more records the outermost
// ones.
const MaxEncap = 8

// Encap is the headers a frame's IP packet was found in, outermost first. It is a fixed-size
// value, so that Packet holds no slice.
type Encap struct {
	n     uint8
	hasID uint8 // bit i: ids[i] is set
	kinds [MaxEncap]EncapKind
	ids   [MaxEncap]uint32
}

// Len is the number of headers recorded.
func (e *Encap) Len() int { return int(e.n) }

// At returns the i-th header from the outside: its kind, and its id (VLAN id, label, VNI...)
// when ok.
func (e *Encap) At(i int) (k EncapKind, id uint32, ok bool) {
	return e.kinds[i], e.ids[i], e.hasID&(1<<i) != 0
}

// push records a header; beyond MaxEncap it is dropped.
func (e *Encap) push(k EncapKind, id uint32, hasID bool) {
	if e.n >= MaxEncap {
		return
	}
	e.kinds[e.n], e.ids[e.n] = k, id
	if hasID {
		e.hasID |= 1 << e.n
	}
	e.n++
}

// AppendJSON appends the headers as a JSON array of "kind" or "kind:id" strings, outermost
// first ("vlan:100", "gre", "vxlan:42"), or null when there are none.
func (e *Encap) AppendJSON(buf []byte) []byte {
	if e.n == 0 {
		return append(buf, "null"...)
	}
	buf = append(buf, '[')
	for i := range int(e.n) {
		if i > 0 {
			buf = append(buf, ',')
		}
		k, id, ok := e.At(i)
		buf = append(buf, '"')
		buf = append(buf, k.String()...)
		if ok {
			buf = append(buf, ':')
			buf = strconv.AppendUint(buf, uint64(id), 10)
		}
		buf = append(buf, '"')
	}
	return append(buf, ']')
}
