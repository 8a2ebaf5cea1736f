package report

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ntpwatch/ntpwatch/detect"
)

// maxReportCharts caps the incidents drawn with a timeline: the largest by wire bytes. The
// table lists up to maxReportRows incidents.
const (
	maxReportCharts = 12
	maxReportRows   = 500
)

//go:embed report.html.tmpl
var reportTemplateText string

var reportTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"commas":   Commas,
	"bytes":    humanBytes,
	"bits":     humanBits,
	"ampl":     amplification,
	"duration": shortDuration,
	"utc":      func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 MST") },
	"stamp":    func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05") },
	"f":        func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) },
	"pct":      func(v float64) string { return strconv.FormatFloat(100*v, 'f', 0, 64) + "%" },
	"u64":      func(n int) uint64 { return uint64(max(n, 0)) },
	"u64r":     func(n uint32) uint64 { return uint64(n) },
	"join":     func(s []string) string { return strings.Join(s, " ") },
}).Parse(reportTemplateText))

// reportData is what the template shows.
type reportData struct {
	S         *Summary
	Attacks   []attackChart
	Vectors   []vectorRow
	Charts    []chart
	Rows      []incidentRow
	MoreRows  uint64
	Undrawn   int // incidents without a chart
	Talkers   []talkerTable
	Remedies  []remedy
	Generated string
}

// remedy is what the operator of a server should do: the remediation of its incidents.
type remedy struct {
	Subject netip.Addr
	Vectors string
	Text    string
}

// remedies lists the remediation text of each server once, with the vectors it was abused
// through, in the order of the servers' first incidents.
func remedies(rows []incidentRow) []remedy {
	var out []remedy
	seen := map[string]int{}
	for _, r := range rows {
		if r.Remediation == "" {
			continue
		}
		key := r.Subject.String() + "\x00" + r.Remediation
		if i, ok := seen[key]; ok {
			if !slices.Contains(strings.Split(out[i].Vectors, ", "), r.Vector) {
				out[i].Vectors += ", " + r.Vector
			}
			continue
		}
		seen[key] = len(out)
		out = append(out, remedy{r.Subject, r.Vector, r.Remediation})
	}
	return out
}

type talkerTable struct {
	Title, Role string
	List        []talker
}

// WriteHTML writes the HTML report of a run to w: a self-contained page with a timeline per
// incident (the largest ones), the incident table and the top talkers.
func (s *Summary) WriteHTML(w io.Writer) error {
	d := reportData{S: s, Generated: fmt.Sprintf("%d packets in %s", s.Inputs.Packets, shortDuration(s.Run.Elapsed))}
	d.Rows = largestRows(s.Incidents.List, maxReportRows)
	d.MoreRows = uint64(len(s.Incidents.List) - len(d.Rows))
	drawn := slices.Clone(s.Incidents.List)
	slices.SortStableFunc(drawn, func(a, b incidentRow) int { return cmpDesc(a.WireBytes, b.WireBytes) })
	if len(drawn) > maxReportCharts {
		d.Undrawn = len(drawn) - maxReportCharts
		drawn = drawn[:maxReportCharts]
	}
	for i := range drawn {
		d.Charts = append(d.Charts, newChart(&drawn[i], s.timelines[drawn[i].ID], s.detected[drawn[i].ID]))
	}
	d.Remedies = remedies(d.Rows)
	for i := range s.Attacks {
		d.Attacks = append(d.Attacks, newAttackChart(&s.Attacks[i]))
	}
	d.Vectors = vectorRows(s)
	d.Talkers = []talkerTable{
		{"Top reflectors", "reflector", s.Incidents.TopReflectors},
		{"Top victims", "victim", s.Incidents.TopVictims},
		{"Top scanners", "scanner", s.Incidents.TopScanners},
	}
	var buf bytes.Buffer
	if err := reportTemplate.Execute(&buf, &d); err != nil {
		return err
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// Chart geometry in SVG user units: a wide replies panel over a narrow requests panel, both
// on one time axis. Requests get a panel and a scale of their own because amplification
// makes them thousands of times smaller than the replies: on one scale they would be a flat
// line at zero.
const (
	chartW       = 1100
	chartLeft    = 84
	chartRight   = 40
	replyTop     = 24
	replyHeight  = 170
	reqTop       = replyTop + replyHeight + 30
	reqHeight    = 60
	axisY        = reqTop + reqHeight
	chartH       = axisY + 28
	chartPlotW   = chartW - chartLeft - chartRight
	chartMinSpan = 10 // seconds: a one-packet incident still gets a readable axis
)

// chart is one incident's timeline, laid out for the template.
type chart struct {
	Row               *incidentRow
	Title, Subtitle   string
	W, H, Left, Right int
	PlotW             int
	Reply, Req        panel
	AxisY             int
	XTicks            []tick
	Band              [2]float64 // the incident's first..last seen, x coordinates
	Detected          *float64   // x of the start event, when known
	DetectedLabel     string
	Note              string // why there is no curve, when there is none
	Width             string // bucket width, e.g. "1 s"
}

type panel struct {
	Top, Height, Bottom int
	Label               string
	Area, Line          string // SVG path data
	YTicks              []tick
}

type tick struct {
	Pos   float64
	Label string
}

func newChart(r *incidentRow, timeline []detect.Point, detected time.Time) chart {
	c := chart{Row: r, W: chartW, H: chartH, Left: chartLeft, Right: chartW - chartRight, PlotW: chartPlotW, AxisY: axisY}
	c.Title, c.Subtitle = describeIncident(r)
	first, last := r.First.Unix(), r.Last.Unix()+1
	pad := max(2, (last-first)/10)
	from, to := first-pad, last+pad
	if to-from < chartMinSpan {
		mid := (from + to) / 2
		from, to = mid-chartMinSpan/2, mid+chartMinSpan/2
	}
	// x maps a time to its coordinate; spans reaching past the axis are cut at its ends.
	x := func(sec float64) float64 {
		v := float64(chartLeft) + (sec-float64(from))/float64(to-from)*chartPlotW
		return min(max(v, chartLeft), chartLeft+chartPlotW)
	}
	c.Band = [2]float64{x(float64(r.First.UnixNano()) / 1e9), x(float64(r.Last.UnixNano()) / 1e9)}
	c.Band[1] = max(c.Band[1], c.Band[0]+1)
	if !detected.IsZero() {
		v := x(float64(detected.UnixNano()) / 1e9)
		c.Detected, c.DetectedLabel = &v, "alert "+detected.UTC().Format("15:04:05")
	}
	c.XTicks = timeTicks(from, to, x)
	c.Reply = panel{Top: replyTop, Height: replyHeight, Label: "replies"}
	c.Req = panel{Top: reqTop, Height: reqHeight, Label: "requests"}
	if len(timeline) == 0 {
		c.Note = "no timeline kept for this incident"
	} else {
		c.Width = shortDuration(timeline[len(timeline)-1].To.Sub(timeline[len(timeline)-1].From).Seconds())
	}
	c.Reply.scale(timeline, func(p detect.Point) uint64 { return p.ResponseBytes }, x)
	c.Req.scale(timeline, func(p detect.Point) uint64 { return p.RequestBytes }, x)
	c.Reply.Bottom = c.Reply.Top + c.Reply.Height
	c.Req.Bottom = c.Req.Top + c.Req.Height
	return c
}

// describeIncident gives a chart's title and a line of its figures.
func describeIncident(r *incidentRow) (title, sub string) {
	peer := ""
	if len(r.Top) > 0 {
		peer = r.Top[0].Addr.String()
		if r.Peers > 1 {
			peer += fmt.Sprintf(" and %d more", r.Peers-1)
		}
	}
	switch r.Kind {
	case "reflection":
		title = fmt.Sprintf("Reflection: %s floods %s", r.Subject, peer)
	case "exposed_amplifier":
		title = fmt.Sprintf("Exposed amplifier: %s answers %s requests", r.Subject, r.Vector)
	case "victim_flood":
		title = fmt.Sprintf("Victim flood: %s hit by %d reflectors", r.Subject, r.Peers)
	case "scan":
		title = fmt.Sprintf("Scan: %s probed %d hosts", r.Subject, r.Peers)
	case "spoofed_egress":
		title = fmt.Sprintf("Spoofed egress: requests forged as %s", r.Subject)
	case "request_flood":
		title = fmt.Sprintf("Request flood: %s receives requests forged as %s", r.Subject, peer)
	default:
		title = fmt.Sprintf("%s: %s", r.Kind, r.Subject)
	}
	sub = fmt.Sprintf("%s, %s · %s .. %s (%s) · %s replies, %s · amplification %s · peak %s",
		r.Severity, r.Vector, r.First.UTC().Format("2006-01-02 15:04:05"), r.Last.UTC().Format("15:04:05 MST"),
		shortDuration(r.Duration), Commas(r.Responses.Packets), humanBytes(r.Responses.Bytes),
		amplification(r.Amplification), humanBits(r.PeakBPS))
	return title, sub
}

// scale draws the bit rates of the timeline's points (the bytes that bytes picks, over each
// point's span) as a step curve in p, with a tick every 30 units of height at most.
func (p *panel) scale(timeline []detect.Point, bytes func(detect.Point) uint64, x func(float64) float64) {
	rates := make([]float64, len(timeline))
	peak := 0.0
	for i, pt := range timeline {
		if d := pt.To.Sub(pt.From).Seconds(); d > 0 {
			rates[i] = float64(bytes(pt)*8) / d
		}
		peak = max(peak, rates[i])
	}
	top, step := niceScale(peak, max(1, p.Height/40))
	for v := 0.0; v <= top*1.0001; v += step {
		p.YTicks = append(p.YTicks, tick{p.y(v, top), humanBits(v)})
	}
	if len(rates) == 0 {
		return
	}
	sec := func(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }
	var area, line strings.Builder
	base := float64(p.Top + p.Height)
	fmt.Fprintf(&area, "M%.1f,%.1f", x(sec(timeline[0].From)), base)
	for i, v := range rates {
		x0, x1 := x(sec(timeline[i].From)), x(sec(timeline[i].To))
		y := p.y(v, top)
		fmt.Fprintf(&area, "L%.1f,%.1fL%.1f,%.1f", x0, y, x1, y)
		if i == 0 {
			fmt.Fprintf(&line, "M%.1f,%.1f", x0, y)
		} else {
			fmt.Fprintf(&line, "L%.1f,%.1f", x0, y)
		}
		fmt.Fprintf(&line, "L%.1f,%.1f", x1, y)
	}
	fmt.Fprintf(&area, "L%.1f,%.1fZ", x(sec(timeline[len(timeline)-1].To)), base)
	p.Area, p.Line = area.String(), line.String()
}

func (p *panel) y(v, top float64) float64 {
	return float64(p.Top) + float64(p.Height)*(1-v/top)
}

// niceScale returns an axis top at or above peak and a tick step of 1, 2 or 5 times a power
// of ten that divides it into about n steps.
func niceScale(peak float64, n int) (top, step float64) {
	if peak <= 0 {
		return 1000, 1000 / float64(n)
	}
	raw := peak / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		step = m * mag
		if step >= raw {
			break
		}
	}
	return math.Ceil(peak/step) * step, step
}

// timeSteps are the tick intervals of a time axis, in seconds.
var timeSteps = []int64{1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400}

// timeTicks places ticks on round UTC times, at most about 10 across the axis.
func timeTicks(from, to int64, x func(float64) float64) []tick {
	step := timeSteps[len(timeSteps)-1]
	for _, s := range timeSteps {
		if (to-from)/s <= 10 {
			step = s
			break
		}
	}
	layout := "15:04:05"
	if step >= 60 {
		layout = "15:04"
	}
	var ticks []tick
	for t := (from + step - 1) / step * step; t <= to; t += step {
		ticks = append(ticks, tick{x(float64(t)), time.Unix(t, 0).UTC().Format(layout)})
	}
	return ticks
}

// BandWidth is the width of the incident's shaded band.
func (c chart) BandWidth() float64 { return c.Band[1] - c.Band[0] }

// vectorRow is a line of the report's table of amplifying requests and replies.
type vectorRow struct {
	Protocol, Vector    string
	Requests, Responses uint64
}

// vectorRows lists the vectors of every protocol that had messages, NTP's first (all of
// them, as the summary always has), the others' where they had requests or replies.
func vectorRows(s *Summary) []vectorRow {
	var rows []vectorRow
	for _, v := range sortedKeys(s.NTP.ByVector) {
		c := s.NTP.ByVector[v]
		rows = append(rows, vectorRow{"ntp", v, c.Requests, c.Responses})
	}
	for _, name := range sortedKeys(s.Protocols) {
		if name == "ntp" {
			continue
		}
		for _, v := range sortedKeys(s.Protocols[name].ByVector) {
			if c := s.Protocols[name].ByVector[v]; c.Requests+c.Responses > 0 {
				rows = append(rows, vectorRow{name, v, c.Requests, c.Responses})
			}
		}
	}
	return rows
}

// attackChart is an attack's stacked timeline: the wire bit rate of each protocol's replies,
// one band on top of the other, so that the top edge is the total and each band's height its
// protocol's part.
type attackChart struct {
	A                 *attackSummary
	Title, Subtitle   string
	W, H, Left, Right int
	Top, Bottom       int
	PlotW, PlotH      int
	XTicks, YTicks    []tick
	Bands             []band // the first at the bottom
	Width             string // bucket width
}

// band is one protocol's area in an attack chart.
type band struct {
	Protocol string
	Share    string // "45%"
	Color    string
	Area     string // SVG path data
}

// bandColors are the bands' colours, in the order of the attack's protocols (largest first).
var bandColors = []string{"#e8590c", "#1c7ed6", "#2f9e44", "#ae3ec9", "#f59f00", "#0ca678", "#d6336c", "#495057"}

// Attack chart geometry, in SVG user units, on the incident charts' width.
const (
	attackTop    = 16
	attackHeight = 200
	attackH      = attackTop + attackHeight + 30
)

func newAttackChart(a *attackSummary) attackChart {
	c := attackChart{A: a, W: chartW, H: attackH, Left: chartLeft, Right: chartW - chartRight, Top: attackTop,
		Bottom: attackTop + attackHeight, PlotW: chartPlotW, PlotH: attackHeight}
	c.Title = fmt.Sprintf("Attack on %s: %d protocols at once", a.Victim, len(a.Protocols))
	c.Subtitle = fmt.Sprintf("%s .. %s (%s) · %s replies, %s on the wire · peak %s",
		a.First.UTC().Format("2006-01-02 15:04:05"), a.Last.UTC().Format("15:04:05 MST"), shortDuration(a.Duration),
		Commas(a.Responses.Packets), humanBytes(a.WireBytes), humanBits(a.PeakBPS))
	if len(a.Timeline) == 0 {
		return c
	}
	from, to := a.Timeline[0].From.Unix(), a.Timeline[len(a.Timeline)-1].To.Unix()
	step := a.Timeline[0].To.Sub(a.Timeline[0].From).Seconds()
	c.Width = shortDuration(step)
	x := func(sec float64) float64 {
		return float64(chartLeft) + (sec-float64(from))/float64(max(1, to-from))*chartPlotW
	}
	c.XTicks = timeTicks(from, to, func(v float64) float64 { return min(max(x(v), chartLeft), chartLeft+chartPlotW) })
	// Each protocol's rate in each bucket, stacked in the order of the attack's protocols.
	stack := make([][]float64, len(a.Protocols)+1)
	stack[0] = make([]float64, len(a.Timeline))
	for i, p := range a.Protocols {
		stack[i+1] = make([]float64, len(a.Timeline))
		for k, pt := range a.Timeline {
			stack[i+1][k] = stack[i][k] + float64(pt.WireBytes[p.Protocol]*8)/step
		}
	}
	top, ystep := niceScale(a.PeakBPS, 5)
	y := func(v float64) float64 { return float64(attackTop) + float64(attackHeight)*(1-v/top) }
	for v := 0.0; v <= top*1.0001; v += ystep {
		c.YTicks = append(c.YTicks, tick{y(v), humanBits(v)})
	}
	for i, p := range a.Protocols {
		var b strings.Builder
		// The band's upper edge left to right, then its lower edge back.
		for k, pt := range a.Timeline {
			x0, x1 := x(float64(pt.From.Unix())), x(float64(pt.To.Unix()))
			cmd := "L"
			if k == 0 {
				cmd = "M"
			}
			fmt.Fprintf(&b, "%s%.1f,%.1fL%.1f,%.1f", cmd, x0, y(stack[i+1][k]), x1, y(stack[i+1][k]))
		}
		for k := len(a.Timeline) - 1; k >= 0; k-- {
			pt := a.Timeline[k]
			fmt.Fprintf(&b, "L%.1f,%.1fL%.1f,%.1f", x(float64(pt.To.Unix())), y(stack[i][k]), x(float64(pt.From.Unix())), y(stack[i][k]))
		}
		b.WriteString("Z")
		c.Bands = append(c.Bands, band{Protocol: p.Protocol, Share: fmt.Sprintf("%.0f%%", 100*p.Share),
			Color: bandColors[i%len(bandColors)], Area: b.String()})
	}
	return c
}
