package sinks

import (
	"encoding/json"
	"github.com/ntpwatch/ntpwatch/decode/proto"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ntpwatch/ntpwatch/detect"
	"github.com/ntpwatch/ntpwatch/internal/testutil/jsonschema"
)

func TestEVEGolden(t *testing.T) { golden(t, "alerts.eve.json", formatAll(newEVEFormatter().append)) }

// eveRecord is the part of an EVE alert record that SIEM pipelines for Suricata read.
type eveRecord struct {
	Timestamp   string
	FlowID      uint64 `json:"flow_id"`
	EventType   string `json:"event_type"`
	SrcIP       string `json:"src_ip"`
	DestIP      string `json:"dest_ip"`
	SrcPort     int    `json:"src_port"`
	DestPort    int    `json:"dest_port"`
	Proto       string
	AppProto    string `json:"app_proto"`
	CommunityID string `json:"community_id"`
	Direction   string
	Flow        struct {
		PktsToServer  uint64 `json:"pkts_toserver"`
		PktsToClient  uint64 `json:"pkts_toclient"`
		BytesToServer uint64 `json:"bytes_toserver"`
		BytesToClient uint64 `json:"bytes_toclient"`
		Start, End    string
		SrcIP         string `json:"src_ip"`
		DestIP        string `json:"dest_ip"`
		DestPort      int    `json:"dest_port"`
	}
	Alert struct {
		Action      string
		GID         int
		SignatureID int `json:"signature_id"`
		Rev         int
		Signature   string
		Category    string
		Severity    int
		Context     struct {
			NTPWatch json.RawMessage `json:"ntpwatch"`
		}
	}
}

// TestEVEFields checks the fields that the Suricata pipelines of Elastic (filebeat suricata
// module), Splunk (TA-suricata) and Wazuh (0475-suricata_rules.xml) read, and that the native
// alert under alert.context.ntpwatch is byte for byte AppendJSON's.
func TestEVEFields(t *testing.T) {
	alerts := sampleAlerts()
	for i := range alerts[:len(detect.Kinds())] {
		a := &alerts[i]
		var e eveRecord
		if err := json.Unmarshal(AppendEVE(nil, a), &e); err != nil {
			t.Fatalf("alert %d: %v", i, err)
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
		if e.SrcIP == "" || e.DestIP == "" || (e.SrcPort != 123) == (e.DestPort != 123) {
			t.Errorf("alert %d: endpoints %s:%d -> %s:%d, want one side on port 123", i, e.SrcIP, e.SrcPort, e.DestIP, e.DestPort)
		}
		// The flow is seen from the client, as Suricata's: requests to the server, replies
		// to the client, and the attack traffic goes one of the two ways.
		f := e.Flow
		if f.PktsToServer != a.Requests.Packets || f.PktsToClient != a.Responses.Packets ||
			f.BytesToServer != a.Requests.Bytes || f.BytesToClient != a.Responses.Bytes || f.DestPort != 123 {
			t.Errorf("alert %d: flow %+v", i, f)
		}
		if want := (e.Direction == "to_server"); (e.SrcIP == f.SrcIP) != want || (e.DestIP == f.DestIP) != want || e.Direction == "" {
			t.Errorf("alert %d: direction %q, %s -> %s, flow %s -> %s", i, e.Direction, e.SrcIP, e.DestIP, f.SrcIP, f.DestIP)
		}
		if want := CommunityID(0, 17, addr(f.SrcIP), addr(f.DestIP), 0, 123); e.CommunityID != want {
			t.Errorf("alert %d: community_id %q, want %q", i, e.CommunityID, want)
		}
		if string(e.Alert.Context.NTPWatch) != string(AppendJSON(nil, a)) {
			t.Errorf("alert %d: the ntpwatch object differs from AppendJSON", i)
		}
	}
}

func TestEVEEndpoints(t *testing.T) {
	alerts := sampleAlerts()
	want := map[detect.Kind][3]string{
		detect.KindExposedAmplifier: {"198.51.100.10:123", "203.0.113.7", "to_client"},
		detect.KindReflection:       {"198.51.100.10:123", "203.0.113.7", "to_client"},
		detect.KindVictimFlood:      {"[2001:db8:1::10]:123", "2001:db8::7", "to_client"},
		detect.KindScan:             {"192.0.2.66", "198.51.100.10:123", "to_server"},
		detect.KindSpoofedEgress:    {"203.0.113.7", "198.51.100.10:123", "to_server"},
		detect.KindRequestFlood:     {"203.0.113.7", "198.51.100.10:123", "to_server"},
	}
	for i := range alerts[:len(detect.Kinds())] {
		var e eveRecord
		json.Unmarshal(AppendEVE(nil, &alerts[i]), &e)
		hostPort := func(ip string, port int) string {
			if port == 0 {
				return ip
			}
			if strings.Contains(ip, ":") {
				ip = "[" + ip + "]"
			}
			return ip + ":" + strconv.Itoa(port)
		}
		got := [3]string{hostPort(e.SrcIP, e.SrcPort), hostPort(e.DestIP, e.DestPort), e.Direction}
		if w := want[alerts[i].Kind]; got != w {
			t.Errorf("%s: %v, want %v", alerts[i].Kind, got, w)
		}
	}
}

// TestEVESchema validates the EVE record of every sample alert, the empty one and a scan
// nobody answered included, against Suricata's own schema.
func TestEVESchema(t *testing.T) {
	s := jsonschema.SuricataEVE(t)
	f := newEVEFormatter()
	for i, a := range sampleAlerts() {
		for _, rec := range [][]byte{AppendEVE(nil, &a), f.append(nil, &a)} {
			if errs := s.Validate(rec); len(errs) > 0 {
				t.Errorf("alert %d (%s): %v\n%s", i, a.Kind, errs, rec)
			}
		}
	}
}

// TestEVEStableWithinIncident plays a victim_flood whose top reflector changes between its
// events, and a scan whose first responder answers after the start: src_ip, dest_ip and
// community_id must stay those of the first event that knew them, and an incident's entry
// must go with its end event.
func TestEVEStableWithinIncident(t *testing.T) {
	flood := func(state detect.State, top ...string) detect.Alert {
		a := detect.Alert{ID: "vf", Kind: detect.KindVictimFlood, State: state, ServerPort: 123, Protocol: "ntp",
			Victim: addr("198.51.100.77"), TS: t0}
		for _, r := range top {
			a.Reflectors.Top = append(a.Reflectors.Top, host(r, 100, 44000))
		}
		return a
	}
	f := newEVEFormatter()
	var first eveRecord
	for i, a := range []detect.Alert{flood(detect.StateStart, "192.0.2.1", "192.0.2.2"),
		flood(detect.StateUpdate, "192.0.2.9", "192.0.2.1"), flood(detect.StateEnd, "192.0.2.5")} {
		var e eveRecord
		json.Unmarshal(f.append(nil, &a), &e)
		if i == 0 {
			first = e
			continue
		}
		if e.SrcIP != first.SrcIP || e.DestIP != first.DestIP || e.CommunityID != first.CommunityID || e.SrcIP != "192.0.2.1" {
			t.Errorf("event %d: %s -> %s (%s), want %s -> %s as at the start", i, e.SrcIP, e.DestIP, e.CommunityID, first.SrcIP, first.DestIP)
		}
	}
	scan := detect.Alert{ID: "sc", Kind: detect.KindScan, State: detect.StateStart, ServerPort: 123, Scanner: addr("192.0.2.66"), TS: t0}
	var e eveRecord
	rec := f.append(nil, &scan)
	json.Unmarshal(rec, &e)
	var top map[string]any
	json.Unmarshal(rec, &top)
	for k, v := range top {
		if v == nil {
			t.Errorf("a scan nobody answered: %q is null", k)
		}
	}
	if e.DestIP != "" || e.DestPort != 0 || e.CommunityID != "" {
		t.Errorf("a scan nobody answered: %s", rec)
	}
	scan.State = detect.StateUpdate
	scan.Targets.Responders = []detect.Responder{{Addr: addr("198.51.100.11")}}
	json.Unmarshal(f.append(nil, &scan), &e)
	scan.Targets.Responders = []detect.Responder{{Addr: addr("198.51.100.10")}, {Addr: addr("198.51.100.11")}}
	scan.State = detect.StateEnd
	var end eveRecord
	json.Unmarshal(f.append(nil, &scan), &end)
	if e.DestIP != "198.51.100.11" || end.DestIP != e.DestIP {
		t.Errorf("scan: dest %s then %s, want the first responder, 198.51.100.11, kept", e.DestIP, end.DestIP)
	}
	if len(f.peers) != 0 {
		t.Errorf("%d incidents kept after their end events", len(f.peers))
	}
}

// TestSignaturesDistinct: every kind of every protocol of the table, and of the fallback's
// ports, has a signature of its own, outside the community's ranges, whose text names its
// protocol; NTP's are those of Signatures.
func TestSignaturesDistinct(t *testing.T) {
	seen := map[int]string{}
	texts := map[string]bool{}
	check := func(protocol string, port uint16) {
		for _, k := range detect.Kinds() {
			s := SignatureOf(&detect.Alert{Kind: k, Protocol: protocol, ServerPort: port})
			name := protocol + " " + string(k)
			if other, ok := seen[s.ID]; ok || s.ID < 9000001 || s.ID > 9999999 || texts[s.Text] ||
				!strings.Contains(s.Text, strings.ToUpper(protocol)) || s.Category != Signatures[k].Category {
				t.Errorf("%s: signature %+v repeats %s's, is out of range or does not name the protocol", name, s, other)
			}
			seen[s.ID], texts[s.Text] = name, true
		}
	}
	for _, p := range proto.Default.Protocols() {
		if p.Fallback {
			for _, port := range p.Ports {
				check(p.Name+"/"+strconv.Itoa(int(port)), port)
			}
			continue
		}
		check(p.Name, p.Ports[0])
	}
	for _, k := range detect.Kinds() {
		if SignatureOf(&detect.Alert{Kind: k, Protocol: "ntp", ServerPort: 123}) != Signatures[k] {
			t.Errorf("%s: NTP's signature is not Signatures'", k)
		}
	}
	if s := SignatureOf(&detect.Alert{Kind: detect.KindVictimFlood, Protocol: "chargen", ServerPort: 19}); s.ID != 9100193 ||
		s.Text != "NTPWATCH DOS CHARGEN reflection flood against victim" {
		t.Errorf("chargen's victim_flood: %+v", s)
	}
}
