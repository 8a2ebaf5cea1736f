package main

import (
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ntpwatch/ntpwatch/internal/config"
	"github.com/ntpwatch/ntpwatch/internal/testutil"
)

// writeConfig writes a configuration file and returns its path.
func writeConfig(t *testing.T, text string) string {
	return testutil.WriteTemp(t, "ntpwatch.yaml", []byte(text))
}

// TestConfigLayers checks the order defaults < YAML file < flags, whatever the flag order.
func TestConfigLayers(t *testing.T) {
	path := writeConfig(t, `
sensor: border-1
detect:
  home_net: [198.51.100.0/24]
  idle_timeout: 30s
  reflection:
    min_response_bytes: 500000
`)
	cfg, p, err := parseConfig("read", "", []string{"a.pcap", "--config", path, "--sensor", "border-2", "b.pcap"}, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(p.pos, ",") != "a.pcap,b.pcap" {
		t.Errorf("files %v", p.pos)
	}
	if cfg.Sensor != "border-2" {
		t.Errorf("sensor %q: the flag must override the file", cfg.Sensor)
	}
	if len(cfg.Detect.HomeNet) != 1 || cfg.Detect.HomeNet[0] != netip.MustParsePrefix("198.51.100.0/24") {
		t.Errorf("home net %v", cfg.Detect.HomeNet)
	}
	if cfg.Detect.IdleTimeout != 30*time.Second || cfg.Detect.Reflection.MinResponseBytes != 500000 {
		t.Errorf("idle %v, min bytes %d: the file's values are lost", cfg.Detect.IdleTimeout, cfg.Detect.Reflection.MinResponseBytes)
	}
	def := config.Default()
	if cfg.Detect.UpdateInterval != def.Detect.UpdateInterval || cfg.Detect.Scan.MinTargets != def.Detect.Scan.MinTargets {
		t.Error("keys the file leaves out must keep their defaults")
	}
	cfg, _, err = parseConfig("read", "", []string{"--home-net", "192.0.2.0/24", "--config", path, "x"}, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Detect.HomeNet[0] != netip.MustParsePrefix("192.0.2.0/24") {
		t.Errorf("home net %v: a flag before --config must still win", cfg.Detect.HomeNet)
	}
}

// TestConfigErrors checks that a bad file is exit 2 with every problem named at once.
func TestConfigErrors(t *testing.T) {
	cases := []struct {
		name, yaml string
		want       []string
	}{
		{"unknown key", "detect:\n  reflektion: {}\n", []string{"reflektion"}},
		{"not yaml", "detect: [\n", []string{"ntpwatch.yaml"}},
		{"several problems", "sensor: ''\ndetect:\n  idle_timeout: -1s\n  scan:\n    min_targets: 0\n", []string{"sensor", "idle_timeout", "min_targets"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := parseConfig("read", "", []string{"--config", writeConfig(t, tc.yaml), "x.pcap"}, os.Stderr)
			if err == nil {
				t.Fatal("no error")
			}
			if _, ok := err.(usageError); !ok {
				t.Errorf("%T is not a usage error (exit 2)", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
		})
	}
	// An empty file sets nothing.
	if _, _, err := parseConfig("read", "", []string{"--config", writeConfig(t, ""), "x"}, os.Stderr); err != nil {
		t.Errorf("empty file: %v", err)
	}
}

// TestDocumentedConfig checks that the example file of docs/configuration.md loads and
// validates, so the documentation stays true.
func TestDocumentedConfig(t *testing.T) {
	readme, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(readme)
	start := strings.Index(text, "```yaml\n")
	if start < 0 {
		t.Fatal("docs/configuration.md has no yaml example")
	}
	text = text[start+len("```yaml\n"):]
	text = text[:strings.Index(text, "```")]
	cfg, _, err := parseConfig("read", "", []string{"--config", writeConfig(t, text), "x.pcap"}, os.Stderr)
	if err != nil {
		t.Fatalf("the documented example: %v", err)
	}
	if cfg.Sensor != "border-tap-1" || len(cfg.Detect.HomeNet) != 2 || cfg.Output.Kafka.Topic != "ntpwatch-alerts" ||
		cfg.Live.Interface != "eth1" || cfg.Live.Workers != 2 || cfg.Live.Engine != "afpacket" {
		t.Errorf("the documented example did not load: %+v", cfg)
	}
}
