package report

import (
	"cmp"
	"math"
	"net/netip"
	"slices"
	"time"

	"github.com/ntpwatch/ntpwatch/detect"
)

// maxAttackPoints bounds an attack's timeline: its buckets are as wide as it takes to cover
// the attack with this many at most.
const maxAttackPoints = 64

// attackSteps are the widths an attack's buckets may have, in seconds.
var attackSteps = []int64{1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 86400}

// attackSummary is one victim hit through several protocols at once: the attacks that
// combine NTP with DNS, CharGEN and memcached against one target. Each protocol keeps its own
// incident in the alert stream (a victim_flood of the victim; or, where the sensor sees the
// reflectors rather than the victim, a reflection whose first victim it is); the summary
// joins those whose time spans overlap, so that the analyst sees one attack, its total rate,
// and each protocol's share of it over time.
type attackSummary struct {
	Victim    netip.Addr       `json:"victim"`
	First     time.Time        `json:"first_seen"`
	Last      time.Time        `json:"last_seen"`
	Duration  float64          `json:"duration_seconds"`
	Protocols []attackProtocol `json:"protocols"` // by wire bytes, the largest first
	// Responses are the replies of its incidents; WireBytes their wire bytes, from the
	// incidents' timelines; PeakBPS the highest wire bit rate of all the protocols together
	// over a bucket of Timeline.
	Responses counterJSON   `json:"responses"`
	WireBytes uint64        `json:"wire_bytes"`
	PeakBPS   float64       `json:"peak_bps"`
	Timeline  []attackPoint `json:"timeline"`
}

// attackProtocol is one protocol's part in an attack.
type attackProtocol struct {
	Protocol   string      `json:"protocol"`
	Incidents  []string    `json:"incidents"`  // the ids of its incidents
	Reflectors int         `json:"reflectors"` // the reflectors its incidents counted
	Responses  counterJSON `json:"responses"`
	WireBytes  uint64      `json:"wire_bytes"`
	Share      float64     `json:"share"` // of the attack's wire bytes, 0 to 1
}

// attackPoint is one bucket of an attack's timeline: the wire bytes of the replies of each
// protocol in [From, To).
type attackPoint struct {
	From      time.Time         `json:"from"`
	To        time.Time         `json:"to"`
	WireBytes map[string]uint64 `json:"wire_bytes"` // by protocol, the ones with traffic
}

// attackMember is an incident that is part of an attack: its victim and its replies.
type attackMember struct {
	victim netip.Addr
	in     *detect.IncidentSummary
}

// attacks finds the victims hit through several protocols at once among incs: the
// victim_flood incidents by their subject, and the reflection incidents by their first
// victim for the protocols that have no victim_flood of that victim (a sensor by the
// reflectors), joined while their time spans overlap, when they are of two protocols or more.
func attacks(incs []detect.IncidentSummary) []attackSummary {
	type key struct {
		victim   netip.Addr
		protocol string
	}
	flooded := map[key]bool{}
	for i := range incs {
		if incs[i].Kind == detect.KindVictimFlood {
			flooded[key{incs[i].Subject, incs[i].Protocol}] = true
		}
	}
	var members []attackMember
	for i := range incs {
		in := &incs[i]
		switch {
		case in.Kind == detect.KindVictimFlood:
			members = append(members, attackMember{in.Subject, in})
		case in.Kind == detect.KindReflection && len(in.Top) > 0 && !flooded[key{in.Top[0].Addr, in.Protocol}]:
			members = append(members, attackMember{in.Top[0].Addr, in})
		}
	}
	slices.SortStableFunc(members, func(a, b attackMember) int {
		return cmp.Or(a.victim.Compare(b.victim), a.in.FirstSeen.Compare(b.in.FirstSeen))
	})
	out := []attackSummary{}
	for i := 0; i < len(members); {
		j, last := i+1, members[i].in.LastSeen
		for j < len(members) && members[j].victim == members[i].victim && !members[j].in.FirstSeen.After(last) {
			if members[j].in.LastSeen.After(last) {
				last = members[j].in.LastSeen
			}
			j++
		}
		if a, ok := newAttack(members[i:j]); ok {
			out = append(out, a)
		}
		i = j
	}
	slices.SortStableFunc(out, func(a, b attackSummary) int { return a.First.Compare(b.First) })
	return out
}

// newAttack sums the incidents of one victim into an attack; ok is false when they are all of
// one protocol.
func newAttack(ms []attackMember) (attackSummary, bool) {
	a := attackSummary{Victim: ms[0].victim, First: ms[0].in.FirstSeen, Last: ms[0].in.LastSeen}
	byName := map[string]*attackProtocol{}
	var order []string
	for _, m := range ms {
		in := m.in
		p := byName[in.Protocol]
		if p == nil {
			p = &attackProtocol{Protocol: in.Protocol}
			byName[in.Protocol] = p
			order = append(order, in.Protocol)
		}
		p.Incidents = append(p.Incidents, in.ID)
		if in.Kind == detect.KindReflection {
			p.Reflectors++ // a reflection's subject is the reflector; its peers are victims
		} else {
			p.Reflectors += in.Peers
		}
		p.Responses.Packets += in.Responses.Packets
		p.Responses.Bytes += in.Responses.Bytes
		if in.FirstSeen.Before(a.First) {
			a.First = in.FirstSeen
		}
		if in.LastSeen.After(a.Last) {
			a.Last = in.LastSeen
		}
	}
	if len(order) < 2 {
		return a, false
	}
	a.Duration = a.Last.Sub(a.First).Seconds()
	a.Timeline = attackTimeline(ms, a.First, a.Last)
	var total uint64
	for _, pt := range a.Timeline {
		var sum uint64
		for name, n := range pt.WireBytes {
			byName[name].WireBytes += n
			sum += n
		}
		total += sum
		a.PeakBPS = max(a.PeakBPS, float64(sum*8)/pt.To.Sub(pt.From).Seconds())
	}
	for _, name := range order {
		p := byName[name]
		if total > 0 {
			p.Share = math.Round(float64(p.WireBytes)/float64(total)*1000) / 1000
		}
		a.Protocols = append(a.Protocols, *p)
		a.Responses.Packets += p.Responses.Packets
		a.Responses.Bytes += p.Responses.Bytes
	}
	a.WireBytes = total
	slices.SortStableFunc(a.Protocols, func(x, y attackProtocol) int {
		return cmp.Or(cmpDesc(x.WireBytes, y.WireBytes), cmp.Compare(x.Protocol, y.Protocol))
	})
	return a, true
}

// attackTimeline lays the reply timelines of the attack's incidents on one grid from first to
// last: buckets of the narrowest width of attackSteps that covers the span with
// maxAttackPoints, from first's second. A point of an incident's timeline that spans several
// buckets (the average before its series began, or its wider buckets) is spread over them
// in proportion to the time it shares with each.
func attackTimeline(ms []attackMember, first, last time.Time) []attackPoint {
	start, end := first.Unix(), last.Unix()+1
	step := attackSteps[len(attackSteps)-1]
	for _, s := range attackSteps {
		if (end-start+s-1)/s <= maxAttackPoints {
			step = s
			break
		}
	}
	n := int((end - start + step - 1) / step)
	buckets := make([]map[string]float64, n)
	for i := range buckets {
		buckets[i] = map[string]float64{}
	}
	for _, m := range ms {
		for _, pt := range m.in.Timeline {
			from, to := float64(pt.From.UnixNano())/1e9, float64(pt.To.UnixNano())/1e9
			if pt.ResponseBytes == 0 || to <= from {
				continue
			}
			for i := range buckets {
				lo := max(from, float64(start+int64(i)*step))
				hi := min(to, float64(start+int64(i+1)*step))
				if hi > lo {
					buckets[i][m.in.Protocol] += float64(pt.ResponseBytes) * (hi - lo) / (to - from)
				}
			}
		}
	}
	out := make([]attackPoint, n)
	for i, b := range buckets {
		from := time.Unix(start+int64(i)*step, 0).UTC()
		out[i] = attackPoint{From: from, To: from.Add(time.Duration(step) * time.Second), WireBytes: map[string]uint64{}}
		for name, v := range b {
			if r := uint64(math.Round(v)); r > 0 {
				out[i].WireBytes[name] = r
			}
		}
	}
	return out
}
