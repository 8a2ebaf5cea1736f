package config

import (
	"testing"

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
	f.Add("- a\n- b\n")
	f.Fuzz(func(t *testing.T, text string) {
		cfg := Default()
		if err := Load(writeConfig(t, text), &cfg); err != nil {
			return
		}
		_ = cfg.Validate()
	})
}
