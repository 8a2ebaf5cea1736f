package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestFlowUsage: a bad flow setting is one line naming the flag, exit status 2, whether the
// flag or the configuration file gave it.
func TestFlowUsage(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "bad.yaml")
	os.WriteFile(conf, []byte("flow:\n  exporters:\n    - {name: a, address: 192.0.2.1}\n    - {name: a, address: 192.0.2.1}\n"), 0o644)
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"flow", "--sflow", "nonsense"}, []string{`--sflow: "nonsense" is not a host:port UDP address`}},
		{[]string{"flow", "--sflow", "127.0.0.1:6343", "--ipfix", "127.0.0.1:6343"}, []string{"--ipfix: port 6343 is --sflow's too"}},
		{[]string{"flow", "--default-sampling-rate", "0"}, []string{"default-sampling-rate", "at least 1"}},
		{[]string{"flow", "--sflow", "127.0.0.1:0", "extra"}, []string{`unexpected argument "extra"`}},
		{[]string{"flow", "--sflow", "192.0.2.1:6343"}, []string{"--sflow: sflow 192.0.2.1:6343: listen udp 192.0.2.1:6343"}},
		{[]string{"flow", "--config", conf}, []string{`flow.exporters[1].name: "a" names two exporters`, "flow.exporters[1].address: 192.0.2.1 is given twice"}},
		{[]string{"read", "--sflow", ":16343", "x.pcap"}, []string{"--sflow applies to captures of flow datagrams: add --flows"}},
		{[]string{"read", "--flows", filepath.Join(dir, "missing.pcap")}, []string{"missing.pcap: no such file"}},
	} {
		var out, errb bytes.Buffer
		code := run(context.Background(), c.args, nil, &out, &errb)
		if code != exitUsage {
			t.Errorf("%v: exit %d, want %d; stderr %q", c.args, code, exitUsage, errb.String())
		}
		for _, w := range c.want {
			if !strings.Contains(errb.String(), w) {
				t.Errorf("%v: stderr %q lacks %q", c.args, errb.String(), w)
			}
		}
	}
}

// TestFlowConfig: the flow section names exporters and forces their rates: softflowd's PSAMP,
// which states no rate, read with the exporter named and its rate of 10, gives the reflection
// with estimates at 1:10, and the summary names the exporter. read's selection applies to the
// export datagrams.
func TestFlowConfig(t *testing.T) {
	repoRoot(t)
	dir := t.TempDir()
	conf := filepath.Join(dir, "flow.yaml")
	os.WriteFile(conf, []byte("flow:\n  exporters:\n    - {name: border-7, address: 127.0.0.1, sampling_rate: 10}\n"), 0o644)
	summary := filepath.Join(dir, "summary.json")
	psamp := filepath.Join("decode", "flow", "testdata", "softflowd-psamp.pcap.gz")
	out, stderr, code := readAlerts(t, "--flows", "--config", conf, "--summary-json", summary, psamp)
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	refl := ends(flowAlerts(t, out))["reflection reflector=198.51.100.10 victim=203.0.113.7 scanner=invalid IP"]
	if refl.Sampling == nil || refl.Sampling.Rate != 10 || !within(refl.Responses.Packets, 3000, refl.Sampling.ErrorPct) {
		t.Errorf("reflection %+v sampling %+v", refl.Responses, refl.Sampling)
	}
	var s struct {
		Flows struct {
			Samples   uint64
			Exporters []struct {
				Name, Protocol string
				Rate           uint32 `json:"sampling_rate"`
			}
		}
	}
	data, _ := os.ReadFile(summary)
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatal(err)
	}
	if len(s.Flows.Exporters) != 1 || s.Flows.Exporters[0].Name != "border-7" || s.Flows.Exporters[0].Rate != 10 ||
		s.Flows.Exporters[0].Protocol != "ipfix" || s.Flows.Samples != 327 {
		t.Errorf("summary flows %+v", s.Flows)
	}
	if !regexp.MustCompile(`border-7 +ipfix +127\.0\.0\.1 +328 +327 +0 +0 +0 +0 +1:10\n`).Match(stderr) {
		t.Errorf("summary text lacks the exporter:\n%s", stderr)
	}

	// -c counts the capture's frames: the export datagrams (a template, then one sample each).
	_, stderr, code = readAlerts(t, "--flows", "-c", "11", "--summary-json", summary, psamp)
	data, _ = os.ReadFile(summary)
	json.Unmarshal(data, &s)
	if code != exitOK || s.Flows.Samples != 10 {
		t.Errorf("-c 11: exit %d, %d samples, want 10\n%s", code, s.Flows.Samples, stderr)
	}
}

// TestFlowsWithoutExports: a capture without export datagrams on the ports (here a packet
// capture, or exports on a port not given) is read, and a warning says which ports were
// looked at.
func TestFlowsWithoutExports(t *testing.T) {
	repoRoot(t)
	_, stderr, code := readAlerts(t, "--flows", "--sflow", ":16343", filepath.Join("cmd", "ntpwatch", "testdata", "flows", "reflection-10.pcap.gz"))
	want := "ntpwatch: warning: --flows: no sFlow, NetFlow or IPFIX datagram to UDP port 16343 in the input"
	if code != exitOK || !strings.Contains(string(stderr), want) {
		t.Errorf("exit %d, stderr %s; want 0 and %q", code, stderr, want)
	}
	_, stderr, _ = readAlerts(t, "--flows", samplePath(t, "reflection"))
	if !strings.Contains(string(stderr), "UDP port 2055, 4739 or 6343") {
		t.Errorf("stderr %s lacks the default ports", stderr)
	}
}
