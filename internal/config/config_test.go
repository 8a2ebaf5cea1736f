package config

import (
	"testing"
	"time"

	"github.com/ntpwatch/ntpwatch/internal/testutil"
)

// writeConfig writes a configuration file and returns its path.
func writeConfig(t *testing.T, text string) string {
	return testutil.WriteTemp(t, "ntpwatch.yaml", []byte(text))
}

// FuzzConfig feeds arbitrary files to the configuration loader: an error or a valid
// configuration, never a panic.
func FuzzConfig(f *testing.F) {
	f.Add("sensor: s\ndetect:\n  home_net: [192.0.2.0/24]\n  window: 30s\n")
	f.Add("detect: {reflection: {min_amplification: 2.5}, tables: {max_hosts: 10}}\n")
	f.Add("output:\n  format: eve\n")
	f.Add("flow:\n  sflow: \":6343\"\n  exporters: [{name: b, address: 192.0.2.1, sampling_rate: 100}]\n")
	f.Add("- a\n- b\n")
	f.Fuzz(func(t *testing.T, text string) {
		cfg := Default()
		if err := Load(writeConfig(t, text), &cfg); err != nil {
			return
		}
		_ = cfg.Validate()
	})
}

func TestTimeFlag(t *testing.T) {
	want := time.Date(2026, 3, 14, 9, 0, 40, 500_000_000, time.UTC)
	for _, s := range []string{"2026-03-14T09:00:40.5Z", "2026-03-14T10:00:40.5+01:00", "2026-03-14 09:00:40.5",
		"2026-03-14T09:00:40.5", "1773478840.5", "1773478840.500000000"} {
		var got time.Time
		if err := (Time{&got}).Set(s); err != nil || !got.Equal(want) {
			t.Errorf("%q: %v, %v; want %v", s, got, err, want)
		}
	}
	for _, s := range []string{"yesterday", "2026-13-01", "12.3.4", "-5", ""} {
		var got time.Time
		if err := (Time{&got}).Set(s); err == nil {
			t.Errorf("%q: %v, want an error", s, got)
		}
	}
}

// FuzzTimeFlag: any text is a time or one error, never a panic; a time it reads prints back
// (String) as a value it reads again as the same instant.
func FuzzTimeFlag(f *testing.F) {
	for _, s := range []string{"2026-03-14T09:00:40.5Z", "2026-03-14 09:00", "1773478840.123456789", "99999999999999999999", "1.", ".5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var got time.Time
		if err := (Time{&got}).Set(s); err != nil {
			return
		}
		var again time.Time
		if err := (Time{&again}).Set((Time{&got}).String()); err != nil || !again.Equal(got) {
			t.Errorf("%q: %v prints as %q, which reads as %v (%v)", s, got, (Time{&got}).String(), again, err)
		}
	})
}
