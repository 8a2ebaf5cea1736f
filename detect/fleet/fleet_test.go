package fleet

import (
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ntpwatch/ntpwatch/decode"
	"github.com/ntpwatch/ntpwatch/decode/proto"
	"github.com/ntpwatch/ntpwatch/detect"
	"github.com/ntpwatch/ntpwatch/internal/scenario"
)

var homeNet = []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")}

// sensorConfig is a sensor's configuration: the defaults, the victims' network as its home.
func sensorConfig(name string) detect.Config {
	cfg := detect.DefaultConfig()
	cfg.Sensor, cfg.HomeNet = name, homeNet
	return cfg
}

// sense runs a sensor on frames and returns the evidence it published, numbered as its
// publisher numbers it (run, then 1, 2, ...), and its own alerts.
func sense(t *testing.T, cfg detect.Config, run uint64, frames []scenario.Frame) ([]*detect.Evidence, []detect.Alert) {
	t.Helper()
	var recs []*detect.Evidence
	var alerts []detect.Alert
	e := detect.NewEngine(cfg, func(a *detect.Alert) { alerts = append(alerts, *a) })
	e.PublishEvidence(func(ev *detect.Evidence) {
		c := *ev
		c.Run, c.Seq = run, uint64(len(recs)+1)
		recs = append(recs, &c)
	})
	dec := decode.NewDecoder(proto.Default)
	var p decode.Packet
	for _, f := range frames {
		fr := decode.Frame{Data: f.Data, Time: f.Time, WireLen: len(f.Data), Link: decode.LinkTypeEthernet}
		dec.Decode(&fr, &p)
		e.Observe(&p)
	}
	e.Close()
	return recs, alerts
}

// stream is evidence as one partition holds it.
type stream []*detect.Evidence

// spread is the evidence of sensors tap-0, tap-1, ... each on one link of s, one sensor's
// after the other's, as sensors that ran one after the other leave a topic. It fails the
// test if a sensor raised an alert of its own.
func spread(t *testing.T, s scenario.Spread) stream {
	t.Helper()
	var all stream
	for i, link := range s.Links {
		recs, alerts := sense(t, sensorConfig(fmt.Sprintf("tap-%d", i)), 1, link)
		if len(alerts) > 0 {
			t.Fatalf("sensor tap-%d alone raised %s %s", i, alerts[0].Kind, alerts[0].State)
		}
		all = append(all, recs...)
	}
	return all
}

// aggregatorConfig is the aggregator's: the defaults, the same home net.
func aggregatorConfig() Config {
	cfg := Config{Detect: detect.DefaultConfig()}
	cfg.Detect.Sensor, cfg.Detect.Source, cfg.Detect.HomeNet = "agg", "evidence", homeNet
	return cfg
}

// aggregate feeds the stream to a new aggregator on partition 0, at one wall time, then lets
// the time to settle pass, and returns the alert events.
func aggregate(t *testing.T, cfg Config, s stream) ([]detect.Alert, *Aggregator) {
	t.Helper()
	var out []detect.Alert
	var notes []string
	cfg.Notice = func(s string) { notes = append(notes, s) }
	a := New(cfg, func(al *detect.Alert) { out = append(out, *al) })
	now := time.Date(2026, 3, 14, 10, 0, 0, 0, time.UTC)
	for i, ev := range s {
		c := *ev
		a.Add(0, int64(i), &c, now)
	}
	a.Tick(now.Add(2 * DefaultSettle))
	if len(notes) > 0 {
		t.Logf("notices: %s", strings.Join(notes, "; "))
	}
	return out, a
}

// events sums up alert events as "kind state" lines, by incident id.
func events(as []detect.Alert) map[string][]string {
	m := map[string][]string{}
	for _, a := range as {
		m[a.ID] = append(m[a.ID], string(a.Kind)+" "+string(a.State))
	}
	return m
}

// within reports whether est is within pct percent of truth.
func within(est, truth int, pct float64) bool {
	return math.Abs(float64(est-truth)) <= pct/100*float64(truth)
}

// TestTenSensorsOneVictimFlood: ten sensors each on one of ten links, each seeing a tenth
// of a victim flood below every threshold of its own, make one fleet victim_flood with the
// flood's exact packet and byte totals and its reflectors counted within the sketch's error.
func TestTenSensorsOneVictimFlood(t *testing.T) {
	s := scenario.VictimFloodSpread(1, 90, 10)
	alerts, a := aggregate(t, aggregatorConfig(), spread(t, s))
	ev := events(alerts)
	if len(ev) != 1 {
		t.Fatalf("want one fleet incident, got %v", ev)
	}
	for _, a := range alerts {
		if a.Kind != detect.KindVictimFlood || a.Scope != detect.ScopeFleet || a.Victim != s.Incident.Victim {
			t.Fatalf("alert %+v", a)
		}
	}
	end := alerts[len(alerts)-1]
	want := s.Incident.Responses
	if end.State != detect.StateEnd || end.Responses != (detect.Counter{Packets: want.Packets, Bytes: want.Bytes}) ||
		end.Requests != (detect.Counter{}) || end.Direction != "inbound" || end.Sensor != "agg" {
		t.Errorf("end event %+v: want %d packets, %d bytes", end, want.Packets, want.Bytes)
	}
	if !within(end.Reflectors.Count, s.Incident.Reflectors, 3.3) || len(end.Reflectors.Top) != 10 {
		t.Errorf("reflectors %d, want %d within 3.3%%; top %d", end.Reflectors.Count, s.Incident.Reflectors, len(end.Reflectors.Top))
	}
	if len(end.Sensors) != 10 || end.Sensors[0] != "tap-0" {
		t.Errorf("sensors %v", end.Sensors)
	}
	if st := a.Stats(); st.Windows != 1 || st.Late != 0 || st.Replaced != 0 || st.Silent != 0 || st.Subjects != 0 {
		t.Errorf("stats %+v", st)
	}
	t.Logf("fleet victim_flood: %d packets, %d bytes, %d reflectors (of %d) from %d sensors, severity %s",
		end.Responses.Packets, end.Responses.Bytes, end.Reflectors.Count, s.Incident.Reflectors, len(end.Sensors), end.Severity)
}

// TestOverlappingTapsGroup: two sensors on the same link, configured as a group, count the
// link once: the fleet's figures are the link's totals, not double. Without the group they
// would be added up.
func TestOverlappingTapsGroup(t *testing.T) {
	s := scenario.VictimFloodSpread(1, 90, 10)
	all := spread(t, s)
	twin, _ := sense(t, sensorConfig("tap-0b"), 1, s.Links[0])
	all = append(all, twin...)
	want := s.Incident.Responses
	link0 := uint64(9 * 100 * 440)

	cfg := aggregatorConfig()
	cfg.Groups = map[string]string{"tap-0": "link-0", "tap-0b": "link-0"}
	alerts, _ := aggregate(t, cfg, all)
	end := alerts[len(alerts)-1]
	if len(events(alerts)) != 1 || end.Responses.Bytes != want.Bytes || end.Responses.Packets != want.Packets ||
		len(end.Sensors) != 11 {
		t.Errorf("grouped: %d events, %+v from %d sensors; want %d bytes", len(alerts), end.Responses, len(end.Sensors), want.Bytes)
	}
	if !within(end.Reflectors.Count, 90, 3.3) || end.Reflectors.Top[0].Bytes != 44_000 {
		t.Errorf("grouped: reflectors %d, top %+v", end.Reflectors.Count, end.Reflectors.Top[0])
	}

	alerts, _ = aggregate(t, aggregatorConfig(), all)
	if end := alerts[len(alerts)-1]; end.Responses.Bytes != want.Bytes+link0 {
		t.Errorf("ungrouped: %d bytes, want the link counted twice, %d", end.Responses.Bytes, want.Bytes+link0)
	}
}

// TestDeliveredTwice: every record delivered twice, and a sensor's records of a window
// delivered again after later ones (at-least-once delivery, a producer's retry), give the
// same alerts as once.
func TestDeliveredTwice(t *testing.T) {
	s := scenario.VictimFloodSpread(1, 90, 10)
	once := spread(t, s)
	var twice stream
	for _, ev := range once {
		twice = append(twice, ev, ev)
	}
	twice = append(twice, once[:20]...)
	want, _ := aggregate(t, aggregatorConfig(), once)
	got, a := aggregate(t, aggregatorConfig(), twice)
	if !slices.EqualFunc(got, want, sameAlert) {
		t.Errorf("twice:\n%v\nonce:\n%v", got, want)
	}
	if st := a.Stats(); st.Replaced == 0 {
		t.Errorf("stats %+v: the duplicates were not counted as replaced", st)
	}
}

func sameAlert(a, b detect.Alert) bool {
	return fmt.Sprint(a) == fmt.Sprint(b)
}

// live is the evidence of sensors tap-0, tap-1, ... on the links of s as live sensors leave
// it in a partition: each window's records and heartbeat of every sensor before the next
// window's.
func live(t *testing.T, s scenario.Spread) stream {
	t.Helper()
	var chunks [][]stream // by sensor, the records of each window up to its heartbeat
	for i, link := range s.Links {
		recs, _ := sense(t, sensorConfig(fmt.Sprintf("tap-%d", i)), 1, link)
		var cs []stream
		var cur stream
		for _, r := range recs {
			cur = append(cur, r)
			if r.Heartbeat {
				cs, cur = append(cs, cur), nil
			}
		}
		chunks = append(chunks, cs)
	}
	var all stream
	for j := 0; ; j++ {
		more := false
		for _, cs := range chunks {
			if j < len(cs) {
				all, more = append(all, cs[j]...), true
			}
		}
		if !more {
			return all
		}
	}
}

// TestTakeOver: a member dies in the middle of an attack of several windows; another takes
// its partition over from its last commit. Together they report the incident once: one
// start, one end, with the same id and the exact totals of a member that saw it all. The
// member dies after a window closed, or as the heartbeats of the next one came in but
// before it closed, when its last commit was made.
func TestTakeOver(t *testing.T) {
	s := scenario.VictimFloodSpread(1, 90, 10).Every(5)
	all := live(t, s)
	whole, _ := aggregate(t, aggregatorConfig(), all)
	// The index of the last heartbeat of the third window: every sensor has ended it.
	third := 0
	for i, ev := range all {
		if ev.Heartbeat && ev.WindowEnd.Equal(scenario.Epoch.Add(3*time.Minute)) {
			third = i
		}
	}
	for _, tc := range []struct {
		name   string
		kill   int  // the records the first member read
		settle bool // whether the window their heartbeats ended closed before the commit
	}{{"after a window closed", third + 1, true}, {"before the ended window closed", third + 1, false}} {
		t.Run(tc.name, func(t *testing.T) {
			now := time.Date(2026, 3, 14, 10, 0, 0, 0, time.UTC)
			var got []detect.Alert
			emit := func(al *detect.Alert) { got = append(got, *al) }
			first := New(aggregatorConfig(), emit)
			for i, ev := range all[:tc.kill] {
				c := *ev
				now = now.Add(time.Millisecond)
				first.Add(0, int64(i), &c, now)
				if i < tc.kill-1 || tc.settle {
					first.Tick(now.Add(2 * DefaultSettle)) // a live member's windows settle as it goes
				}
			}
			cs := first.Commits()
			if len(cs) != 1 || !strings.Contains(cs[0].Metadata, "incident victim_flood") {
				t.Fatalf("the first member's last commit %+v holds no open incident", cs)
			}
			last := cs[0]
			t.Logf("killed at offset %d; the second member reads again from %d", tc.kill, last.Offset)
			second := New(aggregatorConfig(), emit)
			second.Assign(0, last.Metadata)
			for i := int(last.Offset); i < len(all); i++ {
				c := *all[i]
				now = now.Add(time.Millisecond)
				second.Add(0, int64(i), &c, now)
				second.Tick(now.Add(2 * DefaultSettle))
			}
			second.Tick(now.Add(time.Minute))

			ids := func(as []detect.Alert, st detect.State) []string {
				var out []string
				for _, a := range as {
					if a.State == st {
						out = append(out, a.ID+" "+string(a.Kind))
					}
				}
				return out
			}
			for _, st := range []detect.State{detect.StateStart, detect.StateEnd} {
				if g, w := ids(got, st), ids(whole, st); !slices.Equal(g, w) || len(w) != 1 {
					t.Errorf("%s events: %v, want those of one member, %v", st, g, w)
				}
			}
			end, wantEnd := got[len(got)-1], whole[len(whole)-1]
			if end.Responses != wantEnd.Responses || end.Responses.Bytes != s.Incident.Responses.Bytes ||
				!end.FirstSeen.Equal(wantEnd.FirstSeen) || len(end.Sensors) != 10 {
				t.Errorf("end after the takeover %+v from %d sensors, want %+v", end.Responses, len(end.Sensors), wantEnd.Responses)
			}
		})
	}
}

// TestSilentSensor: a sensor that stops ending its windows holds them for Grace, then they
// close without it, said once; a sensor that ends its windows with nothing to tell holds
// nothing.
func TestSilentSensor(t *testing.T) {
	s := scenario.VictimFloodSpread(1, 90, 10)
	var all stream
	for i, link := range s.Links {
		recs, _ := sense(t, sensorConfig(fmt.Sprintf("tap-%d", i)), 1, link)
		if i == 3 {
			recs = slices.DeleteFunc(recs, func(r *detect.Evidence) bool { return r.Heartbeat }) // it died after its records
		}
		all = append(all, recs...)
	}
	// A quiet sensor: client traffic only, nothing above the floor, heartbeats all the same.
	quiet, _ := sense(t, sensorConfig("quiet"), 1, s.Links[0][:1])
	all = append(all, quiet...)

	var notes []string
	cfg := aggregatorConfig()
	cfg.Notice = func(s string) { notes = append(notes, s) }
	var alerts []detect.Alert
	a := New(cfg, func(al *detect.Alert) { alerts = append(alerts, *al) })
	now := time.Date(2026, 3, 14, 10, 0, 0, 0, time.UTC)
	for i, ev := range all {
		a.Add(0, int64(i), ev, now)
	}
	a.Tick(now.Add(2 * DefaultSettle))
	if len(alerts) != 0 {
		t.Fatalf("a window closed before Grace while tap-3 had not ended it: %v", events(alerts))
	}
	a.Tick(now.Add(DefaultGrace))
	a.Tick(now.Add(DefaultGrace + 2*DefaultSettle))
	if len(alerts) != 1 || alerts[0].State != detect.StateStart || alerts[0].Responses.Bytes != s.Incident.Responses.Bytes {
		t.Fatalf("after Grace: %v", alerts)
	}
	if st := a.Stats(); st.Silent != 1 || len(notes) != 1 || !strings.Contains(notes[0], "sensor tap-3: silent") {
		t.Errorf("silent %d, notices %q", st.Silent, notes)
	}
}

// TestScanCountsAtScale: two scanners probing 50,000 addresses each, twice, the two probes
// of an address leaving through two of five links (each link carries 40,000 probes), are
// two fleet scans whose targets the merged sketches count within their error, where adding
// the sensors' counts would say 100,000.
func TestScanCountsAtScale(t *testing.T) {
	const targets, links = 100_000, 5
	req := scenario.MonlistRequest(48)
	frames := make([][]scenario.Frame, links)
	base := netip.MustParseAddr("2001:db8:5::").As16()
	for i := range targets {
		a := base
		a[12], a[13], a[14], a[15] = byte(i>>24), byte(i>>16), byte(i>>8), byte(i)
		ep := &scenario.Endpoints{Src: netip.MustParseAddr("2001:db8:66::1"), Dst: netip.AddrFrom16(a), SrcPort: 40000, DstPort: 123}
		if i%2 == 0 {
			ep.Src = netip.MustParseAddr("2001:db8:66::2")
		}
		at := scenario.Epoch.Add(time.Duration(i) * 100 * time.Microsecond)
		f := scenario.Frame{Time: at, Data: scenario.AppendUDP(nil, ep, uint16(i), req)}
		frames[i%links] = append(frames[i%links], f)
		f.Time = at.Add(50 * time.Microsecond)
		frames[(i+1)%links] = append(frames[(i+1)%links], f)
	}
	var all stream
	for i, fs := range frames {
		recs, _ := sense(t, sensorConfig(fmt.Sprintf("tap-%d", i)), 1, fs)
		all = append(all, recs...)
	}
	alerts, _ := aggregate(t, aggregatorConfig(), all)
	var got []detect.Alert
	for _, a := range alerts {
		if a.Kind == detect.KindScan && a.State == detect.StateEnd {
			got = append(got, a)
		}
	}
	if len(got) != 2 {
		t.Fatalf("want the scans of both scanners, got %v", events(alerts))
	}
	for _, a := range got {
		if !within(a.Targets.Count, targets/2, 3.3) || a.Requests.Packets != 2*targets/2 {
			t.Errorf("scan of %s: %d targets, want %d within 3.3%%; %d requests (two an address)",
				a.Scanner, a.Targets.Count, targets/2, a.Requests.Packets)
		}
		t.Logf("scan of %s: %d targets counted of %d", a.Scanner, a.Targets.Count, targets/2)
	}
}

// TestFallbackService: a flood from the fallback's service port 427 split between two
// sensors, each below its thresholds, is one fleet victim_flood of udp/427, named and judged
// as a sensor that saw both links names and judges it (the fallback's own thresholds).
func TestFallbackService(t *testing.T) {
	victim := netip.MustParseAddr("198.51.100.9")
	start := scenario.Epoch.Add(5 * time.Second)
	links := make([][]scenario.Frame, 2)
	var all []scenario.Frame
	payload := make([]byte, 1000)
	for i := range 12 { // 6 reflectors a link: 900,000 bytes, below 10 reflectors and 1,000,000 bytes
		ep := &scenario.Endpoints{Src: netip.AddrFrom4([4]byte{192, 0, 2, byte(10 + i)}), Dst: victim, SrcPort: 427, DstPort: 80}
		for j := range 150 {
			f := scenario.Frame{Time: start.Add(time.Duration(j)*20*time.Millisecond + time.Duration(i)*time.Millisecond),
				Data: scenario.AppendUDP(nil, ep, uint16(j), payload)}
			links[i%2] = append(links[i%2], f)
			all = append(all, f)
		}
	}
	for i := range links {
		slices.SortStableFunc(links[i], func(a, b scenario.Frame) int { return a.Time.Compare(b.Time) })
	}
	slices.SortStableFunc(all, func(a, b scenario.Frame) int { return a.Time.Compare(b.Time) })
	alerts, _ := aggregate(t, aggregatorConfig(), spread(t, scenario.Spread{Links: links}))
	_, whole := sense(t, sensorConfig("whole"), 1, all)
	if len(events(alerts)) != 1 || len(whole) == 0 {
		t.Fatalf("fleet %v, a sensor of both links %v: want one incident each", events(alerts), events(whole))
	}
	end, ref := alerts[len(alerts)-1], whole[len(whole)-1]
	if end.Kind != detect.KindVictimFlood || end.Protocol != "udp/427" || end.ServerPort != 427 || end.Vector != "udp/427" ||
		end.Protocol != ref.Protocol || end.Vector != ref.Vector || end.Responses != ref.Responses || end.Severity != ref.Severity {
		t.Errorf("fleet end %s %s port %d vector %s %+v %s; the sensor's %s %s port %d vector %s %+v %s", end.Kind, end.Protocol,
			end.ServerPort, end.Vector, end.Responses, end.Severity, ref.Kind, ref.Protocol, ref.ServerPort, ref.Vector, ref.Responses, ref.Severity)
	}
	w := time.Unix(0, windowOf(start.UnixNano(), int64(time.Minute)))
	if want := detect.FleetIncidentID(detect.KindVictimFlood, "udp/427", victim, w); end.ID != want {
		t.Errorf("id %s, want %s", end.ID, want)
	}
}
