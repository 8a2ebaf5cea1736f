package metrics

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/ntpwatch/ntpwatch/internal/testutil"
)

// promqlWords are the PromQL keywords and aggregation modifiers, which are not metric names.
var promqlWords = []string{"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless",
	"bool", "offset", "inf", "nan"}

var (
	promqlStrings   = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	promqlMatchers  = regexp.MustCompile(`\{[^{}]*\}`)
	promqlRanges    = regexp.MustCompile(`\[[^\]]*\]`)
	promqlGrouping  = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	promqlIdents    = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*(\s*\()?`)
	grafanaVariable = regexp.MustCompile(`\$\{?[a-zA-Z_]+\}?`)
)

// metricNames returns the metric names a PromQL expression reads: its identifiers once label
// matchers, strings, ranges and grouping labels are taken out, but for functions (followed by
// a parenthesis) and keywords.
func metricNames(expr string) []string {
	e := grafanaVariable.ReplaceAllString(expr, "")
	e = promqlStrings.ReplaceAllString(e, `""`)
	e = promqlMatchers.ReplaceAllString(e, "")
	e = promqlRanges.ReplaceAllString(e, "")
	e = promqlGrouping.ReplaceAllString(e, "")
	var names []string
	for _, m := range promqlIdents.FindAllStringSubmatch(e, -1) {
		name := strings.TrimSpace(strings.TrimSuffix(m[0], "("))
		if m[1] != "" || slices.Contains(promqlWords, strings.ToLower(name)) {
			continue
		}
		names = append(names, name)
	}
	return names
}

func TestMetricNames(t *testing.T) {
	for expr, want := range map[string]string{
		`sum by (kind) (increase(ntpwatch_alerts_total{instance=~"$instance",state="start"}[$__rate_interval]))`: "ntpwatch_alerts_total",
		`max by (table) (ntpwatch_table_entries{a="b"} / ntpwatch_table_capacity_entries)`:                       "ntpwatch_table_entries ntpwatch_table_capacity_entries",
		`8 * sum(rate(ntpwatch_bytes_total[5m])) or on (instance) vector(0)`:                                     "ntpwatch_bytes_total",
		`max(time() - ntpwatch_last_packet_timestamp_seconds{x="}"})`:                                            "ntpwatch_last_packet_timestamp_seconds",
		`sum by (sink) (ntpwatch_sink_spooled_alerts) > bool 0 unless ntpwatch_nosuch`:                           "ntpwatch_sink_spooled_alerts ntpwatch_nosuch",
	} {
		if got := strings.Join(metricNames(expr), " "); got != want {
			t.Errorf("%s: %q, want %q", expr, got, want)
		}
	}
}

// TestGrafanaDashboard loads docs/grafana/ntpwatch.json as Grafana would import it: one JSON
// dashboard whose panels query the datasource variable, and whose every PromQL expression
// names only metrics that /metrics serves (the collector's, the Go runtime's and the
// process's), so that no panel stays empty for a misspelt or removed metric.
func TestGrafanaDashboard(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(testutil.RepoRoot(), "docs", "grafana", "ntpwatch.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Title, UID    string
		SchemaVersion int
		Templating    struct {
			List []struct {
				Name, Type string
				Query      any
			}
		}
		Panels []struct {
			ID         int
			Type       string
			Title      string
			GridPos    struct{ H, W, X, Y int }
			Datasource struct{ Type, UID string }
			Targets    []struct {
				RefID string
				Expr  string
			}
		}
	}
	dec := json.NewDecoder(strings.NewReader(string(data)))
	if err := dec.Decode(&dash); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	if dash.Title == "" || dash.UID == "" || dash.SchemaVersion < 30 || len(dash.Panels) == 0 {
		t.Fatalf("not a Grafana dashboard: title %q, uid %q, schemaVersion %d, %d panels", dash.Title, dash.UID, dash.SchemaVersion, len(dash.Panels))
	}
	vars := map[string]bool{"__rate_interval": true, "__interval": true}
	var queries []string
	for _, v := range dash.Templating.List {
		vars[v.Name] = true
		if q, ok := v.Query.(map[string]any); ok {
			// Grafana's label_values(SELECTOR, LABEL): the selector is PromQL.
			inner, ok := strings.CutPrefix(q["query"].(string), "label_values(")
			if i := strings.LastIndex(inner, ","); ok && i > 0 {
				queries = append(queries, inner[:i])
			} else {
				t.Errorf("variable %s: query %v", v.Name, q["query"])
			}
		}
	}
	served := map[string]bool{}
	families, err := Registry(snapshot, nil).Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		served[f.GetName()] = true
	}
	ids := map[int]bool{}
	exprs := 0
	for _, p := range dash.Panels {
		if p.Title == "" || p.GridPos.W == 0 || p.GridPos.H == 0 || ids[p.ID] {
			t.Errorf("panel %d %q: no title, no size or a repeated id", p.ID, p.Title)
		}
		ids[p.ID] = true
		if p.Type == "row" {
			continue
		}
		if p.Datasource.UID != "${datasource}" || len(p.Targets) == 0 {
			t.Errorf("panel %q: datasource %q, %d queries", p.Title, p.Datasource.UID, len(p.Targets))
		}
		for _, tg := range p.Targets {
			queries = append(queries, tg.Expr)
			exprs++
		}
	}
	for _, q := range queries {
		names := metricNames(q)
		if len(names) == 0 {
			t.Errorf("%s: names no metric", q)
		}
		for _, n := range names {
			if !served[n] {
				t.Errorf("%s: %s is not served by /metrics", q, n)
			}
		}
		for _, v := range grafanaVariable.FindAllString(q, -1) {
			if name := strings.Trim(v, "${}"); !vars[name] {
				t.Errorf("%s: variable %s is not defined", q, v)
			}
		}
	}
	if exprs < 10 {
		t.Errorf("%d queries: the dashboard shows too little", exprs)
	}
}
