package config

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ntpwatch/ntpwatch/decode/flow"
)

// TestFlowListeners: with no address set, the three protocols on their default ports; with
// some, only those; read --flows takes their ports.
func TestFlowListeners(t *testing.T) {
	o := DefaultFlow()
	ls := o.Listeners()
	if len(ls) != 3 || ls[0] != (Listener{flow.SFlow, ":6343"}) || ls[1] != (Listener{flow.NetFlow, ":2055"}) ||
		ls[2] != (Listener{flow.IPFIX, ":4739"}) {
		t.Errorf("default listeners %v", ls)
	}
	o.IPFIX = "127.0.0.1:14739"
	if ls := o.Listeners(); len(ls) != 1 || ls[0] != (Listener{flow.IPFIX, "127.0.0.1:14739"}) {
		t.Errorf("listeners %v, want the IPFIX one only", ls)
	}
	if p := o.Ports(); len(p) != 1 || p[14739] != flow.IPFIX {
		t.Errorf("ports %v", p)
	}
}

// TestFlowSection: the YAML section with every key, and its errors reported at once.
func TestFlowSection(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(path, []byte(`flow:
  sflow: ":6343"
  ipfix: 192.0.2.5:4739
  default_sampling_rate: 1000
  max_exporters: 8
  metrics_listen: 127.0.0.1:9123
  exporters:
    - {name: border-1, address: 192.0.2.1}
    - {name: border-2, address: "2001:db8::2", sampling_rate: 2048}
`), 0o644)
	cfg := Default()
	if err := Load(path, &cfg); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	c := cfg.Flow.Collector()
	if c.DefaultRate != 1000 || c.MaxExporters != 8 || len(c.Exporters) != 2 ||
		c.Exporters[1] != (flow.ExporterConfig{Name: "border-2", Address: netip.MustParseAddr("2001:db8::2"), SamplingRate: 2048}) {
		t.Errorf("collector config %+v", c)
	}
	cfg.Flow.NetFlow, cfg.Flow.DefaultSamplingRate, cfg.Flow.MaxExporters = "2055", 0, -1
	cfg.Flow.Exporters = append(cfg.Flow.Exporters, flow.ExporterConfig{Name: "other"})
	err := cfg.Validate()
	for _, want := range []string{`flow.netflow: "2055" is not a host:port`, "flow.default_sampling_rate: must be at least 1",
		"flow.max_exporters: must not be negative", `flow.exporters[2].name: must be set, and not "other"`,
		"flow.exporters[2].address: must be an IP address"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("errors %v lack %q", err, want)
		}
	}
}
