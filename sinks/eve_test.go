package sinks

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/ntpwatch/ntpwatch/detect"
)

func TestEVEGolden(t *testing.T) { golden(t, "alerts.eve.json", formatAll(AppendEVE)) }

// TestEVEFields checks the fields that the Suricata pipelines of Elastic (filebeat suricata
// module), Splunk (TA-suricata) and Wazuh (0475-suricata_rules.xml) read, and that the native
// alert under "ntpwatch" is byte for byte AppendJSON's.
func TestEVEFields(t *testing.T) {
	alerts := sampleAlerts()
	for i := range alerts[:len(detect.Kinds())] {
		a := &alerts[i]
		line := AppendEVE(nil, a)
		var e struct {
			Timestamp string
			FlowID    uint64  `json:"flow_id"`
			EventType string  `json:"event_type"`
			SrcIP     string  `json:"src_ip"`
			DestIP    *string `json:"dest_ip"`
			SrcPort   int     `json:"src_port"`
			DestPort  int     `json:"dest_port"`
			Proto     string
			AppProto  string `json:"app_proto"`
			Alert     struct {
				Action      string
				GID         int
				SignatureID int `json:"signature_id"`
				Rev         int
				Signature   string
				Category    string
				Severity    int
			}
			NTPWatch json.RawMessage `json:"ntpwatch"`
		}
		if err := json.Unmarshal(line, &e); err != nil {
			t.Fatalf("alert %d: %v: %s", i, err, line)
		}
		ts, err := time.Parse(eveTimestamp, e.Timestamp)
		if err != nil || !ts.Equal(a.TS.Truncate(time.Microsecond)) || e.Timestamp[len(e.Timestamp)-5:] != "+0000" {
			t.Errorf("alert %d: timestamp %q (%v), want %v in +0000", i, e.Timestamp, err, a.TS)
		}
		sig := Signatures[a.Kind]
		if e.EventType != "alert" || e.Proto != "UDP" || e.AppProto != "ntp" || e.Alert.Action != "allowed" ||
			e.Alert.GID != 1 || e.Alert.SignatureID != sig.ID || e.Alert.Signature != sig.Text ||
			e.Alert.Category != sig.Category || e.Alert.Severity < 1 || e.Alert.Severity > 3 || e.FlowID == 0 {
			t.Errorf("alert %d: EVE fields %+v", i, e)
		}
		if e.SrcIP == "" || (e.SrcPort != 123) == (e.DestPort != 123) {
			t.Errorf("alert %d: endpoints %s:%d -> %v:%d, want one side on port 123", i, e.SrcIP, e.SrcPort, e.DestIP, e.DestPort)
		}
		if string(e.NTPWatch) != string(AppendJSON(nil, a)) {
			t.Errorf("alert %d: ntpwatch object differs from AppendJSON", i)
		}
	}
}

func TestEVEEndpoints(t *testing.T) {
	alerts := sampleAlerts()
	want := map[detect.Kind][2]string{
		detect.KindExposedAmplifier: {"198.51.100.10", "203.0.113.7"},
		detect.KindReflection:       {"198.51.100.10", "203.0.113.7"},
		detect.KindVictimFlood:      {"2001:db8:1::10", "2001:db8::7"},
		detect.KindScan:             {"192.0.2.66", "198.51.100.10"},
		detect.KindSpoofedEgress:    {"203.0.113.7", "198.51.100.10"},
		detect.KindRequestFlood:     {"203.0.113.7", "198.51.100.10"},
	}
	for i := range alerts[:len(detect.Kinds())] {
		src, _, dst, _ := endpoints(&alerts[i])
		if w := want[alerts[i].Kind]; src.String() != w[0] || dst.String() != w[1] {
			t.Errorf("%s: %v -> %v, want %s -> %s", alerts[i].Kind, src, dst, w[0], w[1])
		}
	}
}

func TestSignaturesDistinct(t *testing.T) {
	seen := map[int]bool{}
	for _, k := range detect.Kinds() {
		s, ok := Signatures[k]
		if !ok || seen[s.ID] || s.ID < 9000001 || s.ID > 9000006 {
			t.Errorf("%s: signature %+v missing, repeated or out of range", k, s)
		}
		seen[s.ID] = true
	}
}
