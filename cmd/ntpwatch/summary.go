package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/gopacket/layers"
	"github.com/ntpwatch/ntpwatch/decode"
	"github.com/ntpwatch/ntpwatch/detect"
	"github.com/ntpwatch/ntpwatch/sinks"
)

// summarySchema names the layout of --summary-json (README "The analyst's view").
const summarySchema = "ntpwatch.summary/v1"

// summary is the account of a run: what was read, what it held and what was found. The same
// value is printed on stderr for people (writeSummaryText) and written as JSON for scripts.
type summary struct {
	Schema    string            `json:"schema"`
	Inputs    inputSummary      `json:"inputs"`
	NTP       ntpSummary        `json:"ntp"`
	Problems  map[string]uint64 `json:"decode_problems"` // every reason, zeros included
	Incidents incidentsSummary  `json:"incidents"`
	Tables    []tableSummary    `json:"tables"`
	Alerts    alertsSummary     `json:"alerts"`
	Run       runSummary        `json:"run"`
}

type inputSummary struct {
	Files     []string          `json:"files"`
	Packets   uint64            `json:"packets"`
	WireBytes uint64            `json:"wire_bytes"`
	First     *time.Time        `json:"first_packet"` // null when no packet was read
	Last      *time.Time        `json:"last_packet"`
	Duration  float64           `json:"duration_seconds"`
	LinkTypes map[string]uint64 `json:"link_types"` // frames by link type name, the ones seen
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

type alertsSummary struct {
	Delivered uint64 `json:"delivered"`
	Spooled   uint64 `json:"spooled"`
	Lost      uint64 `json:"lost"`
	Replayed  uint64 `json:"replayed"`
}

type runSummary struct {
	Elapsed          float64 `json:"elapsed_seconds"`
	PacketsPerSecond float64 `json:"packets_per_second"`
}

// modeNames are the NTP modes of RFC 5905 section 7.3, and 6 and 7 as ntpq and ntpdc use them.
var modeNames = [8]string{"reserved", "symmetric_active", "symmetric_passive", "client", "server", "broadcast", "control", "private"}

// buildSummary gathers the figures of a finished run.
func buildSummary(files []string, span timeSpan, ds decode.Stats, es detect.Stats, rep sinks.Report, elapsed time.Duration) summary {
	s := summary{Schema: summarySchema}
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = f
		if f == "-" {
			names[i] = "stdin"
		}
	}
	s.Inputs = inputSummary{Files: names, Packets: ds.Frames, WireBytes: ds.WireBytes, LinkTypes: map[string]uint64{}}
	if span.seen {
		first, last := time.Unix(0, span.first).UTC(), time.Unix(0, span.last).UTC()
		s.Inputs.First, s.Inputs.Last = &first, &last
		s.Inputs.Duration = last.Sub(first).Seconds()
	}
	for lt, n := range ds.LinkTypes {
		if n > 0 {
			s.Inputs.LinkTypes[layers.LinkType(lt).String()] = n
		}
	}

	s.NTP = ntpSummary{Messages: ds.NTP, ByMode: map[string]uint64{}, ByVector: map[string]vectorSummary{},
		Partial: ds.Partial, Malformed: ds.Malformed, Fragments: ds.Fragments}
	for m := 1; m < 8; m++ {
		s.NTP.ByMode[modeNames[m]] = ds.Modes[m]
	}
	for _, v := range es.ByVector {
		s.NTP.ByVector[string(v.Vector)] = vectorSummary{v.Requests, v.Responses}
	}
	s.Problems = map[string]uint64{}
	for _, p := range decode.Problems() {
		s.Problems[p.String()] = ds.Problems[p]
	}

	inc := &s.Incidents
	inc.ByKind = map[string]kindSummary{}
	for _, k := range es.Alerts {
		inc.ByKind[string(k.Kind)] = kindSummary{k.Incidents, k.Events}
		inc.Total += k.Incidents
	}
	inc.List = make([]incidentRow, 0, len(es.Incidents))
	for _, in := range es.Incidents {
		inc.List = append(inc.List, newIncidentRow(in))
	}
	inc.Dropped = es.IncidentsDropped
	inc.TopReflectors = talkers(es.TopReflectors, es.Incidents, reflectorOf)
	inc.TopVictims = talkers(es.TopVictims, es.Incidents, victimOf)
	inc.TopScanners = talkers(es.TopScanners, es.Incidents, scannerOf)

	for _, t := range es.Tables {
		s.Tables = append(s.Tables, tableSummary{t.Name, t.Len, t.Cap, t.Peak, t.Evictions, t.Refusals, t.Deferred})
	}
	s.Tables = append(s.Tables, tableSummary{Name: "fragments", Len: int(ds.FragmentsTracked), Evictions: ds.FragmentEvictions})

	s.Alerts = alertsSummary{rep.Delivered, rep.Spooled, rep.Lost, rep.Replayed}
	s.Run.Elapsed = elapsed.Seconds()
	if elapsed > 0 {
		s.Run.PacketsPerSecond = float64(ds.Frames) / elapsed.Seconds()
	}
	return s
}

func newIncidentRow(in detect.IncidentSummary) incidentRow {
	r := incidentRow{
		ID: in.ID, Kind: string(in.Kind), Severity: string(in.Severity), Vector: string(in.Vector),
		Subject: in.Subject, Open: in.Open, First: in.FirstSeen, Last: in.LastSeen,
		Duration:  in.LastSeen.Sub(in.FirstSeen).Seconds(),
		Requests:  counterJSON{in.Requests.Packets, in.Requests.Bytes},
		Responses: counterJSON{in.Responses.Packets, in.Responses.Bytes},
		WireBytes: in.WireBytes, PeakBPS: in.PeakBPS, Peers: in.Peers, Top: []hostJSON{},
	}
	if in.HasAmplification {
		a := in.Amplification
		r.Amplification = &a
	}
	for _, h := range in.Top {
		r.Top = append(r.Top, hostJSON{h.Addr, h.Packets, h.Bytes})
	}
	return r
}

// The roles of a top list: whether an incident concerns addr in that role, and with which
// traffic (as detect ranks them).
func reflectorOf(in *detect.IncidentSummary, addr netip.Addr) (detect.Counter, bool) {
	ok := (in.Kind == detect.KindReflection || in.Kind == detect.KindExposedAmplifier) && in.Subject == addr
	return in.Responses, ok
}

func victimOf(in *detect.IncidentSummary, addr netip.Addr) (detect.Counter, bool) {
	switch in.Kind {
	case detect.KindVictimFlood:
		return in.Responses, in.Subject == addr
	case detect.KindSpoofedEgress:
		return in.Requests, in.Subject == addr
	case detect.KindReflection:
		for _, v := range in.Top {
			if v.Addr == addr {
				return detect.Counter{Packets: v.Packets, Bytes: v.Bytes}, true
			}
		}
	}
	return detect.Counter{}, false
}

func scannerOf(in *detect.IncidentSummary, addr netip.Addr) (detect.Counter, bool) {
	return in.Requests, in.Kind == detect.KindScan && in.Subject == addr
}

// talkers adds to a top list the amplification and time span of the incidents each host
// took part in (in role), which detect's ranking leaves out. Its packets and bytes are the
// largest of the sums per kind: the exposed_amplifier and reflection incidents of one server
// count the same replies, so adding them up would count them twice.
func talkers(top []detect.HostStat, incs []detect.IncidentSummary, role func(*detect.IncidentSummary, netip.Addr) (detect.Counter, bool)) []talker {
	out := make([]talker, 0, len(top))
	for _, h := range top {
		t := talker{Addr: h.Addr}
		type sums struct{ c, req, resp detect.Counter }
		perKind := map[detect.Kind]sums{}
		for i := range incs {
			in := &incs[i]
			c, ok := role(in, h.Addr)
			if !ok {
				continue
			}
			k := perKind[in.Kind]
			addCounter(&k.c, c)
			addCounter(&k.req, in.Requests)
			addCounter(&k.resp, in.Responses)
			perKind[in.Kind] = k
			if t.First.IsZero() || in.FirstSeen.Before(t.First) {
				t.First = in.FirstSeen
			}
			if in.LastSeen.After(t.Last) {
				t.Last = in.LastSeen
			}
		}
		var best sums
		for _, k := range perKind {
			if k.c.Bytes > best.c.Bytes || k.c.Bytes == best.c.Bytes && k.req.Bytes > best.req.Bytes {
				best = k
			}
		}
		t.Packets, t.Bytes = best.c.Packets, best.c.Bytes
		if len(perKind) == 0 { // not found again: keep detect's figures
			t.Packets, t.Bytes = h.Packets, h.Bytes
		}
		if best.req.Bytes > 0 {
			a := float64(best.resp.Bytes) / float64(best.req.Bytes)
			t.Amplification = &a
		}
		t.Duration = t.Last.Sub(t.First).Seconds()
		out = append(out, t)
	}
	return out
}

// writeSummaryJSON writes s, indented, to path.
func writeSummaryJSON(path string, s *summary) error {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("--summary-json: %w", err)
	}
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("--summary-json: %w", err)
	}
	return nil
}

// analystOptions are the read flags for what the analyst gets besides alerts. They are
// outputs of one run, not configuration, so they live outside Config and its YAML file.
type analystOptions struct {
	summaryJSON string
	report      string
}

func (o *analystOptions) flags(fs *flag.FlagSet, _ *Config) {
	fs.StringVar(&o.summaryJSON, "summary-json", o.summaryJSON, "also write the end-of-run summary as JSON to `file`, for scripts")
	fs.StringVar(&o.report, "report", o.report, "write an HTML report (timeline per incident, incident table, top talkers) to `file`")
}

// timeSpan is the first and last packet time of a run, Unix nanoseconds.
type timeSpan struct {
	first, last int64
	seen        bool
}

// add widens the span to t.
func (s *timeSpan) add(t int64) {
	switch {
	case !s.seen:
		*s = timeSpan{t, t, true}
	case t > s.last:
		s.last = t
	case t < s.first:
		s.first = t
	}
}

// runView watches a run for the analyst: the frame counter the progress bar shows, the time
// span the summary shows and, with --report, the timelines. The reader goroutine keeps its
// frame count and span in its own variables and stores them here every progressEvery frames
// (published, atomic) and at its end (span): a field it wrote per frame would share a cache
// line with the fields the analysis goroutine reads per packet, and the line's trips between
// the cores cost 12% of the run on make bench's attack capture.
type runView struct {
	published atomic.Uint64 // frames read, stored every progressEvery frames for the progress bar
	span      timeSpan      // the reader's, set when it ends
	timelines *timelines    // the analysis goroutine's; nil without --report
}

// progressEvery is how many frames pass between two stores of the counter the progress bar
// reads: an atomic store per packet would cost more than the bar is worth.
const progressEvery = 1 << 10

// packet sees the packets the analysis gets (NTP, malformed port-123 datagrams, fragments).
func (v *runView) packet(p *decode.Packet) {
	if v.timelines != nil {
		v.timelines.packet(p, p.Time.UnixNano())
	}
}

// alert sees every alert event before the outputs do.
func (v *runView) alert(a *detect.Alert) {
	if v.timelines != nil {
		v.timelines.alert(a)
	}
}

// clock is the wall clock of the elapsed time in the summary; tests stop it.
var clock = time.Now

// startView prepares the view of a run for the outputs opts asks for.
func (p *pipeline) startView(opts *analystOptions) {
	if opts.report != "" {
		p.view.timelines = newTimelines()
	}
}

// writeSummaries prints the summary on w and writes the files of --summary-json and
// --report. It is called once the outputs are closed, so that the alerts' fate is known.
func (p *pipeline) writeSummaries(w io.Writer, files []string, opts *analystOptions) error {
	s := buildSummary(files, p.view.span, p.dec.Stats(), p.eng.Stats(), p.report, clock().Sub(p.started))
	if tl := p.view.timelines; tl != nil {
		s.Tables = append(s.Tables, tableSummary{Name: "report_timelines", Len: len(tl.hosts),
			Cap: maxTimelineHosts, Evictions: tl.evicted, Refusals: tl.refused})
	}
	writeSummaryText(w, &s)
	var errs []error
	if opts.summaryJSON != "" {
		errs = append(errs, writeSummaryJSON(opts.summaryJSON, &s))
	}
	if opts.report != "" {
		errs = append(errs, writeReport(opts.report, &s, p.view.timelines))
	}
	return errors.Join(errs...)
}

// addCounter adds o to c.
func addCounter(c *detect.Counter, o detect.Counter) {
	c.Packets += o.Packets
	c.Bytes += o.Bytes
}

// flagError rewords the flag package's errors as one line that says what to do.
func flagError(cmd string, err error) error {
	msg := strings.TrimSpace(err.Error())
	if f, ok := strings.CutPrefix(msg, "flag provided but not defined: "); ok {
		return fmt.Errorf("unknown flag %s; 'ntpwatch %s -h' lists the flags", f, cmd)
	}
	if f, ok := strings.CutPrefix(msg, "flag needs an argument: "); ok {
		return fmt.Errorf("flag %s needs a value", f)
	}
	return errors.New(msg)
}
