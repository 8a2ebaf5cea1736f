package report

import (
	"bytes"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/ntpwatch/ntpwatch/detect"
)

// incidents returns n ended reflection incidents, the i-th of subject 198.51.100.i (or
// 203.0.113.x past 255) with i+1 MB of wire bytes: the largest start last, as the open
// incidents of a capture end last.
func incidents(n int) []detect.IncidentSummary {
	start := time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)
	out := make([]detect.IncidentSummary, n)
	for i := range out {
		out[i] = detect.IncidentSummary{
			ID: fmt.Sprintf("inc-%d", i), Kind: detect.KindReflection, Severity: detect.SeverityHigh, Protocol: "ntp",
			Subject:   netip.AddrFrom4([4]byte{198, 51, byte(100 + i/256), byte(i % 256)}),
			FirstSeen: start.Add(time.Duration(i) * time.Second), LastSeen: start.Add(time.Duration(i+60) * time.Second),
			WireBytes: uint64(i+1) << 20,
		}
	}
	return out
}

// TestTrimKeepsTheLargest checks what the summary and the report show when they cannot show
// every incident: the largest by wire bytes, and how many were left out, both those only
// --summary-json lists and those the engine did not keep (tables.max_history).
func TestTrimKeepsTheLargest(t *testing.T) {
	s := Build(Input{Engine: detect.Report{Incidents: incidents(maxReportRows + 2), IncidentsDropped: 1234}})
	var text bytes.Buffer
	s.WriteText(&text)
	out := text.String()
	for i := maxReportRows + 2 - maxSummaryIncidents; i < maxReportRows+2; i++ {
		if addr := s.Incidents.List[i].Subject.String(); !strings.Contains(out, addr+" ") {
			t.Errorf("summary lacks incident %d (%s), one of the %d largest", i, addr, maxSummaryIncidents)
		}
	}
	if strings.Contains(out, " 198.51.100.0 ") {
		t.Error("summary lists the smallest incident")
	}
	for _, want := range []string{
		fmt.Sprintf("... and %d smaller (--summary-json lists them)", maxReportRows+2-maxSummaryIncidents),
		"1,234 smaller ended incidents left out of the summary, --summary-json and --report (tables.max_history)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	if s.Incidents.Dropped != 1234 {
		t.Errorf("--summary-json dropped %d, want 1234", s.Incidents.Dropped)
	}

	var html bytes.Buffer
	if err := s.WriteHTML(&html); err != nil {
		t.Fatal(err)
	}
	page := html.String()
	largest := s.Incidents.List[maxReportRows+1].Subject.String()
	if !strings.Contains(page, ">"+largest+"<") || strings.Contains(page, ">198.51.100.0<") || strings.Contains(page, ">198.51.100.1<") {
		t.Errorf("report: want the largest incident %s, and not the two smallest", largest)
	}
	for _, want := range []string{"... and 2 smaller: --summary-json lists them.", "1,234 smaller ended incidents were left out"} {
		if !strings.Contains(page, want) {
			t.Errorf("report lacks %q", want)
		}
	}
}
