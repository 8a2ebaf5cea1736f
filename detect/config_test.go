package detect

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func TestDefaultConfigValid(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
}

// TestConfigYAML loads a detect section the way the command does: over the defaults, so
// that keys left out keep their defaults.
func TestConfigYAML(t *testing.T) {
	doc := `
home_net: [192.0.2.0/24, "2001:db8::/32"]
update_interval: 30s
idle_timeout: 2m
reflection:
  min_response_bytes: 500000
  critical_bps: 2e9
scan:
  min_targets: 16
tables:
  max_hosts: 5000
`
	cfg := DefaultConfig()
	if err := yaml.Unmarshal([]byte(doc), &cfg); err != nil {
		t.Fatal(err)
	}
	want := DefaultConfig()
	want.HomeNet = []netip.Prefix{homeNet4, netip.MustParsePrefix("2001:db8::/32")}
	want.UpdateInterval, want.IdleTimeout = 30*time.Second, 2*time.Minute
	want.Reflection.MinResponseBytes, want.Reflection.CriticalBPS = 500000, 2e9
	want.Scan.MinTargets, want.Tables.MaxHosts = 16, 5000
	if g, w := fmt.Sprintf("%+v", cfg), fmt.Sprintf("%+v", want); g != w {
		t.Errorf("got  %s\nwant %s", g, w)
	}
}

func TestConfigValidateReportsAll(t *testing.T) {
	cfg := DefaultConfig()
	cfg.HomeNet = []netip.Prefix{{}}
	cfg.Window = 0
	cfg.IdleTimeout = -time.Second
	cfg.TopN = 0
	cfg.Reflection.MinAmplification = 0.5
	cfg.Reflection.CriticalBPS = 1
	cfg.VictimFlood.MinReflectors = 0
	cfg.Scan.MinTargets = -1
	cfg.SpoofedEgress.MinRequests = 0
	cfg.RequestFlood.MinRequests = 0
	cfg.RequestFlood.MinSources = 0
	cfg.ExposedAmplifier.MinResponses = 0
	cfg.Tables.MaxHosts = 3
	cfg.Tables.MaxIncidents = 0
	err := cfg.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, key := range []string{"detect.home_net[0]:", "detect.window:", "detect.idle_timeout:", "detect.top_n:",
		"detect.reflection.min_amplification:", "detect.reflection.critical_bps:", "detect.victim_flood.min_reflectors:",
		"detect.scan.min_targets:", "detect.spoofed_egress.min_requests:", "detect.request_flood.min_requests:",
		"detect.request_flood.min_sources:", "detect.exposed_amplifier.min_responses:",
		"detect.tables.max_hosts:", "detect.tables.max_incidents:"} {
		if !strings.Contains(err.Error(), key) {
			t.Errorf("no %q in\n%v", key, err)
		}
	}
	if n := strings.Count(err.Error(), "\n") + 1; n != 14 {
		t.Errorf("%d problems reported, want 14:\n%v", n, err)
	}
}
