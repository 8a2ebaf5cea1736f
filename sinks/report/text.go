package report

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ntpwatch/ntpwatch/decode"
	"github.com/ntpwatch/ntpwatch/decode/flow"
)

// maxSummaryIncidents is how many incidents the text summary lists; --summary-json and
// --report have them all.
const maxSummaryIncidents = 10

// summaryLabel is the width of the label column of the text summary.
const summaryLabel = 12

// WriteText prints s for people: a label column and aligned values, zeros left out.
func (s *Summary) WriteText(w io.Writer) {
	line := func(label, format string, args ...any) {
		fmt.Fprintf(w, "  %-*s%s\n", summaryLabel, label, fmt.Sprintf(format, args...))
	}
	in := &s.Inputs
	fmt.Fprintln(w, "ntpwatch summary")
	files := strings.Join(in.Files, " ")
	if len(in.Files) > 3 {
		files = fmt.Sprintf("%d files: %s .. %s", len(in.Files), in.Files[0], in.Files[len(in.Files)-1])
	}
	line("input", "%s", files)
	if sel := in.Selection; sel != nil {
		line("", "%s, %s skipped", sel.Describe(), Count(sel.Skipped, "frame"))
	}
	if f := s.Flows; f != nil {
		// The frames decoded are sampled headers; the capture's own frames were the
		// exporters' datagrams, counted below.
		line("", "%s and %s from %s", Count(f.Samples, "sampled header"), Count(f.Records, "flow record"),
			Count(f.Datagrams, "export datagram"))
	} else {
		line("", "%s, %s on the wire%s", Count(in.Packets, "packet"), humanBytes(in.WireBytes), linkTypes(in.LinkTypes))
	}
	if len(in.Encapsulations) > 0 {
		line("", "encapsulated%s", nonZero(in.Encapsulations, encapNames(), ""))
	}
	if in.First != nil {
		line("", "%s .. %s (%s)", in.First.Format("2006-01-02 15:04:05.000"), timeAfter(*in.First, *in.Last),
			shortDuration(in.Duration))
	}
	if in.ClockOutliers+in.ClockSteps > 0 {
		line("", "clock: %s counted at the clock's time, %s back (time went on)",
			Count(in.ClockOutliers, "outlier frame"), Count(in.ClockSteps, "step"))
	}
	// Frames of other network protocols (ARP, LLDP, ...) are traffic the link carries, not
	// a problem of the capture: they are told apart from the problems.
	if n := in.NotIP; n > 0 {
		line("", "%s not IP (ARP, LLDP and the like), not analysed", Count(n, "frame"))
	}

	line("ntp", "%s%s", Count(s.NTP.Messages, "message"), nonZero(s.NTP.ByMode, modeNames[1:], ""))
	if vec := vectors(s.NTP.ByVector); vec != "" {
		line("", "amplifying: %s", vec)
	}
	var odd []string
	for _, c := range []struct {
		n    uint64
		what string
	}{{s.NTP.Malformed, "malformed"}, {s.NTP.Partial, "partial"}, {s.NTP.Fragments, "fragments"}} {
		if c.n > 0 {
			odd = append(odd, Commas(c.n)+" "+c.what)
		}
	}
	if len(odd) > 0 {
		line("", "%s", strings.Join(odd, ", "))
	}
	// The other protocols: their messages, and the amplifying requests and replies by
	// vector, whose names carry the protocol's.
	others, byVector := []string{}, map[string]vectorSummary{}
	for _, name := range sortedKeys(s.Protocols) {
		if name == "ntp" {
			continue
		}
		p := s.Protocols[name]
		others = append(others, name+" "+Commas(p.Messages))
		for v, c := range p.ByVector {
			byVector[v] = c
		}
	}
	if len(others) > 0 {
		line("protocols", "messages: %s", strings.Join(others, ", "))
		if vec := vectors(byVector); vec != "" {
			line("", "amplifying: %s", vec)
		}
	}
	problems := nonZero(s.Problems, problemNames(), "")
	if problems == "" {
		problems = ": none"
	}
	line("problems", "%s", strings.TrimPrefix(problems, ": "))

	if s.Flows != nil {
		writeFlows(w, s.Flows)
	}

	inc := &s.Incidents
	kinds := nonZeroKinds(inc.ByKind)
	line("incidents", "%s%s", Commas(inc.Total), kinds)
	if len(inc.List) > 0 {
		writeIncidentTable(w, inc.List, inc.Dropped)
	}
	for _, a := range s.Attacks {
		line("attack", "%s hit through %d protocols at once: %s .. %s (%s), %s of replies on the wire, peak %s",
			a.Victim, len(a.Protocols), a.First.Format("15:04:05"), a.Last.Format("15:04:05"), shortDuration(a.Duration),
			humanBytes(a.WireBytes), humanBits(a.PeakBPS))
		shares := make([]string, len(a.Protocols))
		for i, p := range a.Protocols {
			shares[i] = fmt.Sprintf("%s %.0f%%", p.Protocol, 100*p.Share)
		}
		line("", "%s", strings.Join(shares, ", "))
	}
	for _, top := range []struct {
		title string
		list  []talker
	}{{"top reflectors", inc.TopReflectors}, {"top victims", inc.TopVictims}, {"top scanners", inc.TopScanners}} {
		if len(top.list) > 0 {
			writeTalkers(w, top.title, top.list)
		}
	}

	for _, t := range s.Tables {
		if t.Evictions > 0 || t.Refusals > 0 || t.Deferred > 0 {
			text := fmt.Sprintf("%s evicted, %s refused", Commas(t.Evictions), Commas(t.Refusals))
			if t.Deferred > 0 {
				text += fmt.Sprintf(", %s first packets turned away", Commas(t.Deferred))
			}
			line("table "+t.Name, "%s (cap %s, peak %s)", text, Commas(uint64(t.Cap)), Commas(uint64(t.Peak)))
		}
	}
	// Each sink accounts for every alert, so the counts are per sink: with two sinks, six
	// alerts are six delivered twice, not twelve.
	alerts := []string{Commas(s.Alerts.Events) + " emitted"}
	for _, k := range s.Alerts.Sinks {
		text := fmt.Sprintf("%s: %s delivered, %s spooled, %s lost", k.Name, Commas(k.Delivered), Commas(k.Spooled), Commas(k.Lost))
		if k.Replayed > 0 {
			text += fmt.Sprintf(", %s replayed from the spool", Commas(k.Replayed))
		}
		if k.Backlog > 0 {
			text += fmt.Sprintf(", %s of earlier runs still in the spool", Commas(k.Backlog))
		}
		alerts = append(alerts, text)
	}
	line("alerts", "%s", strings.Join(alerts, "; "))
	line("elapsed", "%s, %s packets/s", shortDuration(s.Run.Elapsed), Commas(uint64(math.Round(s.Run.PacketsPerSecond))))
}

// Describe says what picked the frames analysed: `filter "udp port 123", from 2026-03-14
// 09:00:00.000 UTC, at most 100 frames`.
func (sel *selectionSummary) Describe() string {
	var parts []string
	if sel.Filter != "" {
		parts = append(parts, "filter "+strconv.Quote(sel.Filter))
	}
	if sel.Start != nil {
		parts = append(parts, "from "+sel.Start.Format("2006-01-02 15:04:05.000 MST"))
	}
	if sel.End != nil {
		parts = append(parts, "before "+sel.End.Format("2006-01-02 15:04:05.000 MST"))
	}
	if sel.Count > 0 {
		parts = append(parts, "at most "+Count(sel.Count, "frame"))
	}
	return strings.Join(parts, ", ")
}

// Count writes n with thousands separators and the noun, plural unless n is 1: "1 message",
// "3,266 messages".
func Count(n uint64, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return Commas(n) + " " + noun + "s"
}

// writeIncidentTable lists the largest incidents by wire bytes, in start order, and says how
// many it left out: those of --summary-json and --report, and those the engine did not keep
// (tables.max_history, past which it keeps the largest).
func writeIncidentTable(w io.Writer, list []incidentRow, dropped uint64) {
	rows := largestRows(list, maxSummaryIncidents)
	t := textTable{right: []bool{false, false, false, false, true, true, true, true, true, true, true}}
	t.add("kind", "protocol", "subject", "severity", "requests", "replies", "bytes", "ampl.", "peak", "start", "duration")
	for _, r := range rows {
		t.add(r.Kind, r.Protocol, r.Subject.String(), r.Severity,
			Commas(r.Requests.Packets), Commas(r.Responses.Packets), humanBytes(r.Responses.Bytes),
			amplification(r.Amplification), humanBits(r.PeakBPS), r.First.Format("15:04:05"), shortDuration(r.Duration))
	}
	t.write(w, "    ")
	if more := len(list) - len(rows); more > 0 {
		fmt.Fprintf(w, "    ... and %s smaller (--summary-json lists them)\n", Commas(uint64(more)))
	}
	if dropped > 0 {
		fmt.Fprintf(w, "    %s smaller ended incidents left out of the summary, --summary-json and --report (tables.max_history)\n",
			Commas(dropped))
	}
}

// largestRows returns the n largest incidents of list by wire bytes, or all of them, in the
// order of their first packet.
func largestRows(list []incidentRow, n int) []incidentRow {
	rows := slices.Clone(list)
	if len(rows) > n {
		slices.SortStableFunc(rows, func(a, b incidentRow) int { return cmpDesc(a.WireBytes, b.WireBytes) })
		rows = rows[:n]
	}
	slices.SortStableFunc(rows, func(a, b incidentRow) int { return a.First.Compare(b.First) })
	return rows
}

// writeTalkers prints one top list.
func writeTalkers(w io.Writer, title string, list []talker) {
	fmt.Fprintf(w, "  %s\n", title)
	t := textTable{right: []bool{false, false, true, true, true, true}}
	t.add("address", "protocol", "packets", "bytes", "ampl.", "duration")
	for _, h := range list {
		t.add(h.Addr.String(), h.Protocol, Commas(h.Packets), humanBytes(h.Bytes), amplification(h.Amplification), shortDuration(h.Duration))
	}
	t.write(w, "    ")
}

// WriteExporters prints the account of a flow collector's exporters as the summary shows it:
// the end of `ntpwatch flow`.
func WriteExporters(w io.Writer, fs *flow.Stats) {
	writeFlows(w, newFlowsSummary(fs))
}

// writeFlows prints the exporters of a sampled-flow run: what each sent, what was lost on the
// way (sequence gaps) or at the agent (drops), what could not be read, and its sampling rate.
// The alerts' figures are estimates from these samples (each alert's sampling says how good).
func writeFlows(w io.Writer, f *flowsSummary) {
	text := fmt.Sprintf("%s, %s lost on the way, %s dropped by the agents, %s unread",
		Count(uint64(len(f.Exporters)), "exporter"), Commas(f.Lost), Commas(f.Drops), Commas(f.Unread))
	var invalid uint64
	for _, n := range f.Invalid {
		invalid += n
	}
	if invalid > 0 {
		var protocols []string
		for _, p := range flow.Protocols() {
			protocols = append(protocols, p.String())
		}
		text += fmt.Sprintf("; %s%s", Count(invalid, "invalid datagram"), nonZero(f.Invalid, protocols, ""))
	}
	fmt.Fprintf(w, "  %-*s%s\n", summaryLabel, "flows", text)
	if len(f.Exporters) == 0 {
		return
	}
	t := textTable{right: []bool{false, false, false, true, true, true, true, true, true, true}}
	t.add("exporter", "protocol", "address", "datagrams", "samples", "records", "lost", "drops", "unread", "rate")
	for _, e := range f.Exporters {
		addr, rate := "-", "-"
		if e.Addr != nil {
			addr = e.Addr.String()
		}
		if e.Rate > 0 {
			rate = "1:" + Commas(uint64(e.Rate))
		}
		t.add(e.Name, e.Protocol, addr, Commas(e.Datagrams), Commas(e.Samples), Commas(e.Records), Commas(e.Lost),
			Commas(e.Drops), Commas(e.Unread), rate)
	}
	t.write(w, "    ")
}

// textTable lays out columns two spaces apart, text to the left and numbers to the right.
type textTable struct {
	right []bool
	rows  [][]string
}

func (t *textTable) add(cells ...string) { t.rows = append(t.rows, cells) }

func (t *textTable) write(w io.Writer, indent string) {
	width := make([]int, len(t.right))
	for _, r := range t.rows {
		for i, c := range r {
			width[i] = max(width[i], utf8.RuneCountInString(c))
		}
	}
	for _, r := range t.rows {
		var b strings.Builder
		b.WriteString(indent)
		for i, c := range r {
			pad := strings.Repeat(" ", width[i]-utf8.RuneCountInString(c))
			if i > 0 {
				b.WriteString("  ")
			}
			if t.right[i] {
				b.WriteString(pad + c)
			} else if i < len(r)-1 {
				b.WriteString(c + pad)
			} else {
				b.WriteString(c)
			}
		}
		fmt.Fprintln(w, b.String())
	}
}

// linkTypes lists the link types seen, with counts only when there are several.
func linkTypes(m map[string]uint64) string {
	keys := sortedKeys(m)
	switch len(keys) {
	case 0:
		return ""
	case 1:
		return ", " + keys[0]
	}
	return ", link types" + nonZero(m, keys, "")
}

// nonZero lists "name count" for the non-zero entries of m in the order of keys, after ": ".
func nonZero(m map[string]uint64, keys []string, sep string) string {
	var parts []string
	for _, k := range keys {
		if n := m[k]; n > 0 {
			parts = append(parts, k+" "+Commas(n))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return ": " + strings.Join(parts, ", ") + sep
}

func nonZeroKinds(m map[string]kindSummary) string {
	var parts []string
	for _, k := range sortedKeys(m) {
		if n := m[k].Incidents; n > 0 {
			parts = append(parts, k+" "+Commas(n))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return ": " + strings.Join(parts, ", ")
}

// vectors lists the amplifying vectors seen as "monlist 30 requests / 3,000 replies".
func vectors(m map[string]vectorSummary) string {
	var parts []string
	for _, k := range sortedKeys(m) {
		v := m[k]
		if v.Requests > 0 || v.Responses > 0 {
			parts = append(parts, fmt.Sprintf("%s %s requests / %s replies", k, Commas(v.Requests), Commas(v.Responses)))
		}
	}
	return strings.Join(parts, ", ")
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func cmpDesc(a, b uint64) int {
	switch {
	case a > b:
		return -1
	case a < b:
		return 1
	}
	return 0
}

// timeAfter formats last relative to first: the time only when on the same day.
func timeAfter(first, last time.Time) string {
	if first.YearDay() == last.YearDay() && first.Year() == last.Year() {
		return last.Format("15:04:05.000 MST")
	}
	return last.Format("2006-01-02 15:04:05.000 MST")
}

// Commas writes n with thousands separators: 1,320,000.
func Commas(n uint64) string {
	s := strconv.FormatUint(n, 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// humanBytes writes n in decimal units: 1.3 MB.
func humanBytes(n uint64) string {
	return siUnits(float64(n), "B")
}

// humanBits writes a bit rate in decimal units: 23.2 Mbit/s.
func humanBits(bps float64) string {
	return siUnits(bps, "bit/s")
}

// siUnits writes v with a decimal prefix and three significant digits at most, trailing
// zeros dropped: 880 kB, 1.32 MB, 5 Mbit/s.
func siUnits(v float64, unit string) string {
	prefixes := []string{"", "k", "M", "G", "T", "P"}
	i := 0
	for v >= 999.5 && i < len(prefixes)-1 {
		v /= 1000
		i++
	}
	digits := 0
	switch {
	case i == 0:
	case v < 9.995:
		digits = 2
	case v < 99.95:
		digits = 1
	}
	n := strconv.FormatFloat(v, 'f', digits, 64)
	if digits > 0 {
		n = strings.TrimRight(strings.TrimRight(n, "0"), ".")
	}
	return n + " " + prefixes[i] + unit
}

// amplification writes a ratio with one decimal below 100 and none above: 61.2, 5500.
func amplification(a *float64) string {
	switch {
	case a == nil:
		return "-"
	case *a >= 100:
		return strconv.FormatFloat(*a, 'f', 0, 64)
	}
	return strconv.FormatFloat(*a, 'f', 1, 64)
}

// shortDuration rounds seconds to what a person reads: 0.12s, 14.5s, 2m54s, 3h02m.
func shortDuration(sec float64) string {
	switch {
	case sec < 10:
		return strconv.FormatFloat(sec, 'f', 2, 64) + "s"
	case sec < 60:
		return strconv.FormatFloat(sec, 'f', 1, 64) + "s"
	case sec < 3600:
		s := int(math.Round(sec))
		return fmt.Sprintf("%dm%02ds", s/60, s%60)
	}
	m := int(math.Round(sec / 60))
	return fmt.Sprintf("%dh%02dm", m/60, m%60)
}

// encapNames lists the encapsulations in decode's order.
func encapNames() []string {
	var names []string
	for _, k := range decode.EncapKinds() {
		names = append(names, k.String())
	}
	return names
}

// problemNames lists the decode problems in decode's order.
func problemNames() []string {
	var names []string
	for _, p := range decode.Problems() {
		names = append(names, p.String())
	}
	return names
}

// SICount writes a count in decimal units: 1.23M.
func SICount(v float64) string {
	return strings.ReplaceAll(siUnits(v, ""), " ", "")
}
