package detect

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ntpwatch/ntpwatch/decode"
)

// mixedHome is the home net of mixed: the reflector, the flooded server and the scanned
// network are inside.
var mixedHome = []netip.Prefix{homeNet4, netip.MustParsePrefix("198.18.0.0/23")}

// mixed is three seconds of dense traffic holding every kind of incident at once, about
// 14,000 packets a second, in time order:
//   - a reflection: 192.0.2.10 answers a forged 8-byte monlist request from 203.0.113.7
//     every 10 ms with 100 replies (also its exposed_amplifier);
//   - a victim flood: 300 reflectors of 2001:db8:1::/64 send 20 replies each to victim6
//     (and each is an exposed amplifier);
//   - a scan: 198.51.100.66 probes 300 addresses of 198.18.0.0/23, three of which answer
//     with data (exposed amplifiers) and two with err=4;
//   - a request flood: 192.0.2.20 receives 3,000 requests from 250 forged sources and
//     answers every tenth with err=4;
//   - spoofed egress: requests forged from 203.0.113.50 leave for 50 servers, 10 each;
//   - mode 3/4 clients of 192.0.2.10.
func mixed() []decode.Packet { return slices.Clone(mixedPackets()) }

// mixedPackets builds mixed's packets once: encoding and classifying them is most of the
// tests' time under the race detector.
var mixedPackets = sync.OnceValue(func() []decode.Packet {
	var ps []decode.Packet
	for i := range 300 {
		ts := at(time.Duration(i) * 10 * time.Millisecond)
		ps = append(ps, privReq(ts, victim, server, 42, reqPayload))
		for j := range respPerList {
			ps = append(ps, privResp(ts.Add(time.Duration(j+1)*10*time.Microsecond), server, victim, 42, 6, j < respPerList-1))
		}
		c := addr4(198, 51, 100, byte(i%100))
		ps = append(ps, std(ts.Add(5*time.Millisecond), c, server, 3), std(ts.Add(5100*time.Microsecond), server, c, 4))
	}
	for r := range 300 {
		refl := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 1, 14: byte(r >> 8), 15: byte(r)})
		for k := range 20 {
			ts := at(time.Duration(r)*7*time.Millisecond + time.Duration(k)*100*time.Millisecond + 3*time.Microsecond)
			ps = append(ps, privResp(ts, refl, victim6, 42, 6, k < 19))
		}
	}
	for i := range 300 {
		ts := at(time.Duration(i)*10*time.Millisecond + 7*time.Millisecond)
		dst := addr4(198, 18, byte(i/256), byte(i))
		ps = append(ps, privReq(ts, scanner, dst, 42, 48))
		switch i {
		case 17, 120, 250:
			for j := range 7 {
				ps = append(ps, privResp(ts.Add(time.Duration(j+1)*50*time.Microsecond), dst, scanner, 42, 6, j < 6))
			}
		case 33, 34:
			ps = append(ps, noData(ts.Add(200*time.Microsecond), dst, scanner))
		}
	}
	flooded := addr4(192, 0, 2, 20)
	for i := range 3000 {
		ts := at(time.Duration(i)*time.Millisecond + 500*time.Microsecond)
		src := addr4(203, 0, 113, byte(1+i%250))
		ps = append(ps, privReq(ts, src, flooded, 42, reqPayload))
		if i%10 == 0 {
			ps = append(ps, noData(ts.Add(20*time.Microsecond), flooded, src))
		}
	}
	forged := addr4(203, 0, 113, 250)
	for k := range 10 {
		for r := range 50 {
			ts := at(time.Duration(k)*250*time.Millisecond + time.Duration(r)*time.Millisecond + 900*time.Microsecond)
			ps = append(ps, privReq(ts, forged, addr4(198, 51, 100, byte(101+r)), 42, reqPayload))
		}
	}
	slices.SortStableFunc(ps, func(a, b decode.Packet) int { return a.Time.Compare(b.Time) })
	return ps
})

// shuffled returns ps cut into batches of 256 with the batches of every group of group
// consecutive ones in a random order: what the engine sees when capture workers hand over
// their batches as they fill them.
func shuffled(ps []decode.Packet, group int, seed uint64) ([]decode.Packet, time.Duration) {
	rng := rand.New(rand.NewPCG(seed, 12))
	var batches [][]decode.Packet
	for len(ps) > 0 {
		n := min(256, len(ps))
		batches, ps = append(batches, ps[:n]), ps[n:]
	}
	var out []decode.Packet
	var span time.Duration // the widest group: how late a packet can be
	for len(batches) > 0 {
		g := batches[:min(group, len(batches))]
		batches = batches[len(g):]
		last := g[len(g)-1]
		span = max(span, last[len(last)-1].Time.Sub(g[0][0].Time))
		rng.Shuffle(len(g), func(i, j int) { g[i], g[j] = g[j], g[i] })
		for _, b := range g {
			out = append(out, b...)
		}
	}
	return out, span
}

// incidents renders the end events of as, one line each, in an order of their own (kind,
// subject), with or without their ids.
func incidents(as []Alert, ids bool) string {
	var out []string
	for _, a := range as {
		if a.State != StateEnd {
			continue
		}
		if !ids {
			a.ID = ""
		}
		out = append(out, fmt.Sprintf("%s %v %s", a.Kind, a.Subject(), line(a)))
	}
	slices.Sort(out)
	return strings.Join(out, "\n")
}

// starts counts the start events of each incident id.
func starts(as []Alert) map[string]int {
	n := map[string]int{}
	for _, a := range as {
		if a.State == StateStart {
			n[a.ID]++
		}
	}
	return n
}

// TestShuffledBatches: the engine fed the same packets with their batches of 256 in a
// random order within groups of 8 (2,048 packets, about 150 ms here) gives the same
// incidents as in time order: the same kinds and subjects, each started once, and in their
// end events the same counts, peer counts, top lists, rates, severities and times, whatever
// the seed. Only the id may differ: it is derived when the incident starts, from the first
// packet the engine had seen then, and an incident that starts on its first reply (an
// exposed_amplifier) may start before an earlier packet of its episode arrives. The
// pipeline merges its readers' batches in time order, so that its ids are those of the
// capture (internal/pipeline, TestMergedReaders).
func TestShuffledBatches(t *testing.T) {
	cfg := DefaultConfig()
	cfg.HomeNet = mixedHome
	ps := mixed()
	want, _ := run(t, cfg, ps)
	kinds := map[Kind]int{}
	for _, a := range want {
		if a.State == StateEnd {
			kinds[a.Kind]++
		}
	}
	if kinds[KindReflection] != 1 || kinds[KindVictimFlood] != 1 || kinds[KindScan] != 1 || kinds[KindRequestFlood] != 1 ||
		kinds[KindSpoofedEgress] != 1 || kinds[KindExposedAmplifier] != 1+300+3 {
		t.Fatalf("in time order, incidents by kind %v", kinds)
	}
	for seed := range uint64(8) {
		in, span := shuffled(slices.Clone(ps), 8, seed)
		if span >= time.Second {
			t.Fatalf("groups span %v: the peak meters are exact for packets up to a second late only", span)
		}
		got, _ := run(t, cfg, in)
		if g, w := incidents(got, false), incidents(want, false); g != w {
			t.Errorf("seed %d: incidents %s", seed, diff(g, w))
		}
		for id, n := range starts(got) {
			if n != 1 {
				t.Errorf("seed %d: incident %s started %d times", seed, id, n)
			}
		}
	}
}

// TestLateExchangeCountsNoPeer is the live capture of the issue: the first exchange of a
// reflection (a request and its 100 replies) reaches the engine after the next two, older
// than every packet its roles had seen. The victim heard from one reflector: no
// victim_flood with 101 reflectors (what the engine reported before it compared episodes
// rather than times), and the incidents are those in time order (their ids aside: see
// TestShuffledBatches).
func TestLateExchangeCountsNoPeer(t *testing.T) {
	ps := sampleReflection(8)
	want, _ := run(t, DefaultConfig(), ps)
	n := slices.IndexFunc(ps, func(p decode.Packet) bool { return !p.Time.Before(at(150 * time.Millisecond)) })
	if n != 1+respPerList {
		t.Fatalf("the first exchange is %d packets", n)
	}
	first := slices.Clone(ps[:n])
	ps = ps[n:]
	i := slices.IndexFunc(ps, func(p decode.Packet) bool { return p.Time.After(at(2 * 200 * time.Millisecond)) })
	ps = slices.Insert(ps, i, first...)
	got, _ := run(t, DefaultConfig(), ps)
	if n := len(only(got, KindVictimFlood)); n != 0 {
		t.Errorf("a late exchange made a victim flood:\n%s", lines(only(got, KindVictimFlood)))
	}
	if g, w := incidents(got, false), incidents(want, false); g != w {
		t.Errorf("incidents %s", diff(g, w))
	}
}

// TestClockOutlier: one frame 2 minutes in the future, in the middle of the traffic, ends
// nothing early and counts no peer twice: the alerts are those of the capture without the
// jump, where that frame has the time of the one before it (the clock's, which the engine
// accounts it at).
func TestClockOutlier(t *testing.T) {
	cfg := DefaultConfig()
	cfg.HomeNet = mixedHome
	n := len(mixedPackets())
	for _, i := range []int{n / 2, n / 3} {
		jumped, equiv := mixed(), mixed()
		jumped[i].Time = jumped[i].Time.Add(2 * time.Minute)
		equiv[i].Time = equiv[i-1].Time
		got, e := run(t, cfg, jumped)
		want, _ := run(t, cfg, equiv)
		if g, w := lines(got), lines(want); g != w {
			t.Errorf("frame %d 2 minutes ahead: %s", i, diff(g, w))
		}
		if c := e.Counters(); c.ClockOutliers != 1 || c.ClockSteps != 0 {
			t.Errorf("outliers %d, steps %d: want 1 and 0", c.ClockOutliers, c.ClockSteps)
		}
	}
	// The last frame 2 minutes ahead: nothing follows to confirm the jump.
	jumped, equiv := mixed(), mixed()
	n--
	jumped[n].Time = jumped[n].Time.Add(2 * time.Minute)
	equiv[n].Time = equiv[n-1].Time
	got, _ := run(t, cfg, jumped)
	want, _ := run(t, cfg, equiv)
	if g, w := lines(got), lines(want); g != w {
		t.Errorf("last frame 2 minutes ahead: %s", diff(g, w))
	}
}

// TestClockStepBack: a capture whose clock steps back an hour in the middle gives the
// alerts of the capture without the step, where time goes on from the last frame before
// it (the step's own gap, 10 microseconds here, closed): no new episode, no peer counted
// twice, no incident ended early.
func TestClockStepBack(t *testing.T) {
	cfg := DefaultConfig()
	cfg.HomeNet = mixedHome
	stepped, equiv := mixed(), mixed()
	mid := len(stepped) / 2
	gap := stepped[mid].Time.Sub(stepped[mid-1].Time)
	for i := mid; i < len(stepped); i++ {
		stepped[i].Time = stepped[i].Time.Add(-time.Hour)
		equiv[i].Time = equiv[i].Time.Add(-gap)
	}
	got, e := run(t, cfg, stepped)
	want, _ := run(t, cfg, equiv)
	if g, w := lines(got), lines(want); g != w {
		t.Errorf("a step back of an hour: %s", diff(g, w))
	}
	if c := e.Counters(); c.ClockSteps != 1 || c.ClockOutliers != 0 {
		t.Errorf("steps %d, outliers %d: want 1 and 0", c.ClockSteps, c.ClockOutliers)
	}
}

// diff shows where got and want, renderings of events one a line, first part.
func diff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	i := 0
	for i < len(g) && i < len(w) && g[i] == w[i] {
		i++
	}
	at := func(l []string) string {
		if i < len(l) {
			return l[i]
		}
		return "(none)"
	}
	return fmt.Sprintf("%d lines, want %d; line %d:\n got %s\nwant %s", len(g), len(w), i, at(g), at(w))
}

// TestClockOutlierOnQuietLink: in a live run, the last frame before the link goes quiet is
// 2 minutes ahead. The clock advances from the wall clock judge it an outlier, and the
// incidents end idle_timeout after their last packet, as without the jump.
func TestClockOutlierOnQuietLink(t *testing.T) {
	live := func(ps []decode.Packet) []Alert {
		var out []Alert
		e := NewEngine(DefaultConfig(), collect(&out))
		for i := range ps {
			e.Observe(&ps[i])
		}
		last := ps[len(ps)-2].Time // the wall clock goes on from the frame before the jump
		for d := 250 * time.Millisecond; d <= 2*time.Minute; d += 250 * time.Millisecond {
			e.Advance(last.Add(d))
		}
		return out
	}
	var ps []decode.Packet
	for i := range 30 {
		ps = monlist(ps, at(time.Duration(i)*time.Second), victim, server, reqPayload)
	}
	jumped, equiv := slices.Clone(ps), slices.Clone(ps)
	n := len(ps) - 1
	jumped[n].Time = jumped[n].Time.Add(2 * time.Minute)
	equiv[n].Time = equiv[n-1].Time
	got, want := live(jumped), live(equiv)
	if g, w := lines(got), lines(want); g != w {
		t.Errorf("last frame 2 minutes ahead on a quiet link: %s", diff(g, w))
	}
	if r := only(want, KindReflection); len(r) == 0 || r[len(r)-1].State != StateEnd ||
		!r[len(r)-1].TS.Equal(r[len(r)-1].LastSeen.Add(DefaultConfig().IdleTimeout)) {
		t.Errorf("want a reflection that ends on the quiet link idle_timeout after its last packet:\n%s", lines(want))
	}
}
