package fleet

import (
	"cmp"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"time"

	"github.com/axiomhq/hyperloglog"
	"github.com/ntpwatch/ntpwatch/detect"
)

// subjectKey names a subject: an address in one protocol, as a server or as a client, as a
// sensor's host role.
type subjectKey struct {
	addr  netip.Addr
	proto string
	role  detect.Role
}

func (k subjectKey) compare(o subjectKey) int {
	if c := k.addr.Compare(o.addr); c != 0 {
		return c
	}
	if c := cmp.Compare(k.proto, o.proto); c != 0 {
		return c
	}
	return cmp.Compare(k.role, o.role)
}

// subject is the fleet's episode of one subject: what every sensor told of it, without a gap
// of idle_timeout, and its incidents.
type subject struct {
	key     subjectKey
	svc     *detect.Service
	contrib map[string]*contribution // by sensor
	// req and resp merge the sketches of every record of the episode: the distinct peers
	// that sent or got a request, and a response, seen by any sensor, each counted once.
	req, resp *hyperloglog.Sketch
	last      int64 // packet time of the latest packet any sensor saw
	// inc holds the open incidents, by the index of their kind in key.role.Kinds().
	inc [2]*incident
}

// contribution is what one sensor told of a subject: its latest record of its episode (a
// later record of the same episode replaces it: the figures are cumulative), and the totals
// of its earlier episodes within the fleet's.
type contribution struct {
	group       string
	run, seq    uint64
	first, last int64 // the sensor's episode
	since       int64 // the first packet of its earliest episode within the fleet's
	off         int64 // the offset of the latest record
	window      int64 // the start of the latest record's window
	fig, ended  detect.Figures
	topResp     []detect.Responder
	topReq      []detect.HostStat
}

// incident is an open fleet incident.
type incident struct {
	id       string
	kind     detect.Kind
	window   int64 // the start of the window its episode began in, which its id hashes
	lastEmit int64 // the time of its latest event
	seenAt   int64 // the subject's latest packet at that event
}

func (sj *subject) open() bool { return sj.inc[0] != nil || sj.inc[1] != nil }

// group is the group of a sensor: its own name when it is in none.
func (a *Aggregator) group(sensor string) string {
	if g, ok := a.cfg.Groups[sensor]; ok {
		return "group " + g
	}
	return "sensor " + sensor
}

// apply counts a record in its subject: it replaces its sensor's earlier record of the same
// episode (at-least-once delivery never counts a record twice), adds its peers to the
// subject's sketches, and begins a new fleet episode when the subject was idle.
func (a *Aggregator) apply(pt *partition, off int64, ev *detect.Evidence) {
	k := subjectKey{ev.Subject, ev.Protocol, ev.Role}
	first, last := ev.First.UnixNano(), ev.Last.UnixNano()
	sj := pt.subjects[k]
	if sj != nil && first >= sj.last+a.idle {
		a.endSubject(sj, sj.last+a.idle)
		a.drop(pt, k)
		sj = nil
	}
	if sj == nil {
		svc := a.service(ev.Protocol)
		if svc == nil {
			a.stats.Foreign++
			a.notice(fmt.Sprintf("sensor %s: evidence of protocol %q, which this aggregator does not know: refused", ev.Sensor, ev.Protocol))
			return
		}
		if a.stats.Subjects >= a.cfg.MaxSubjects {
			a.stats.Refused++
			return
		}
		sj = &subject{key: k, svc: svc, contrib: map[string]*contribution{}, last: last}
		pt.subjects[k] = sj
		a.stats.Subjects++
	}
	c := sj.contrib[ev.Sensor]
	switch {
	case c == nil:
		c = &contribution{group: a.group(ev.Sensor), since: first}
		sj.contrib[ev.Sensor] = c
	case first < c.first:
		a.stats.Replaced++ // an episode the sensor ended already
		return
	case first > c.first:
		total(&c.ended, &c.fig) // the sensor's episode ended within the fleet's: keep its totals
		c.fig = detect.Figures{}
	case ev.Run < c.run || ev.Run == c.run && ev.Seq <= c.seq:
		a.stats.Replaced++ // this record again, or one that a later one replaced
		return
	}
	c.run, c.seq, c.first, c.last, c.off, c.window = ev.Run, ev.Seq, first, last, off, ev.WindowStart.UnixNano()
	c.fig, c.topResp, c.topReq = ev.Figures, ev.TopResponses, ev.TopRequests
	if err := sj.merge(ev); err != nil {
		a.notice(fmt.Sprintf("sensor %s: the sketch of %s: %v (its distinct counts are left out)", ev.Sensor, ev.Subject, err))
	}
	sj.last = max(sj.last, last)
}

// merge adds the record's sketches to the subject's.
func (sj *subject) merge(ev *detect.Evidence) error {
	for _, s := range []struct {
		b  []byte
		sk **hyperloglog.Sketch
	}{{ev.RequestSketch, &sj.req}, {ev.ResponseSketch, &sj.resp}} {
		if len(s.b) == 0 {
			continue
		}
		var sk hyperloglog.Sketch
		if err := sk.UnmarshalBinary(s.b); err != nil {
			return err
		}
		if *s.sk == nil {
			*s.sk = detect.NewSketch()
		}
		if err := (*s.sk).Merge(&sk); err != nil {
			return err
		}
	}
	ev.RequestSketch, ev.ResponseSketch = nil, nil // merged: the record need not keep them
	return nil
}

// total adds the cumulative figures of src to dst: the counters, not the windows or the
// distinct counts.
func total(dst, src *detect.Figures) {
	dst.Requests.Packets += src.Requests.Packets
	dst.Requests.Bytes += src.Requests.Bytes
	dst.Responses.Packets += src.Responses.Packets
	dst.Responses.Bytes += src.Responses.Bytes
	dst.WireBytes += src.WireBytes
	dst.DataPeers += src.DataPeers
	dst.Samples += src.Samples
	dst.PeakBPS += src.PeakBPS
	dst.PeakPPS += src.PeakPPS
	for v := range dst.VectorBytes {
		dst.VectorBytes[v] += src.VectorBytes[v]
	}
}

// largest keeps in dst, field by field, the larger of dst and src: two taps of one link saw
// the same traffic, and the one that missed less saw the most.
func largest(dst, src *detect.Figures) {
	dst.Requests.Packets = max(dst.Requests.Packets, src.Requests.Packets)
	dst.Requests.Bytes = max(dst.Requests.Bytes, src.Requests.Bytes)
	dst.Responses.Packets = max(dst.Responses.Packets, src.Responses.Packets)
	dst.Responses.Bytes = max(dst.Responses.Bytes, src.Responses.Bytes)
	dst.WireBytes = max(dst.WireBytes, src.WireBytes)
	dst.WindowResponseBytes = max(dst.WindowResponseBytes, src.WindowResponseBytes)
	dst.WindowRequests = max(dst.WindowRequests, src.WindowRequests)
	dst.DataPeers = max(dst.DataPeers, src.DataPeers)
	dst.Samples = max(dst.Samples, src.Samples)
	dst.PeakBPS = max(dst.PeakBPS, src.PeakBPS)
	dst.PeakPPS = max(dst.PeakPPS, src.PeakPPS)
	for v := range dst.VectorBytes {
		dst.VectorBytes[v] = max(dst.VectorBytes[v], src.VectorBytes[v])
	}
}

// figures are the fleet's figures of the subject for the window starting at start: each
// group's the largest of its sensors', the groups' added up. A sensor's window figures count
// when its latest record is of that window. The distinct counts come from the merged
// sketches, never below what one sensor counted exactly. Peak rates are the sum of the
// groups' peaks, which may lie in different seconds: an upper bound.
func (a *Aggregator) figures(sj *subject, start int64) detect.Figures {
	groups := map[string]*detect.Figures{}
	var most detect.Figures // the largest distinct counts of one sensor
	for _, name := range slices.Sorted(maps.Keys(sj.contrib)) {
		c := sj.contrib[name]
		f := c.ended
		total(&f, &c.fig)
		if c.window == start {
			f.WindowResponseBytes, f.WindowRequests = c.fig.WindowResponseBytes, c.fig.WindowRequests
		}
		most.Peers = max(most.Peers, c.fig.Peers)
		most.RequestPeers = max(most.RequestPeers, c.fig.RequestPeers)
		most.ResponsePeers = max(most.ResponsePeers, c.fig.ResponsePeers)
		if g := groups[c.group]; g != nil {
			largest(g, &f)
		} else {
			groups[c.group] = &f
		}
	}
	var t detect.Figures
	for _, g := range slices.Sorted(maps.Keys(groups)) {
		f := groups[g]
		total(&t, f)
		t.WindowResponseBytes += f.WindowResponseBytes
		t.WindowRequests += f.WindowRequests
	}
	t.RequestPeers = max(most.RequestPeers, estimate(sj.req))
	t.ResponsePeers = max(most.ResponsePeers, estimate(sj.resp))
	t.Peers = max(most.Peers, t.RequestPeers, t.ResponsePeers)
	if sj.req != nil && sj.resp != nil {
		u := sj.req.Clone()
		if u.Merge(sj.resp) == nil {
			t.Peers = max(t.Peers, estimate(u))
		}
	}
	return t
}

func estimate(sk *hyperloglog.Sketch) int {
	if sk == nil {
		return 0
	}
	return int(sk.Estimate())
}

// heard reports whether a sensor told of the subject in the window starting at start.
func (sj *subject) heard(start int64) bool {
	for _, c := range sj.contrib {
		if c.window == start {
			return true
		}
	}
	return false
}

// since is the first packet of the fleet's episode: the earliest of its sensors'.
func (sj *subject) since() int64 {
	first := sj.last
	for _, c := range sj.contrib {
		first = min(first, c.since)
	}
	return first
}

// judge starts the incidents whose thresholds the subject's figures of the window ending at
// end cross, and updates the open ones that are due.
func (a *Aggregator) judge(sj *subject, end int64) {
	start := end - a.window
	var f *detect.Figures
	for i, k := range sj.key.role.Kinds() {
		in := sj.inc[i]
		switch {
		case in == nil:
			if !sj.heard(start) {
				continue // only evidence of this window may start an incident in it
			}
			if sj.svc.Proto.Fallback && k != detect.KindVictimFlood {
				continue // of the fallback's traffic only a flood of replies tells anything, as on a sensor
			}
			if f == nil {
				x := a.figures(sj, start)
				f = &x
			}
			if !a.cfg.Detect.Crosses(k, f, sj.svc.Lim) {
				continue
			}
			w := windowOf(sj.since(), a.window)
			in = &incident{id: detect.FleetIncidentID(k, sj.key.proto, sj.key.addr, time.Unix(0, w)), kind: k, window: w}
			sj.inc[i] = in
			a.stats.Incidents++
			a.event(sj, in, detect.StateStart, end, f)
		case end-in.lastEmit >= a.update && sj.last > in.seenAt:
			if f == nil {
				x := a.figures(sj, start)
				f = &x
			}
			a.event(sj, in, detect.StateUpdate, end, f)
		}
	}
}

// endSubject ends the subject's open incidents at ts.
func (a *Aggregator) endSubject(sj *subject, ts int64) {
	if !sj.open() {
		return
	}
	f := a.figures(sj, 0)
	for i, in := range sj.inc {
		if in != nil {
			a.event(sj, in, detect.StateEnd, ts, &f)
			sj.inc[i] = nil
		}
	}
}

// windowOf is the start of the window holding t.
func windowOf(t, window int64) int64 {
	s := t / window * window
	if s > t {
		s -= window
	}
	return s
}

// event emits an event of in: the figures f of its subject, described by the rules of a
// sensor's alerts, with the subject and its peers where its kind carries them.
func (a *Aggregator) event(sj *subject, in *incident, st detect.State, ts int64, f *detect.Figures) {
	in.lastEmit, in.seenAt = ts, sj.last
	a.stats.Events++
	al := detect.Alert{
		ID: in.id, Kind: in.kind, State: st, TS: time.Unix(0, ts).UTC(),
		FirstSeen: time.Unix(0, sj.since()).UTC(), LastSeen: time.Unix(0, sj.last).UTC(),
		Sensor: a.cfg.Detect.Sensor, Source: a.cfg.Detect.Source,
		Scope: detect.ScopeFleet, Sensors: slices.Sorted(maps.Keys(sj.contrib)),
	}
	a.cfg.Detect.Describe(&al, in.kind, f, sj.svc, a.hasHome)
	subj := sj.key.addr
	var from, to netip.Addr // the attack traffic's direction
	switch in.kind {
	case detect.KindReflection:
		top := a.top(sj, false)
		al.Reflector, al.Victims = subj, detect.HostList{Count: f.Peers, Top: stats(top)}
		al.Victim = first(top)
		from, to = subj, al.Victim
	case detect.KindRequestFlood:
		top := a.top(sj, true)
		al.Reflector, al.Victims = subj, detect.HostList{Count: f.RequestPeers, Top: stats(top)}
		al.Victim = first(top)
		from, to = al.Victim, subj
	case detect.KindVictimFlood:
		top := a.top(sj, false)
		al.Victim, al.Reflectors = subj, detect.HostList{Count: f.ResponsePeers, Top: stats(top)}
		from, to = first(top), subj
	case detect.KindScan:
		top := a.top(sj, false)
		al.Scanner, al.Targets = subj, detect.Targets{Count: f.RequestPeers, Responders: top}
		from, to = subj, first(top)
	}
	if a.hasHome {
		al.Direction = a.cfg.Detect.Direction(from, to)
	}
	a.emit(&al)
}

// top merges the sensors' top lists of the subject's peers, by requests or by responses:
// within a group the largest figures of each peer, across groups their sum, top_n of them.
// A peer counts only where it made a sensor's list: the figures are lower bounds.
func (a *Aggregator) top(sj *subject, byRequests bool) []detect.Responder {
	groups := map[string]map[netip.Addr]detect.Responder{}
	for _, c := range sj.contrib {
		g := groups[c.group]
		if g == nil {
			g = map[netip.Addr]detect.Responder{}
			groups[c.group] = g
		}
		keep := func(r detect.Responder) {
			cur := g[r.Addr]
			g[r.Addr] = detect.Responder{Addr: r.Addr, Amplifier: cur.Amplifier || r.Amplifier,
				Packets: max(cur.Packets, r.Packets), Bytes: max(cur.Bytes, r.Bytes)}
		}
		if byRequests {
			for _, h := range c.topReq {
				keep(detect.Responder{Addr: h.Addr, Packets: h.Packets, Bytes: h.Bytes})
			}
		} else {
			for _, r := range c.topResp {
				keep(r)
			}
		}
	}
	sum := map[netip.Addr]detect.Responder{}
	for _, g := range groups {
		for addr, r := range g {
			cur := sum[addr]
			sum[addr] = detect.Responder{Addr: addr, Amplifier: cur.Amplifier || r.Amplifier,
				Packets: cur.Packets + r.Packets, Bytes: cur.Bytes + r.Bytes}
		}
	}
	out := slices.SortedFunc(maps.Values(sum), func(x, y detect.Responder) int {
		if c := cmp.Compare(y.Bytes, x.Bytes); c != 0 {
			return c
		}
		if c := cmp.Compare(y.Packets, x.Packets); c != 0 {
			return c
		}
		return x.Addr.Compare(y.Addr)
	})
	return out[:min(len(out), a.cfg.Detect.TopN)]
}

func stats(rs []detect.Responder) []detect.HostStat {
	out := make([]detect.HostStat, len(rs))
	for i, r := range rs {
		out[i] = detect.HostStat{Addr: r.Addr, Packets: r.Packets, Bytes: r.Bytes}
	}
	return out
}

func first(rs []detect.Responder) netip.Addr {
	if len(rs) == 0 {
		return netip.Addr{}
	}
	return rs[0].Addr
}
