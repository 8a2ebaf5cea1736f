package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/ntpwatch/ntpwatch/decode"
	"github.com/ntpwatch/ntpwatch/decode/flow"
	"github.com/ntpwatch/ntpwatch/decode/proto"
	"github.com/ntpwatch/ntpwatch/detect"
	"github.com/ntpwatch/ntpwatch/internal/testutil"
	"github.com/ntpwatch/ntpwatch/internal/testutil/testsrc"
	"github.com/ntpwatch/ntpwatch/sinks"
)

// attack is a monlist reflection as frames: n requests of 8 bytes from victim to server,
// each answered with 100 packets of 6 items, a request every 100 ms.
func attack(server, victim netip.Addr, n int) []decode.Frame {
	var fs []decode.Frame
	clients := []netip.Addr{victim, victim, victim, victim, victim, victim}
	req := testutil.Ethernet(testutil.UDP(victim, server, 40000, 123, testutil.MonlistRequest(8)))
	resp := testutil.Ethernet(testutil.UDP(server, victim, 123, 40000, testutil.MonlistReply(true, clients...)))
	for i := range n {
		t := testutil.Time.Add(time.Duration(i) * 100 * time.Millisecond)
		fs = append(fs, decode.Frame{Data: req, Time: t, WireLen: len(req), Link: decode.LinkTypeEthernet})
		for j := range 100 {
			fs = append(fs, decode.Frame{Data: resp, Time: t.Add(time.Duration(j+1) * 100 * time.Microsecond),
				WireLen: len(resp), Link: decode.LinkTypeEthernet})
		}
	}
	return fs
}

// runFrames runs a pipeline over frames with cfg's other settings and returns the alerts
// written to stdout as JSON lines.
func runFrames(t *testing.T, cfg Config, frames []decode.Frame) ([]map[string]any, Result, error) {
	t.Helper()
	var out bytes.Buffer
	o, err := sinks.Open(context.Background(), sinks.Config{}, &out)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Sources = []decode.Source{&testsrc.Memory{Frames: frames}}
	cfg.Outputs = o
	if cfg.Detect.Window == 0 {
		cfg.Detect = detect.DefaultConfig()
		cfg.Detect.Sensor = "test"
	}
	res, runErr := New(cfg).Run(context.Background())
	var alerts []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if line == "" {
			continue
		}
		var a map[string]any
		if err := json.Unmarshal([]byte(line), &a); err != nil {
			t.Fatalf("alert %q: %v", line, err)
		}
		alerts = append(alerts, a)
	}
	return alerts, res, runErr
}

var (
	server = netip.MustParseAddr("198.51.100.10")
	victim = netip.MustParseAddr("203.0.113.7")
)

// TestRun: the counters of a run add up, and its alerts are those of the attack.
func TestRun(t *testing.T) {
	frames := attack(server, victim, 30)
	alerts, res, err := runFrames(t, Config{Flush: FileFlush}, frames)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, a := range alerts {
		kinds[a["kind"].(string)+"/"+a["state"].(string)]++
	}
	if kinds["reflection/start"] != 1 || kinds["reflection/end"] != 1 || kinds["exposed_amplifier/start"] != 1 {
		t.Errorf("alerts %v", kinds)
	}
	if res.Decode.Frames != uint64(len(frames)) || res.Decode.Messages != uint64(len(frames)) ||
		res.Engine.Amplifying != uint64(len(frames)) || res.Alerts != uint64(len(alerts)) ||
		res.Outputs.Delivered != uint64(len(alerts)) || !res.Seen || !res.First.Equal(testutil.Time) || res.Interrupted {
		t.Errorf("result %+v", res)
	}
}

// failingWriter fails every write after the first n bytes.
type failingWriter struct{ n int }

func (w *failingWriter) Write(p []byte) (int, error) {
	if w.n < len(p) {
		return 0, errors.New("no space left on device")
	}
	w.n -= len(p)
	return len(p), nil
}

// TestNTPLogFailureKeepsDetecting: an NTP log that fails is reported once, at once, and the
// run's alerts are those of a run without it; the run's error names it.
func TestNTPLogFailureKeepsDetecting(t *testing.T) {
	frames := attack(server, victim, 30)
	want, _, err := runFrames(t, Config{}, frames)
	if err != nil {
		t.Fatal(err)
	}
	var warnings []error
	log := NewAuxWriter("--ntp-log /dev/full", &failingWriter{n: 100000}, nil, func(err error) { warnings = append(warnings, err) })
	got, _, err := runFrames(t, Config{NTPLog: log}, frames)
	if len(warnings) != 1 || !strings.Contains(warnings[0].Error(), "--ntp-log /dev/full") ||
		!strings.Contains(warnings[0].Error(), "detection goes on") {
		t.Errorf("warnings %v, want one naming the log", warnings)
	}
	if err == nil || !strings.Contains(err.Error(), "--ntp-log /dev/full: no space left") {
		t.Errorf("run error %v, want the log's", err)
	}
	if len(got) != len(want) {
		t.Errorf("%d alerts with a failing NTP log, %d without", len(got), len(want))
	}
}

// quietSource is a live source: its frames, then decode.ErrTimeout (a quiet link) until ctx
// ends, then io.EOF.
type quietSource struct {
	testsrc.Memory
	ctx      context.Context
	timeouts int
}

func (q *quietSource) Next(f *decode.Frame) error {
	if err := q.Memory.Next(f); err != io.EOF {
		return err
	}
	if q.ctx.Err() != nil {
		return io.EOF
	}
	q.timeouts++
	time.Sleep(time.Millisecond) // a capture's timeout, shortened
	return decode.ErrTimeout
}

// TestLiveFlushOnAQuietLink: with LiveFlush, a partly filled batch goes to the engine when
// the link goes quiet, and the engine's clock moves on by the wall time, so that the incident
// ends without another packet (its idle timeout shortened to half a second).
func TestLiveFlushOnAQuietLink(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	src := &quietSource{Memory: testsrc.Memory{Frames: attack(server, victim, 30)}, ctx: ctx}
	var out bytes.Buffer
	o, err := sinks.Open(ctx, sinks.Config{}, &out)
	if err != nil {
		t.Fatal(err)
	}
	cfg := detect.DefaultConfig()
	cfg.IdleTimeout = 500 * time.Millisecond
	ended := make(chan struct{})
	p := New(Config{Sources: []decode.Source{src}, Flush: LiveFlush, Detect: cfg, Outputs: o})
	go func() {
		for {
			s := p.Snapshot()
			if s.Alerts[1][2] > 0 { // a reflection end event
				close(ended)
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	done := make(chan Result)
	go func() {
		res, _ := p.Run(ctx)
		done <- res
	}()
	select {
	case <-ended:
	case <-time.After(30 * time.Second): // a hang guard, not a timing assertion
		t.Fatal("the incident did not end on a quiet link")
	}
	cancel()
	res := <-done
	if res.Decode.Frames != uint64(len(src.Frames)) || !res.Interrupted {
		t.Errorf("result %+v", res)
	}
}

// toy is a protocol that exists only in this test: docs/extending.md says that a protocol
// is one file in decode/proto and one line in its table, and this test shows that nothing
// else need change for a protocol to be detected end to end and named in the alerts. Any
// datagram to port 4242 is a request; a reply from it whose first byte is 'D' carries data.
var toy = proto.Protocol{
	Name:  "toy",
	Ports: []uint16{4242},
	Vectors: []proto.Vector{
		{Name: "toy/status", Remediation: "Stop the toy service."},
	},
	Classify: func(m *proto.Message) {
		m.Vector = 0
		switch {
		case m.DstPort == 4242:
			m.Dir = proto.DirRequest
		case m.SrcPort == 4242:
			m.Dir = proto.DirResponse
			m.Data = len(m.Payload) > 0 && m.Payload[0] == 'D'
		default:
			m.Vector = proto.NoVector
		}
	},
}

// TestToyProtocol runs a toy reflection through decode, detect and the JSON output with a
// table of NTP and the toy protocol.
func TestToyProtocol(t *testing.T) {
	table, err := proto.NewTable(&proto.NTPProtocol, &toy)
	if err != nil {
		t.Fatal(err)
	}
	req := testutil.Ethernet(testutil.UDP(victim, server, 40000, 4242, []byte("?")))
	resp := testutil.Ethernet(testutil.UDP(server, victim, 4242, 40000, append([]byte("D"), make([]byte, 1399)...)))
	var frames []decode.Frame
	for i := range 1000 {
		ts := testutil.Time.Add(time.Duration(i) * 10 * time.Millisecond)
		frames = append(frames, decode.Frame{Data: req, Time: ts, WireLen: len(req), Link: decode.LinkTypeEthernet},
			decode.Frame{Data: resp, Time: ts.Add(time.Millisecond), WireLen: len(resp), Link: decode.LinkTypeEthernet})
	}
	alerts, res, err := runFrames(t, Config{Table: table}, frames)
	if err != nil {
		t.Fatal(err)
	}
	var refl map[string]any
	for _, a := range alerts {
		if a["kind"] == "reflection" && a["state"] == "end" {
			refl = a
		}
	}
	if refl == nil {
		t.Fatalf("no reflection incident: %v", alerts)
	}
	if refl["protocol"] != "toy" || refl["vector"] != "toy/status" || refl["remediation"] != "Stop the toy service." ||
		refl["reflector"] != server.String() || refl["amplification"] != 1400.0 {
		t.Errorf("reflection end %v", refl)
	}
	if p := res.Decode.Protocols[table.Protocols()[1].ID]; p.Requests[0] != 1000 || p.Responses[0] != 1000 {
		t.Errorf("toy messages counted %+v", p)
	}
}

// sampledSource is a decode.PacketSource as a flow collector is one: the frames given, one
// sampled in every ten, each standing for ten, and a flow record of the attack's replies.
type sampledSource struct {
	testsrc.Memory
	i      int
	record bool
}

func (s *sampledSource) NextPacket(d *decode.Decoder, p *decode.Packet) (decode.Kind, error) {
	if !s.record {
		s.record = true
		*p = decode.Packet{Kind: decode.KindMessage, Time: testutil.Time, Src: server, Dst: victim, SrcPort: 123, DstPort: 40000,
			WireLen: 482, IPLen: 468, PayloadLen: 440, MessageLen: 440, Weight: 500, Samples: 500,
			Proto: proto.Default.Protocols()[0], Dir: proto.DirResponse, Vector: proto.VectorUnknown, Data: true}
		d.Record(p)
		return p.Kind, nil
	}
	var f decode.Frame
	for {
		if err := s.Memory.Next(&f); err != nil {
			return decode.KindOther, err
		}
		if s.i++; s.i%10 == 0 {
			break
		}
	}
	f.Weight = 10
	kind := d.Decode(&f, p)
	p.Samples = 1
	return kind, nil
}

// TestPacketSource: the observations of a PacketSource go through the same loop: counted by
// the reader's decoder (frames and records), weighted in the engine, and their alerts carry
// the sampling object; the run's exporters are reported.
func TestPacketSource(t *testing.T) {
	frames := attack(server, victim, 30)
	var out bytes.Buffer
	o, err := sinks.Open(context.Background(), sinks.Config{}, &out)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Flush: FileFlush, Outputs: o, Detect: detect.DefaultConfig(),
		PacketSources: []decode.PacketSource{&sampledSource{Memory: testsrc.Memory{Frames: frames}}},
		Flows:         func() flow.Stats { return flow.Stats{Exporters: []flow.Exporter{{Name: "border-1", Datagrams: 7}}} }}
	res, err := New(cfg).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Decode.Frames != uint64(len(frames)/10) || res.Decode.Records != 1 || res.Decode.Messages != res.Decode.Frames+1 {
		t.Errorf("decode stats: %d frames, %d records, %d messages", res.Decode.Frames, res.Decode.Records, res.Decode.Messages)
	}
	if res.Flows == nil || len(res.Flows.Exporters) != 1 || res.Flows.Exporters[0].Name != "border-1" {
		t.Errorf("flows %+v", res.Flows)
	}
	var end struct {
		Kind, State, Vector string
		Responses           struct{ Packets uint64 }
		Sampling            *struct{ Rate, Samples uint64 }
	}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if strings.Contains(line, `"kind":"reflection","state":"end"`) {
			json.Unmarshal([]byte(line), &end)
		}
	}
	// 3,030 frames sampled one in ten (300 replies, 3 requests), and the record's 500
	// replies: 3,500 replies estimated from 803 samples.
	if end.Sampling == nil || end.Responses.Packets != 3500 || end.Sampling.Samples != 803 || end.Vector != "monlist" {
		t.Errorf("reflection end %+v sampling %+v; alerts:\n%s", end, end.Sampling, out.String())
	}
}
