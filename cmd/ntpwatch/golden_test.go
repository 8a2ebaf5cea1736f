package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/ntpwatch/ntpwatch/internal/scenario"
)

var update = flag.Bool("update", false, "rewrite the golden alert files in pcaps/")

// goldenCases are the sample captures of pcaps/ with the flags their expected alerts were
// made with (pcaps/README.md says what each holds).
var goldenCases = []struct {
	name   string // the scenario whose sample is the capture: pcaps/NAME.pcap or NAME.pcap.gz
	golden string // the expected alerts: pcaps/GOLDEN.alerts.jsonl
	args   []string
	// maxSeverity, when set, is the highest severity any alert may have: benign traffic
	// must not page anyone.
	maxSeverity string
}{
	{name: "reflection", golden: "reflection"},
	{name: "reflection6", golden: "reflection6"},
	{name: "victim_flood", golden: "victim_flood", args: []string{"--home-net", "198.51.100.0/24"}},
	{name: "scan", golden: "scan", args: []string{"--home-net", "198.18.0.0/22"}},
	{name: "benign", golden: "benign", args: []string{"--home-net", "198.51.100.0/24"}, maxSeverity: "low"},
	{name: "benign", golden: "benign.no-home-net", maxSeverity: "low"},
	{name: "spoofed_egress", golden: "spoofed_egress", args: []string{"--home-net", "192.0.2.0/24"}},
	{name: "request_flood", golden: "request_flood", args: []string{"--home-net", "198.51.100.0/24"}},
	// The reflection through each tunnel, mirror session and link type the decoder reads.
	{name: "reflection_erspan1", golden: "reflection_erspan1"},
	{name: "reflection_erspan2", golden: "reflection_erspan2"},
	{name: "reflection_erspan3", golden: "reflection_erspan3"},
	{name: "reflection_vxlan", golden: "reflection_vxlan"},
	{name: "reflection_geneve", golden: "reflection_geneve"},
	{name: "reflection_gre", golden: "reflection_gre"},
	{name: "reflection_gretap6", golden: "reflection_gretap6"},
	{name: "reflection_pppoe", golden: "reflection_pppoe"},
	{name: "reflection_mpls", golden: "reflection_mpls"},
	{name: "reflection_mpls_pw", golden: "reflection_mpls_pw"},
	{name: "reflection_gtpu", golden: "reflection_gtpu"},
	{name: "reflection_ipip", golden: "reflection_ipip"},
	{name: "reflection_6in4", golden: "reflection_6in4"},
	{name: "reflection_ppp", golden: "reflection_ppp"},
	{name: "reflection_ppp_hdlc", golden: "reflection_ppp_hdlc"},
	{name: "reflection_chdlc", golden: "reflection_chdlc"},
	{name: "reflection_nflog", golden: "reflection_nflog"},
	// Every other reflection protocol: a home server reflecting, outside reflectors flooding a
	// home victim; the fallback's udp/PORT; one attack through four protocols.
	{name: "dns", golden: "dns", args: homeNet},
	{name: "cldap", golden: "cldap", args: homeNet},
	{name: "ssdp", golden: "ssdp", args: homeNet},
	{name: "memcached", golden: "memcached", args: homeNet},
	{name: "chargen", golden: "chargen", args: homeNet},
	{name: "qotd", golden: "qotd", args: homeNet},
	{name: "snmp", golden: "snmp", args: homeNet},
	{name: "netbios", golden: "netbios", args: homeNet},
	{name: "portmap", golden: "portmap", args: homeNet},
	{name: "mssql", golden: "mssql", args: homeNet},
	{name: "wsd", golden: "wsd", args: homeNet},
	{name: "ard", golden: "ard", args: homeNet},
	{name: "coap", golden: "coap", args: homeNet},
	{name: "rip", golden: "rip", args: homeNet},
	{name: "tftp", golden: "tftp", args: homeNet},
	{name: "ubiquiti", golden: "ubiquiti", args: homeNet},
	{name: "dvr", golden: "dvr", args: homeNet},
	{name: "multi_vector", golden: "multi_vector", args: homeNet},
	{name: "udp_fallback", golden: "udp_fallback", args: homeNet},
	// Everyday traffic of those protocols: nothing above low.
	{name: "dns_everyday", golden: "dns_everyday", args: homeNet, maxSeverity: "low"},
	{name: "snmp_monitoring", golden: "snmp_monitoring", args: homeNet, maxSeverity: "low"},
	{name: "ssdp_lan", golden: "ssdp_lan", args: homeNet, maxSeverity: "low"},
}

// homeNet is the home network of the samples of the protocols beyond NTP.
var homeNet = []string{"--home-net", "198.51.100.0/24"}

// samplePath is the path of the sample capture of scenario name: pcaps/NAME.pcap, or
// pcaps/NAME.pcap.gz.
func samplePath(t *testing.T, name string) string {
	t.Helper()
	s, err := scenario.Find(name)
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join("pcaps", s.File())
}

// repoRoot is where the tests run from, so that alerts name their source as a user would
// see it: pcaps/NAME.pcap.
func repoRoot(t *testing.T) {
	t.Helper()
	t.Chdir("../..")
}

// readAlerts runs `ntpwatch read` in process and returns stdout, stderr and the exit status.
func readAlerts(t *testing.T, args ...string) (stdout, stderr []byte, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), append([]string{"read", "--sensor", "test"}, args...), nil, &out, &errb)
	return out.Bytes(), errb.Bytes(), code
}

// TestGoldenAlerts compares the alerts of every sample capture with its golden file, byte
// for byte: the same capture gives the same alerts on every run.
func TestGoldenAlerts(t *testing.T) {
	repoRoot(t)
	for _, tc := range goldenCases {
		t.Run(tc.golden, func(t *testing.T) {
			pcap := samplePath(t, tc.name)
			golden := filepath.Join("pcaps", tc.golden+".alerts.jsonl")
			out, stderr, code := readAlerts(t, append(tc.args, pcap)...)
			if code != exitOK {
				t.Fatalf("exit %d, stderr:\n%s", code, stderr)
			}
			if *update {
				if err := os.WriteFile(golden, out, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./cmd/ntpwatch -update to create it)", err)
			}
			if !bytes.Equal(out, want) {
				t.Errorf("alerts differ from %s (go test ./cmd/ntpwatch -run TestGoldenAlerts -update rewrites it)\ngot:\n%s\nwant:\n%s", golden, out, want)
			}
			if tc.maxSeverity != "" {
				checkMaxSeverity(t, out, tc.maxSeverity)
			}
			again, _, _ := readAlerts(t, append(tc.args, pcap)...)
			if !bytes.Equal(out, again) {
				t.Errorf("two runs on %s gave different alerts", pcap)
			}
		})
	}
}

// checkMaxSeverity fails when an alert in out is more severe than max.
func checkMaxSeverity(t *testing.T, out []byte, max string) {
	t.Helper()
	rank := map[string]int{"low": 1, "medium": 2, "high": 3, "critical": 4}
	for _, line := range bytes.Split(bytes.TrimSpace(out), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var a struct{ Kind, Severity string }
		if err := json.Unmarshal(line, &a); err != nil {
			t.Fatalf("alert is not JSON: %v: %s", err, line)
		}
		if rank[a.Severity] == 0 || rank[a.Severity] > rank[max] {
			t.Errorf("%s alert of severity %q, at most %q allowed", a.Kind, a.Severity, max)
		}
	}
}
