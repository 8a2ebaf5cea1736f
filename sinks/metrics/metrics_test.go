package metrics

import (
	"bytes"
	"flag"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ntpwatch/ntpwatch/decode"
	"github.com/ntpwatch/ntpwatch/decode/flow"
	"github.com/ntpwatch/ntpwatch/decode/proto"
	"github.com/ntpwatch/ntpwatch/detect"
	"github.com/ntpwatch/ntpwatch/internal/buildinfo"
	"github.com/ntpwatch/ntpwatch/internal/pipeline"
	"github.com/ntpwatch/ntpwatch/internal/testutil"
	"github.com/ntpwatch/ntpwatch/sinks"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
)

var update = flag.Bool("update", false, "rewrite testdata/metrics.txt")

// snapshot is a run's state with a distinct value in every counter the page shows.
func snapshot() pipeline.Snapshot {
	var s pipeline.Snapshot
	ds := &s.Decode
	ds.Frames, ds.WireBytes, ds.Messages, ds.Malformed, ds.Fragments, ds.Other = 1000, 482000, 700, 3, 2, 295
	ntp := &ds.Protocols[proto.Default.Protocols()[0].ID]
	ntp.Messages, ntp.Requests[proto.VectorMonlist], ntp.Responses[proto.VectorMonlist] = 700, 6, 600
	ds.NTPModes[3], ds.NTPModes[4], ds.NTPModes[7] = 47, 47, 606
	ds.Problems[decode.ProblemNTPShort] = 3
	ds.Encaps[decode.EncapVLAN], ds.Encaps[decode.EncapGRE], ds.Encaps[decode.EncapERSPAN] = 40, 12, 11
	ds.FragmentsTracked, ds.FragmentEvictions = 1, 0
	s.Capture = decode.CaptureStats{Received: 1010, Dropped: 10, IfDropped: 1}
	cfg := detect.DefaultConfig()
	s.Engine.Tables = [4]detect.TableStats{
		{Name: "hosts", Len: 7, Cap: cfg.Tables.MaxHosts, Peak: 9},
		{Name: "pairs", Len: 6, Cap: cfg.Tables.MaxPairs, Peak: 8},
		{Name: "exposed_amplifiers", Len: 1, Cap: cfg.Tables.MaxHosts, Peak: 1},
		{Name: "incidents", Len: 2, Cap: cfg.Tables.MaxIncidents, Peak: 2},
	}
	for k, kind := range detect.Kinds() {
		s.Engine.Kinds[k] = detect.KindCount{Kind: kind, Incidents: uint64(k), Events: uint64(3 * k)}
		s.Alerts = append(s.Alerts, [3]uint64{uint64(k), uint64(k), uint64(k)})
	}
	s.Outputs = sinks.Stats{Sinks: []sinks.SinkStats{{Name: "stdout", Delivered: 12, QueueSize: 4096}}}
	s.LastPacket = time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)
	s.Queue, s.QueueCap, s.Readers, s.Running, s.FragmentCap = 1, 16, 2, 2, 2*decode.DefaultFragmentCap
	return s
}

// TestMetricsPage compares the page of the run's collector (the Go runtime's and the
// process's collectors left out: their values change) with testdata/metrics.txt; -update
// rewrites it. It needs no capture and no root.
func TestMetricsPage(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := NewCollector(snapshot, nil).(*collector)
	// The build of the test binary depends on the toolchain: the page shows a fixed one.
	c.build = buildinfo.Info{Version: "v1.2.3", Revision: "0123456789abcdef0123456789abcdef01234567", GoVersion: "go1.26.0"}
	reg.MustRegister(c)
	page := gather(t, reg)
	golden := filepath.Join("testdata", "metrics.txt")
	if *update {
		if err := os.WriteFile(golden, page.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (go test ./sinks/metrics -update writes it)", err)
	}
	if !bytes.Equal(page.Bytes(), want) {
		t.Errorf("the metrics page differs from %s (-update rewrites it):\n%s", golden, page.Bytes())
	}
	for _, name := range Names() {
		if !strings.Contains(page.String(), "\n"+name+"{") && !strings.Contains(page.String(), "\n"+name+" ") {
			t.Errorf("%s is not on the page", name)
		}
	}
}

// gather renders what reg collects as the text page /metrics serves.
func gather(t *testing.T, reg *prometheus.Registry) *bytes.Buffer {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var page bytes.Buffer
	enc := expfmt.NewEncoder(&page, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, f := range families {
		if err := enc.Encode(f); err != nil {
			t.Fatal(err)
		}
	}
	return &page
}

// TestServe scrapes /metrics and /healthz over HTTP on a loopback port the system chose.
func TestServe(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var running atomic.Int32
	running.Store(2)
	snap := func() pipeline.Snapshot { s := snapshot(); s.Running = int(running.Load()); return s }
	stop := Serve(ln, snap, nil)
	defer stop()
	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + ln.Addr().String() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		return resp.StatusCode, b.String()
	}
	if code, body := get("/metrics"); code != 200 || !strings.Contains(body, "ntpwatch_packets_total 1000") ||
		!strings.Contains(body, "go_goroutines") || !strings.Contains(body, "process_") {
		t.Errorf("/metrics: %d\n%s", code, body)
	}
	if code, body := get("/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("/healthz with every reader running: %d %q", code, body)
	}
	running.Store(1)
	if code, body := get("/healthz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "1 of 2") {
		t.Errorf("/healthz with a reader gone: %d %q", code, body)
	}
}

// TestDocumented checks that docs/live.md documents every metric served.
func TestDocumented(t *testing.T) { checkDocumented(t, "live.md", Names()) }

// checkDocumented checks that docs/doc names every metric of names.
func checkDocumented(t *testing.T, doc string, names []string) {
	t.Helper()
	text, err := os.ReadFile(filepath.Join(testutil.RepoRoot(), "docs", doc))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		if !strings.Contains(string(text), "`"+name+"`") {
			t.Errorf("docs/%s does not document %s", doc, name)
		}
	}
}

// TestFlowMetrics: a sampled-flow run's page carries each exporter's series, labelled by its
// name and protocol and never by its address, and flow records' unknown vector.
func TestFlowMetrics(t *testing.T) {
	snap := func() pipeline.Snapshot {
		s := snapshot()
		ntp := &s.Decode.Protocols[proto.Default.Protocols()[0].ID]
		ntp.Responses[proto.VectorUnknown] = 25
		s.Flows = &flow.Stats{Exporters: []flow.Exporter{
			{Name: "border-1", Addr: netip.MustParseAddr("192.0.2.1"), Protocol: flow.SFlow, Datagrams: 55, Samples: 327, Lost: 2, Drops: 3, Rate: 1000},
			{Name: "exporter-1", Addr: netip.MustParseAddr("192.0.2.2"), Protocol: flow.IPFIX, Datagrams: 11, Records: 25, Unread: 1, Rate: 1},
			{Name: flow.OtherExporter, Protocol: flow.SFlow, Datagrams: 4},
		}, Invalid: [3]uint64{flow.NetFlow: 7}}
		return s
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(NewCollector(snap, nil))
	page := gather(t, reg)
	for _, want := range []string{
		`ntpwatch_flow_datagrams_total{exporter="border-1",protocol="sflow"} 55`,
		`ntpwatch_flow_samples_total{exporter="border-1",protocol="sflow"} 327`,
		`ntpwatch_flow_records_total{exporter="exporter-1",protocol="ipfix"} 25`,
		`ntpwatch_flow_lost_total{exporter="border-1",protocol="sflow"} 2`,
		`ntpwatch_flow_agent_drops_total{exporter="border-1",protocol="sflow"} 3`,
		`ntpwatch_flow_unread_total{exporter="exporter-1",protocol="ipfix"} 1`,
		`ntpwatch_flow_sampling_rate{exporter="border-1",protocol="sflow"} 1000`,
		`ntpwatch_flow_datagrams_total{exporter="other",protocol="sflow"} 4`,
		`ntpwatch_flow_invalid_datagrams_total{protocol="netflow"} 7`,
		`ntpwatch_protocol_messages_total{direction="response",protocol="ntp",vector="unknown"} 25`,
	} {
		if !strings.Contains(page.String(), want+"\n") {
			t.Errorf("the page lacks %s", want)
		}
	}
	if strings.Contains(page.String(), "192.0.2.") {
		t.Errorf("an exporter's address is on the page:\n%s", page.String())
	}
	for _, name := range FlowNames() {
		if !strings.Contains(page.String(), "\n"+name+"{") {
			t.Errorf("%s is not on the page", name)
		}
	}
}

// TestFlowMetricsDocumented checks that docs/flows.md documents every metric of a flow run.
func TestFlowMetricsDocumented(t *testing.T) { checkDocumented(t, "flows.md", FlowNames()) }
