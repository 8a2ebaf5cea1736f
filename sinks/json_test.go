package sinks

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ntpwatch/ntpwatch/detect"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
		for i := range min(len(gl), len(wl)) {
			if gl[i] != wl[i] {
				t.Fatalf("%s line %d:\ngot  %s\nwant %s", path, i+1, gl[i], wl[i])
			}
		}
		t.Fatalf("%s: got %d lines, want %d", path, len(gl), len(wl))
	}
}

func formatAll(f func([]byte, *detect.Alert) []byte) []byte {
	var out []byte
	alerts := sampleAlerts()
	for i := range alerts {
		out = append(f(out, &alerts[i]), '\n')
	}
	return out
}

func TestJSONGolden(t *testing.T) { golden(t, "alerts.json", formatAll(AppendJSON)) }

// schemaKeys is the key order of the alert schema (docs/alerts.md), with remediation
// (added there for exposed_amplifier and reflection) placed after direction, and sampling
// (null for full packets) last.
var schemaKeys = []string{"schema", "id", "kind", "state", "severity", "ts", "first_seen", "last_seen",
	"protocol", "vector", "reflector", "victim", "scanner", "victims", "reflectors", "targets",
	"requests", "responses", "amplification", "wire_bytes", "peak_bps", "peak_pps", "direction",
	"remediation", "sensor", "source", "sampling"}

// topKeys returns the keys of the JSON object line in their order.
func topKeys(t *testing.T, line []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(line))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not an object: %s", line)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

// TestJSONSchema checks, independently of the golden file, that every alert gives one valid
// JSON object with every schema key in order and the values encoding/json reads back.
func TestJSONSchema(t *testing.T) {
	alerts := sampleAlerts()
	for i := range alerts {
		a := &alerts[i]
		line := AppendJSON([]byte("prefix"), a)[len("prefix"):]
		if !json.Valid(line) || bytes.ContainsAny(line, "\n") {
			t.Fatalf("alert %d: not one line of valid JSON: %s", i, line)
		}
		if keys := topKeys(t, line); !reflect.DeepEqual(keys, schemaKeys) {
			t.Errorf("alert %d keys:\n%v\nwant\n%v", i, keys, schemaKeys)
		}
		var v struct {
			Schema, Kind, Sensor string
			ID                   *string
			TS                   *string `json:"ts"`
			Reflector, Scanner   *string
			Amplification        *float64
			PeakBPS              float64 `json:"peak_bps"`
			Victims              struct {
				Count int
				Top   []struct{ Addr string }
			}
			Targets  struct{ Responders []json.RawMessage }
			Sampling *struct {
				Rate, Samples  uint64
				ErrorPct       float64 `json:"error_pct"`
				DistinctCounts string  `json:"distinct_counts"`
			}
		}
		if err := json.Unmarshal(line, &v); err != nil {
			t.Fatal(err)
		}
		if v.Schema != SchemaV1 || v.Kind != string(a.Kind) || v.Sensor != a.Sensor || v.PeakBPS != a.PeakBPS {
			t.Errorf("alert %d: read back %+v", i, v)
		}
		if (v.ID == nil) != (a.ID == "") || (v.Reflector == nil) != !a.Reflector.IsValid() ||
			(v.Scanner == nil) != !a.Scanner.IsValid() || (v.TS == nil) != a.TS.IsZero() {
			t.Errorf("alert %d: null where a value is or the reverse: %s", i, line)
		}
		if v.Amplification == nil && a.HasAmplification ||
			v.Amplification != nil && (!a.HasAmplification || *v.Amplification != a.Amplification) {
			t.Errorf("alert %d: amplification %v, want %v (has %v)", i, v.Amplification, a.Amplification, a.HasAmplification)
		}
		if v.TS != nil && *v.TS != a.TS.UTC().Format("2006-01-02T15:04:05.999999999Z07:00") {
			t.Errorf("alert %d: ts %s is not the UTC time of %v", i, *v.TS, a.TS)
		}
		if s := v.Sampling; (s == nil) != (a.Sampling.Samples == 0) || s != nil && (s.Rate != a.Sampling.Rate ||
			s.Samples != a.Sampling.Samples || s.ErrorPct != a.Sampling.ErrorPct ||
			s.DistinctCounts != map[bool]string{true: "lower_bound", false: "exact"}[a.Sampling.LowerBounds]) {
			t.Errorf("alert %d: sampling %+v, want %+v", i, s, a.Sampling)
		}
		if v.Victims.Count != a.Victims.Count || len(v.Victims.Top) != len(a.Victims.Top) ||
			v.Targets.Responders == nil {
			t.Errorf("alert %d: lists: %s", i, line)
		}
	}
}

func TestJSONNumbers(t *testing.T) {
	for _, c := range []struct {
		v    float64
		want string
	}{{5500, "5500.0"}, {0.5, "0.5"}, {1e21, "1000000000000000000000.0"}, {5504.583333333333, "5504.583333333333"}} {
		if got := string(appendRatio(nil, c.v)); got != c.want {
			t.Errorf("appendRatio(%v) = %s, want %s", c.v, got, c.want)
		}
	}
	if got := string(appendNumber(nil, 1.5e9)); got != "1500000000" {
		t.Errorf("appendNumber(1.5e9) = %s", got)
	}
}

func TestJSONStringEscapes(t *testing.T) {
	for _, s := range []string{"plain", "q\"b\\", "\x00\x1f\x7f", "\n\r\t", "\xff\xfe", "é\u2028\u2029€", ""} {
		got := appendString(nil, s)
		var back string
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatalf("%q -> %s: %v", s, got, err)
		}
		want, _ := json.Marshal(s) // replaces invalid UTF-8 with U+FFFD like we do
		var wantBack string
		json.Unmarshal(want, &wantBack)
		if back != wantBack {
			t.Errorf("%q -> %s reads back %q, want %q", s, got, back, wantBack)
		}
	}
}

func BenchmarkAppendJSON(b *testing.B) {
	a := sampleAlerts()[1]
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendJSON(buf[:0], &a)
	}
	b.SetBytes(int64(len(buf)))
}

// FuzzAppendJSON checks that any strings and numbers give one line of valid JSON whose
// strings read back as encoding/json would write them.
func FuzzAppendJSON(f *testing.F) {
	f.Add("a1f0", "tap-1", "border.pcap", 5500.0, 23160000.0)
	f.Add("", "\x00\"\\\n\u2028", "\xff\xfe", 0.1, -1.0)
	f.Fuzz(func(t *testing.T, id, sensor, source string, amp, peak float64) {
		a := sampleAlerts()[1]
		a.ID, a.Sensor, a.Source, a.Amplification, a.PeakBPS = id, sensor, source, amp, peak
		line := AppendJSON(nil, &a)
		if !json.Valid(line) || bytes.ContainsAny(line, "\n\r") {
			t.Fatalf("not one line of valid JSON: %q", line)
		}
		var back struct{ ID, Sensor, Source *string }
		if err := json.Unmarshal(line, &back); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			got  *string
			sent string
		}{{back.ID, id}, {back.Sensor, sensor}, {back.Source, source}} {
			if c.sent == "" {
				if c.got != nil {
					t.Errorf("empty string written as %q, want null", *c.got)
				}
				continue
			}
			var want string
			ref, _ := json.Marshal(c.sent)
			json.Unmarshal(ref, &want)
			if c.got == nil || *c.got != want {
				t.Errorf("%q read back as %v, want %q", c.sent, c.got, want)
			}
		}
	})
}
