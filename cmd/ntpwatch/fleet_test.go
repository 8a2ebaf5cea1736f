package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/ntpwatch/ntpwatch/internal/scenario"
	"github.com/ntpwatch/ntpwatch/internal/testutil/kafkatest"
)

// The fleet tests run sensors (ntpwatch read with --evidence-topic) and aggregator members
// (ntpwatch aggregate) against a Kafka broker over TCP: kfake, or the cluster of
// NTPWATCH_KAFKA_BROKERS.

// fleetAlert is what the fleet tests read of an alert.
type fleetAlert struct {
	ID, Kind, State, Victim, Scope, Sensor string
	Sensors                                []string
	Responses                              struct{ Packets, Bytes uint64 }
	Reflectors                             struct{ Count int }
	line                                   string
}

func fleetAlerts(t *testing.T, ls []timedLine) []fleetAlert {
	t.Helper()
	var out []fleetAlert
	for _, l := range ls {
		var a fleetAlert
		if err := json.Unmarshal([]byte(l.text), &a); err != nil {
			t.Fatalf("not an alert: %v: %s", err, l.text)
		}
		a.line = l.text
		out = append(out, a)
	}
	return out
}

// writeLinks writes the links of s as captures link-0.pcap, ... in dir.
func writeLinks(t *testing.T, dir string, s scenario.Spread) []string {
	t.Helper()
	var paths []string
	for i, frames := range s.Links {
		p := filepath.Join(dir, fmt.Sprintf("link-%d.pcap", i))
		if err := scenario.WriteFile(p, frames, layers.LinkTypeEthernet, scenario.PCAP, 0); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	return paths
}

// sensorArgs are the flags of a sensor named name publishing to topic.
func sensorArgs(b *kafkatest.Broker, topic, name string) []string {
	return []string{"read", "-q", "--sensor", name, "--home-net", "198.51.100.0/24", "--kafka-brokers", strings.Join(b.Addrs, ","),
		"--evidence-topic", topic}
}

// within reports whether est is within pct percent of truth.
func withinPct(est, truth int, pct float64) bool {
	return math.Abs(float64(est-truth)) <= pct/100*float64(truth)
}

// member is an aggregator member run in this process.
type member struct {
	out    *lines
	stderr bytes.Buffer
	cancel context.CancelFunc
	code   chan int
}

func startMember(t *testing.T, args ...string) *member {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r, w := io.Pipe()
	m := &member{out: collect(r), cancel: cancel, code: make(chan int, 1)}
	go func() {
		m.code <- run(ctx, append([]string{"aggregate"}, args...), nil, w, &m.stderr)
		w.Close()
	}()
	return m
}

func (m *member) stop(t *testing.T) {
	t.Helper()
	m.cancel()
	select {
	case code := <-m.code:
		if code != exitOK {
			t.Errorf("aggregate exited %d: %s", code, m.stderr.String())
		}
	case <-time.After(hangGuard):
		t.Fatal("hang guard: aggregate did not stop")
	}
	<-m.out.done
}

// TestFleetTenSensors: ten sensors, each reading one of ten links that carry a victim flood
// a tenth each (below every threshold of a sensor), make exactly one fleet victim_flood
// with the flood's exact packet and byte totals and its reflectors counted within the
// sketch's error (3.3% at 95%). Two sensors on the same link, configured as a group, count it
// once: the fleet's totals are the links', not more.
func TestFleetTenSensors(t *testing.T) {
	b := kafkatest.Start(t)
	dir := t.TempDir()
	s := scenario.VictimFloodSpread(1, 90, 10)
	paths := writeLinks(t, dir, s)
	for _, tc := range []struct {
		name string
		twin bool
	}{{"ten links", false}, {"link 0 tapped twice", true}} {
		t.Run(tc.name, func(t *testing.T) {
			topic := kafkatest.NewTopic(t)
			type sensor struct{ name, path string }
			var sensors []sensor
			for i, p := range paths {
				sensors = append(sensors, sensor{fmt.Sprintf("tap-%d", i), p})
			}
			var extra []string
			if tc.twin {
				sensors = append(sensors, sensor{"tap-0b", paths[0]})
				extra = []string{"--config", writeConfig(t, "fleet:\n  sensor_groups: {link-0: [tap-0, tap-0b]}\n")}
			}
			var wg sync.WaitGroup
			for _, sn := range sensors {
				wg.Go(func() {
					var out, errb bytes.Buffer
					if code := run(context.Background(), append(sensorArgs(b, topic, sn.name), sn.path), nil, &out, &errb); code != exitOK || out.Len() > 0 {
						t.Errorf("sensor %s: exit %d, alerts %q, stderr %s", sn.name, code, out.String(), errb.String())
					}
				})
			}
			wg.Wait()
			m := startMember(t, append([]string{"--kafka-brokers", strings.Join(b.Addrs, ","), "--evidence-topic", topic,
				"--group", "g-" + topic, "--home-net", "198.51.100.0/24", "--sensor", "agg", "-q"}, extra...)...)
			m.out.wait(t, `"state":"end"`)
			m.stop(t)
			alerts := fleetAlerts(t, m.out.snapshot())
			if len(alerts) != 2 || alerts[0].State != "start" || alerts[0].ID != alerts[1].ID {
				t.Fatalf("want one incident's start and end, got:\n%s", m.out)
			}
			end, want := alerts[1], s.Incident.Responses
			if end.Kind != "victim_flood" || end.Scope != "fleet" || end.Victim != s.Incident.Victim.String() || end.Sensor != "agg" ||
				end.Responses.Packets != want.Packets || end.Responses.Bytes != want.Bytes || len(end.Sensors) != len(sensors) {
				t.Errorf("end event %s: want the flood's %d packets and %d bytes from %d sensors", end.line, want.Packets, want.Bytes, len(sensors))
			}
			if !withinPct(end.Reflectors.Count, s.Incident.Reflectors, 3.3) {
				t.Errorf("reflectors %d, want %d within 3.3%%", end.Reflectors.Count, s.Incident.Reflectors)
			}
			t.Logf("%d sensors: fleet victim_flood of %d packets, %d bytes, %d reflectors", len(sensors), end.Responses.Packets,
				end.Responses.Bytes, end.Reflectors.Count)
		})
	}
}

// feed is a sensor reading a capture from a named pipe as the test writes it: a capture
// that grows as the traffic happens.
type feed struct {
	w    *os.File
	pw   *pcapgo.Writer
	code chan int
	errb bytes.Buffer
}

func startFeed(t *testing.T, fifo string, args []string) *feed {
	t.Helper()
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	f := &feed{code: make(chan int, 1)}
	go func() { f.code <- run(context.Background(), append(args, fifo), nil, io.Discard, &f.errb) }()
	w, err := os.OpenFile(fifo, os.O_WRONLY, 0) // until the sensor opens it
	if err != nil {
		t.Fatal(err)
	}
	f.w, f.pw = w, pcapgo.NewWriter(w)
	if err := f.pw.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatalf("%v: the sensor exited %d: %s", err, <-f.code, f.errb.String())
	}
	return f
}

func (f *feed) write(t *testing.T, frames []scenario.Frame) {
	t.Helper()
	for _, fr := range frames {
		ci := gopacket.CaptureInfo{Timestamp: fr.Time, CaptureLength: len(fr.Data), Length: len(fr.Data)}
		if err := f.pw.WritePacket(ci, fr.Data); err != nil {
			t.Fatalf("%v; the sensor said: %s", err, f.errb.String())
		}
	}
}

// TestFleetMemberKilled: two aggregator members (processes) share the evidence of ten
// sensors fed an attack of five minutes as it happens. The member that started the fleet
// incident is killed (SIGKILL) once it has committed; the other takes its partitions over
// and goes on with the incident: together they report it once, one start and one end with
// the same id, and the end has the whole attack's exact totals.
func TestFleetMemberKilled(t *testing.T) {
	session := 2 * time.Second
	if kafkatest.External() {
		session = 6 * time.Second // a cluster's group.min.session.timeout.ms is 6 s by default
	}
	b := kafkatest.Start(t, kfake.GroupMinSessionTimeout(time.Second))
	dir := t.TempDir()
	bin := buildTool(t, dir, "ntpwatch")
	topic := kafkatest.NewTopic(t)
	kafkatest.CreateTopic(t, b.Addrs, topic, 4) // two members to share it
	group := "g-" + topic
	cfg := writeConfig(t, fmt.Sprintf("fleet:\n  session_timeout: %s\n  settle: 200ms\n", session))

	type proc struct {
		cmd *exec.Cmd
		out *lines
	}
	startProc := func(name string) proc {
		cmd := exec.Command(bin, "aggregate", "--kafka-brokers", strings.Join(b.Addrs, ","), "--evidence-topic", topic,
			"--group", group, "--home-net", "198.51.100.0/24", "--sensor", name, "--config", cfg, "-q")
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		return proc{cmd, collect(stdout)}
	}
	members := []proc{startProc("agg-a"), startProc("agg-b")}

	s := scenario.VictimFloodSpread(1, 90, 10).Every(5)
	var feeds []*feed
	for i := range s.Links {
		feeds = append(feeds, startFeed(t, filepath.Join(dir, fmt.Sprintf("link-%d", i)), sensorArgs(b, topic, fmt.Sprintf("tap-%d", i))))
	}
	// The first two minutes and a half, so that the sensors end their first two windows.
	cut := scenario.Epoch.Add(2*time.Minute + 7*time.Second)
	rest := make([][]scenario.Frame, len(feeds))
	for i, f := range feeds {
		link := s.Links[i]
		n := 0
		for n < len(link) && link[n].Time.Before(cut) {
			n++
		}
		f.write(t, link[:n])
		rest[i] = link[n:]
	}
	// The member that owns the victim's partition starts the incident; once it has committed
	// the incident as open, it is killed.
	var victim, other proc
	deadline := time.Now().Add(hangGuard)
	for victim.cmd == nil {
		for i, m := range members {
			for _, l := range m.out.snapshot() {
				if strings.Contains(l.text, `"state":"start"`) {
					victim, other = m, members[1-i]
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("hang guard: no start event; members said:\n%s\n%s", members[0].out, members[1].out)
		}
		time.Sleep(10 * time.Millisecond)
	}
	client := &kafka.Client{Addr: kafka.TCP(b.Addrs...)}
	waitUntil(t, "a commit holding the open incident", func() bool {
		res, err := client.OffsetFetch(context.Background(), &kafka.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: {0, 1, 2, 3}}})
		if err != nil {
			return false
		}
		for _, p := range res.Topics[topic] {
			if strings.Contains(p.Metadata, "incident victim_flood") {
				return true
			}
		}
		return false
	})
	if err := victim.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	victim.cmd.Wait()

	for i, f := range feeds {
		f.write(t, rest[i])
		f.w.Close()
		if code := <-f.code; code != exitOK {
			t.Fatalf("sensor tap-%d: exit %d: %s", i, code, f.errb.String())
		}
	}
	other.out.wait(t, `"state":"end"`)
	other.cmd.Process.Signal(syscall.SIGINT)
	if err := other.cmd.Wait(); err != nil {
		t.Errorf("the surviving member: %v", err)
	}

	all := append(fleetAlerts(t, victim.out.snapshot()), fleetAlerts(t, other.out.snapshot())...)
	states, lines := map[string]int{}, map[string]bool{}
	for _, a := range all {
		if a.ID != all[0].ID || a.Kind != "victim_flood" {
			t.Errorf("another incident: %s", a.line)
		}
		states[a.State]++
		if lines[a.line] {
			t.Errorf("an event twice: %s", a.line)
		}
		lines[a.line] = true
	}
	if states["start"] != 1 || states["end"] != 1 {
		t.Errorf("events %v: want one start and one end; killed member:\n%s\nsurvivor:\n%s", states, victim.out, other.out)
	}
	end, want := all[len(all)-1], s.Incident.Responses
	if end.State != "end" || end.Responses.Packets != want.Packets || end.Responses.Bytes != want.Bytes {
		t.Errorf("end %s: want %d packets, %d bytes", end.line, want.Packets, want.Bytes)
	}
	t.Logf("killed member: %d events; survivor: %d events, end with %d packets, %d bytes from %d sensors",
		len(victim.out.snapshot()), len(other.out.snapshot()), end.Responses.Packets, end.Responses.Bytes, len(end.Sensors))
}

// waitUntil polls cond until it holds, up to the hang guard.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(hangGuard); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("hang guard: %s", what)
		}
	}
}

// TestAggregateUsage: what aggregate needs is named on one line, with exit status 2 for a bad
// command line and 1 for brokers that do not answer.
func TestAggregateUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"aggregate", "--kafka-brokers", "127.0.0.1:1"}, exitUsage, "--evidence-topic TOPIC is required"},
		{[]string{"aggregate", "--evidence-topic", "ev"}, exitUsage, "--kafka-brokers: the evidence topic ev needs at least one broker"},
		{[]string{"aggregate", "--evidence-topic", "bad topic", "--kafka-brokers", "127.0.0.1:1"}, exitUsage, `--evidence-topic: "bad topic" is not a Kafka topic name`},
		{[]string{"aggregate", "--evidence-topic", "ev", "--kafka-brokers", "127.0.0.1:1", "extra"}, exitUsage, `unexpected argument "extra"`},
		{[]string{"read", "--evidence-topic", "ev", "x.pcap"}, exitUsage, "--kafka-brokers: the evidence topic ev needs at least one broker"},
		{[]string{"aggregate", "--evidence-topic", "ev", "--kafka-brokers", "127.0.0.1:1"}, exitFailure, "--kafka-brokers 127.0.0.1:1: no broker answered"},
	} {
		var out, errb bytes.Buffer
		code := run(context.Background(), tc.args, nil, &out, &errb)
		if msg := errb.String(); code != tc.code || !strings.Contains(msg, tc.want) || strings.Count(msg, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q; want %d and one line with %q", tc.args, code, msg, tc.code, tc.want)
		}
	}
}

// TestFleetFromSampledFlows: a flow sensor (read --flows, the pipeline of ntpwatch flow)
// publishes evidence weighted by its sampling, and the fleet's incident carries the sampling
// of its figures as a sensor's does.
func TestFleetFromSampledFlows(t *testing.T) {
	repoRoot(t)
	b := kafkatest.Start(t)
	topic := kafkatest.NewTopic(t)
	fixture := filepath.Join("cmd", "ntpwatch", "testdata", "flows", "victim_flood-10.pcap.gz")
	var out, errb bytes.Buffer
	args := append(sensorArgs(b, topic, "sflow-1"), "--flows", fixture)
	if code := run(context.Background(), args, nil, &out, &errb); code != exitOK {
		t.Fatalf("read --flows: exit %d: %s", code, errb.String())
	}
	m := startMember(t, "--kafka-brokers", strings.Join(b.Addrs, ","), "--evidence-topic", topic, "--group", "g-"+topic,
		"--home-net", "198.51.100.0/24", "-q")
	m.out.wait(t, `"state":"end"`)
	m.stop(t)
	var sensorEnd, fleetEnd struct {
		Kind      string
		Responses struct{ Packets, Bytes uint64 }
		Sampling  *struct {
			Rate, Samples uint64
			ErrorPct      float64 `json:"error_pct"`
		}
	}
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if strings.Contains(l, `"kind":"victim_flood","state":"end"`) {
			json.Unmarshal([]byte(l), &sensorEnd)
		}
	}
	ls := m.out.snapshot()
	json.Unmarshal([]byte(ls[len(ls)-1].text), &fleetEnd)
	if sensorEnd.Sampling == nil || fleetEnd.Kind != "victim_flood" || fleetEnd.Sampling == nil ||
		*fleetEnd.Sampling != *sensorEnd.Sampling || fleetEnd.Responses != sensorEnd.Responses {
		t.Errorf("the fleet's end %+v (sampling %+v), want the sensor's %+v (sampling %+v)", fleetEnd, fleetEnd.Sampling,
			sensorEnd, sensorEnd.Sampling)
	}
	t.Logf("one sFlow sensor at 1:%d: the fleet's victim_flood rests on %d samples, error %.1f%%", fleetEnd.Sampling.Rate,
		fleetEnd.Sampling.Samples, fleetEnd.Sampling.ErrorPct)
}
