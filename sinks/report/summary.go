package report

import (
	"encoding/json"
	"io"
	"net/netip"
	"time"

	"github.com/ntpwatch/ntpwatch/decode"
	"github.com/ntpwatch/ntpwatch/decode/flow"
	"github.com/ntpwatch/ntpwatch/decode/proto"
	"github.com/ntpwatch/ntpwatch/detect"
	"github.com/ntpwatch/ntpwatch/sinks"
)

// Schema names the layout of --summary-json (docs/analyst.md).
const Schema = "ntpwatch.summary/v1"

// Summary is the account of a run: what was read, what it held and what was found. The same
// value is printed on stderr for people (WriteText), written as JSON for scripts (WriteJSON)
// and drawn as HTML (WriteHTML).
type Summary struct {
	Schema string       `json:"schema"`
	Inputs inputSummary `json:"inputs"`
	NTP    ntpSummary   `json:"ntp"`
	// Protocols counts the messages of every protocol of the table that had any, NTP's
	// included, by name.
	Protocols map[string]protocolSummary `json:"protocols"`
	Problems  map[string]uint64          `json:"decode_problems"` // every reason, zeros included
	Incidents incidentsSummary           `json:"incidents"`
	// Attacks are the victims hit through several protocols at once (attacks.go).
	Attacks []attackSummary `json:"attacks"`
	// Flows is the account of a sampled-flow run's exporters; null for packet captures.
	Flows  *flowsSummary  `json:"flows"`
	Tables []tableSummary `json:"tables"`
	Alerts alertsSummary  `json:"alerts"`
	Run    runSummary     `json:"run"`

	timelines map[string][]detect.Point // by incident id, for the HTML report
	detected  map[string]time.Time      // start event of each incident, by id
}

type inputSummary struct {
	Files     []string          `json:"files"`
	Selection *selectionSummary `json:"selection"` // null when every frame was analysed
	Packets   uint64            `json:"packets"`
	WireBytes uint64            `json:"wire_bytes"`
	First     *time.Time        `json:"first_packet"` // null when no packet was read
	Last      *time.Time        `json:"last_packet"`
	Duration  float64           `json:"duration_seconds"`
	LinkTypes map[string]uint64 `json:"link_types"` // frames by link type name, the ones seen
	// Encapsulations counts frames by the encapsulations they went through (VLAN tags,
	// tunnels, mirror sessions), the ones seen.
	Encapsulations map[string]uint64 `json:"encapsulations"`
	// NotIP counts the frames of other network protocols (ARP, LLDP...): the link's traffic,
	// not a problem of the capture.
	NotIP uint64 `json:"not_ip"`
	// ClockOutliers and ClockSteps count the frames whose time lay far from the capture's
	// clock and the steps back of that clock (detect.Counters).
	ClockOutliers uint64 `json:"clock_outliers"`
	ClockSteps    uint64 `json:"clock_steps"`
}

// selectionSummary is what picked the frames analysed: read's filter, -c and time window.
type selectionSummary struct {
	Filter  string     `json:"filter"` // "" for none
	Count   uint64     `json:"count"`  // 0 for no limit
	Start   *time.Time `json:"start"`  // null when open
	End     *time.Time `json:"end"`
	Skipped uint64     `json:"skipped"` // frames read but not analysed: outside the window or refused by the filter
}

type ntpSummary struct {
	Messages  uint64                   `json:"messages"`
	ByMode    map[string]uint64        `json:"by_mode"`   // every mode by name, zeros included
	ByVector  map[string]vectorSummary `json:"by_vector"` // amplifying requests and responses
	Partial   uint64                   `json:"partial"`   // messages cut short by the snaplen or fragmentation
	Malformed uint64                   `json:"malformed"` // port-123 datagrams that are not NTP
	Fragments uint64                   `json:"fragments"` // non-first fragments of NTP datagrams
}

type vectorSummary struct {
	Requests  uint64 `json:"requests"`
	Responses uint64 `json:"responses"`
}

// protocolSummary is one protocol's messages: every datagram its classifier read, and of
// them the amplifying requests and replies by vector.
type protocolSummary struct {
	Messages  uint64                   `json:"messages"`
	ByVector  map[string]vectorSummary `json:"by_vector"` // every vector, zeros included
	Malformed uint64                   `json:"malformed"`
	Fragments uint64                   `json:"fragments"` // non-first fragments of its datagrams
}

type incidentsSummary struct {
	Total         uint64                 `json:"total"`
	ByKind        map[string]kindSummary `json:"by_kind"`
	List          []incidentRow          `json:"list"`    // ended incidents, then open ones, in start order
	Dropped       uint64                 `json:"dropped"` // ended incidents left out of list (tables.max_history)
	TopReflectors []talker               `json:"top_reflectors"`
	TopVictims    []talker               `json:"top_victims"`
	TopScanners   []talker               `json:"top_scanners"`
}

type kindSummary struct {
	Incidents uint64 `json:"incidents"`
	Events    uint64 `json:"events"`
}

type counterJSON struct {
	Packets uint64 `json:"packets"`
	Bytes   uint64 `json:"bytes"`
}

type incidentRow struct {
	ID            string      `json:"id"`
	Kind          string      `json:"kind"`
	Severity      string      `json:"severity"`
	Protocol      string      `json:"protocol"`
	Vector        string      `json:"vector"`
	Subject       netip.Addr  `json:"subject"`
	Open          bool        `json:"open"`
	First         time.Time   `json:"first_seen"`
	Last          time.Time   `json:"last_seen"`
	Duration      float64     `json:"duration_seconds"`
	Requests      counterJSON `json:"requests"`
	Responses     counterJSON `json:"responses"`
	Amplification *float64    `json:"amplification"`
	WireBytes     uint64      `json:"wire_bytes"`
	PeakBPS       float64     `json:"peak_bps"`
	Peers         int         `json:"peers"`
	Top           []hostJSON  `json:"top"`
	Remediation   string      `json:"remediation,omitempty"`
	// Sampling is the alert's sampling object: null for full packets.
	Sampling *samplingJSON `json:"sampling"`
}

// samplingJSON states how an incident's figures were estimated from sampled input, as its
// alerts do.
type samplingJSON struct {
	Rate     uint64  `json:"rate"`
	Samples  uint64  `json:"samples"`
	ErrorPct float64 `json:"error_pct"`
	// DistinctCounts is "lower_bound" when peers count the ones seen in samples only.
	DistinctCounts string `json:"distinct_counts"`
}

// flowsSummary is what a sampled-flow run's exporters sent, in total and each.
type flowsSummary struct {
	Datagrams uint64 `json:"datagrams"`
	Samples   uint64 `json:"samples"`
	Records   uint64 `json:"records"`
	Lost      uint64 `json:"lost"`   // what sequence numbers say never came
	Drops     uint64 `json:"drops"`  // samples the agents dropped
	Unread    uint64 `json:"unread"` // samples and data sets that could not be read
	// Invalid counts by protocol the datagrams that were none.
	Invalid   map[string]uint64 `json:"invalid_datagrams"`
	Exporters []exporterSummary `json:"exporters"`
}

type exporterSummary struct {
	Name      string      `json:"name"`
	Protocol  string      `json:"protocol"`
	Addr      *netip.Addr `json:"addr"` // null for "other", the exporters past the cap
	Datagrams uint64      `json:"datagrams"`
	Samples   uint64      `json:"samples"`
	Records   uint64      `json:"records"`
	Lost      uint64      `json:"lost"`
	Drops     uint64      `json:"drops"`
	Unread    uint64      `json:"unread"`
	Rate      uint32      `json:"sampling_rate"` // the latest seen, 1 in this; 0 before any
}

type hostJSON struct {
	Addr    netip.Addr `json:"addr"`
	Packets uint64     `json:"packets"`
	Bytes   uint64     `json:"bytes"`
}

// talker is one entry of a top list, with the amplification and the time span of the
// incidents it took part in.
type talker struct {
	Addr          netip.Addr `json:"addr"`
	Protocol      string     `json:"protocol"`
	Packets       uint64     `json:"packets"`
	Bytes         uint64     `json:"bytes"`
	Amplification *float64   `json:"amplification"`
	First         time.Time  `json:"first_seen"`
	Last          time.Time  `json:"last_seen"`
	Duration      float64    `json:"duration_seconds"`
}

type tableSummary struct {
	Name      string `json:"name"`
	Len       int    `json:"len"`
	Cap       int    `json:"cap"`
	Peak      int    `json:"peak"`
	Evictions uint64 `json:"evictions"`
	Refusals  uint64 `json:"refusals"`
	Deferred  uint64 `json:"deferred"` // first packets of new hosts turned away at the cap
}

// alertsSummary says what became of the alerts. The totals add up every sink's counts, so
// with two sinks an alert delivered to both counts twice; Events counts each alert once.
type alertsSummary struct {
	Events    uint64        `json:"events"` // alert events emitted
	Delivered uint64        `json:"delivered"`
	Spooled   uint64        `json:"spooled"`
	Lost      uint64        `json:"lost"`
	Replayed  uint64        `json:"replayed"`
	Backlog   uint64        `json:"backlog"` // alerts of earlier runs still in the spool
	Sinks     []sinkSummary `json:"sinks"`
}

type sinkSummary struct {
	Name      string `json:"name"`
	Delivered uint64 `json:"delivered"`
	Spooled   uint64 `json:"spooled"`
	Lost      uint64 `json:"lost"`
	Replayed  uint64 `json:"replayed"`
	Backlog   uint64 `json:"backlog"`         // alerts of earlier runs still in the spool
	Error     string `json:"error,omitempty"` // the sink's last error, when it lost or spooled alerts
}

type runSummary struct {
	Elapsed          float64 `json:"elapsed_seconds"`
	PacketsPerSecond float64 `json:"packets_per_second"`
	Interrupted      bool    `json:"interrupted"` // a signal ended the run before its input did
	Sensor           string  `json:"sensor"`
	Version          string  `json:"version"` // of the ntpwatch that ran
}

// modeNames are the NTP modes of RFC 5905 section 7.3, and 6 and 7 as ntpq and ntpdc use them.
var modeNames = [8]string{"reserved", "symmetric_active", "symmetric_passive", "client", "server", "broadcast", "control", "private"}

// Input is what a finished run knows: what each layer counted.
type Input struct {
	Files       []string // the inputs read, as the user named them ("-" for stdin)
	Decode      decode.Stats
	Table       *proto.Table // the protocols decoded; proto.Default when nil
	Engine      detect.Report
	Outputs     sinks.Report
	First, Last time.Time // packet times of the first and last frame, when Seen
	Seen        bool
	Elapsed     time.Duration
	Interrupted bool // a signal ended the run before its input did
	FragmentCap int  // the capacity of the decoders' fragment tables together
	Selection   decode.Selection
	Skipped     uint64 // frames the selection did not pass
	Sensor      string // the sensor name the alerts carry
	Version     string // ntpwatch's version, as the version command prints it
	// Flows is the account of a sampled-flow run's collector; nil for packet captures.
	Flows *flow.Stats
}

// Build gathers the figures of a finished run.
func Build(in Input) Summary {
	if in.Table == nil {
		in.Table = proto.Default
	}
	ds, es := &in.Decode, &in.Engine
	s := Summary{Schema: Schema}
	names := make([]string, len(in.Files))
	for i, f := range in.Files {
		names[i] = f
		if f == "-" {
			names[i] = "stdin"
		}
	}
	s.Inputs = inputSummary{Files: names, Packets: ds.Frames, WireBytes: ds.WireBytes, LinkTypes: map[string]uint64{},
		ClockOutliers: es.ClockOutliers, ClockSteps: es.ClockSteps}
	if in.Seen {
		first, last := in.First.UTC(), in.Last.UTC()
		s.Inputs.First, s.Inputs.Last = &first, &last
		s.Inputs.Duration = last.Sub(first).Seconds()
	}
	for _, c := range ds.LinkTypes {
		if c.Frames > 0 {
			s.Inputs.LinkTypes[c.Type.String()] += c.Frames
		}
	}
	if ds.OtherLinkTypes > 0 {
		s.Inputs.LinkTypes["other"] += ds.OtherLinkTypes
	}
	s.Inputs.NotIP = ds.NotIP
	s.Inputs.Encapsulations = map[string]uint64{}
	for _, k := range decode.EncapKinds() {
		if n := ds.Encaps[k]; n > 0 {
			s.Inputs.Encapsulations[k.String()] = n
		}
	}
	if sel := in.Selection; !sel.IsZero() {
		s.Inputs.Selection = &selectionSummary{Filter: sel.Filter, Count: sel.Count, Skipped: in.Skipped,
			Start: utcOrNil(sel.Start), End: utcOrNil(sel.End)}
	}

	ntp := in.Table.Protocols()[0]
	for _, p := range in.Table.Protocols() {
		if p.Name == proto.NTPProtocol.Name {
			ntp = p
		}
	}
	nd := &ds.Protocols[ntp.ID]
	s.NTP = ntpSummary{Messages: nd.Messages, ByMode: map[string]uint64{}, ByVector: map[string]vectorSummary{},
		Partial: ds.Partial, Malformed: nd.Malformed, Fragments: nd.Fragments}
	for m := 1; m < 8; m++ {
		s.NTP.ByMode[modeNames[m]] = ds.NTPModes[m]
	}
	for v, vec := range ntp.Vectors {
		s.NTP.ByVector[vec.Name] = vectorSummary{nd.Requests[v], nd.Responses[v]}
	}
	if u := proto.VectorUnknown; nd.Requests[u]+nd.Responses[u] > 0 {
		s.NTP.ByVector[proto.VectorUnknownName] = vectorSummary{nd.Requests[u], nd.Responses[u]}
	}
	if in.Flows != nil {
		s.Flows = newFlowsSummary(in.Flows)
	}
	s.Protocols = map[string]protocolSummary{}
	for _, p := range in.Table.Protocols() {
		ps := &ds.Protocols[p.ID]
		if ps.Messages+ps.Malformed+ps.Fragments == 0 {
			continue
		}
		sum := protocolSummary{Messages: ps.Messages, ByVector: map[string]vectorSummary{}, Malformed: ps.Malformed, Fragments: ps.Fragments}
		for v, vec := range p.Vectors {
			sum.ByVector[vec.Name] = vectorSummary{ps.Requests[v], ps.Responses[v]}
		}
		if u := proto.VectorUnknown; ps.Requests[u]+ps.Responses[u] > 0 {
			sum.ByVector[proto.VectorUnknownName] = vectorSummary{ps.Requests[u], ps.Responses[u]}
		}
		s.Protocols[p.Name] = sum
	}
	s.Problems = map[string]uint64{}
	for _, p := range decode.Problems() {
		s.Problems[p.String()] = ds.Problems[p]
	}

	inc := &s.Incidents
	inc.ByKind = map[string]kindSummary{}
	for _, k := range es.Kinds {
		inc.ByKind[string(k.Kind)] = kindSummary{k.Incidents, k.Events}
		inc.Total += k.Incidents
	}
	inc.List = make([]incidentRow, 0, len(es.Incidents))
	for _, in := range es.Incidents {
		inc.List = append(inc.List, newIncidentRow(in))
	}
	inc.Dropped = es.IncidentsDropped
	inc.TopReflectors = talkers(es.TopReflectors)
	inc.TopVictims = talkers(es.TopVictims)
	inc.TopScanners = talkers(es.TopScanners)

	for _, t := range es.Tables {
		s.Tables = append(s.Tables, tableSummary{t.Name, t.Len, t.Cap, t.Peak, t.Evictions, t.Refusals, t.Deferred})
	}
	s.Tables = append(s.Tables, tableSummary{Name: "fragments", Len: int(ds.FragmentsTracked), Cap: in.FragmentCap,
		Evictions: ds.FragmentEvictions})

	rep := &in.Outputs
	s.Alerts = alertsSummary{Delivered: rep.Delivered, Spooled: rep.Spooled, Lost: rep.Lost, Replayed: rep.Replayed,
		Backlog: rep.Backlog, Sinks: []sinkSummary{}}
	for _, k := range es.Kinds {
		s.Alerts.Events += k.Events
	}
	for _, r := range rep.Sinks {
		ss := sinkSummary{Name: r.Name, Delivered: r.Delivered, Spooled: r.Spooled, Lost: r.Lost, Replayed: r.Replayed,
			Backlog: r.Backlog}
		if r.Err != nil && (r.Lost > 0 || r.Spooled > 0 || r.Backlog > 0 || r.Broken) {
			ss.Error = r.Err.Error()
		}
		s.Alerts.Sinks = append(s.Alerts.Sinks, ss)
	}
	s.Run.Elapsed = in.Elapsed.Seconds()
	if in.Elapsed > 0 {
		s.Run.PacketsPerSecond = float64(ds.Frames) / in.Elapsed.Seconds()
	}
	s.Run.Interrupted = in.Interrupted
	s.Run.Sensor, s.Run.Version = in.Sensor, in.Version
	s.timelines = map[string][]detect.Point{}
	s.detected = map[string]time.Time{}
	for _, in := range es.Incidents {
		s.timelines[in.ID] = in.Timeline
		s.detected[in.ID] = in.Detected
	}
	s.Attacks = attacks(es.Incidents)
	return s
}

func utcOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

func newIncidentRow(in detect.IncidentSummary) incidentRow {
	r := incidentRow{
		ID: in.ID, Kind: string(in.Kind), Severity: string(in.Severity), Protocol: in.Protocol, Vector: in.Vector,
		Subject: in.Subject, Open: in.Open, First: in.FirstSeen, Last: in.LastSeen,
		Duration:  in.LastSeen.Sub(in.FirstSeen).Seconds(),
		Requests:  counterJSON{in.Requests.Packets, in.Requests.Bytes},
		Responses: counterJSON{in.Responses.Packets, in.Responses.Bytes},
		WireBytes: in.WireBytes, PeakBPS: in.PeakBPS, Peers: in.Peers, Top: []hostJSON{},
		Remediation: in.Remediation,
	}
	if in.HasAmplification {
		a := in.Amplification
		r.Amplification = &a
	}
	if sm := in.Sampling; sm.Samples > 0 {
		r.Sampling = &samplingJSON{Rate: sm.Rate, Samples: sm.Samples, ErrorPct: sm.ErrorPct, DistinctCounts: "exact"}
		if sm.LowerBounds {
			r.Sampling.DistinctCounts = "lower_bound"
		}
	}
	for _, h := range in.Top {
		r.Top = append(r.Top, hostJSON{h.Addr, h.Packets, h.Bytes})
	}
	return r
}

// newFlowsSummary totals a flow collector's account.
func newFlowsSummary(fs *flow.Stats) *flowsSummary {
	out := &flowsSummary{Invalid: map[string]uint64{}, Exporters: []exporterSummary{}}
	for _, p := range flow.Protocols() {
		out.Invalid[p.String()] = fs.Invalid[p]
	}
	for _, e := range fs.Exporters {
		es := exporterSummary{Name: e.Name, Protocol: e.Protocol.String(), Datagrams: e.Datagrams, Samples: e.Samples,
			Records: e.Records, Lost: e.Lost, Drops: e.Drops, Unread: e.Unread, Rate: e.Rate}
		if e.Addr.IsValid() {
			a := e.Addr
			es.Addr = &a
		}
		out.Exporters = append(out.Exporters, es)
		out.Datagrams += e.Datagrams
		out.Samples += e.Samples
		out.Records += e.Records
		out.Lost += e.Lost
		out.Drops += e.Drops
		out.Unread += e.Unread
	}
	return out
}

// talkers converts a top list of the engine's report.
func talkers(top []detect.Talker) []talker {
	out := make([]talker, 0, len(top))
	for _, h := range top {
		t := talker{Addr: h.Addr, Protocol: h.Protocol, Packets: h.Packets, Bytes: h.Bytes, First: h.First, Last: h.Last,
			Duration: h.Last.Sub(h.First).Seconds()}
		if h.HasAmplification {
			a := h.Amplification
			t.Amplification = &a
		}
		out = append(out, t)
	}
	return out
}

// WriteJSON writes s, indented, to w: the --summary-json file.
func (s *Summary) WriteJSON(w io.Writer) error {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(data, '\n'))
	return err
}
