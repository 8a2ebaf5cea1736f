package sinks

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/ntpwatch/ntpwatch/decode/proto"
	"github.com/ntpwatch/ntpwatch/detect"
)

// EvidenceSchema names the layout of the evidence records (docs/fleet.md); a change that
// removes or retypes a field gets a new version.
const EvidenceSchema = "ntpwatch.evidence/v1"

// maxTop is the longest top list a record may carry: detect's top_n at most.
const maxTop = 1000

// Record types of the evidence.
const (
	evidenceSubject   = "subject"
	evidenceHeartbeat = "heartbeat"
)

// evidenceJSON is a record of evidence on the wire: JSON, so that kcat and jq read it, with
// the sketches in base64. A heartbeat leaves the subject's fields out.
type evidenceJSON struct {
	Schema      string    `json:"schema"`
	Type        string    `json:"type"`
	Sensor      string    `json:"sensor"`
	Run         uint64    `json:"run"`
	Seq         uint64    `json:"seq"`
	WindowStart time.Time `json:"window_start"`
	WindowEnd   time.Time `json:"window_end"`

	Final    bool `json:"final,omitempty"`
	Subjects int  `json:"subjects,omitempty"`

	Subject        *netip.Addr       `json:"subject,omitempty"`
	Protocol       string            `json:"protocol,omitempty"`
	Role           string            `json:"role,omitempty"`
	FirstSeen      *time.Time        `json:"first_seen,omitempty"`
	LastSeen       *time.Time        `json:"last_seen,omitempty"`
	Requests       *counterJSON      `json:"requests,omitempty"`
	Responses      *counterJSON      `json:"responses,omitempty"`
	WireBytes      uint64            `json:"wire_bytes,omitempty"`
	Window         *windowJSON       `json:"window,omitempty"`
	Peers          *peersJSON        `json:"peers,omitempty"`
	Vectors        map[string]uint64 `json:"vectors,omitempty"`
	PeakBPS        float64           `json:"peak_bps,omitempty"`
	PeakPPS        float64           `json:"peak_pps,omitempty"`
	Samples        uint64            `json:"samples,omitempty"`
	TopResponses   []peerJSON        `json:"top_responses,omitempty"`
	TopRequests    []peerJSON        `json:"top_requests,omitempty"`
	RequestSketch  []byte            `json:"request_sketch,omitempty"`
	ResponseSketch []byte            `json:"response_sketch,omitempty"`
}

type counterJSON struct {
	Packets uint64 `json:"packets"`
	Bytes   uint64 `json:"bytes"`
}

type windowJSON struct {
	ResponseBytes uint64 `json:"response_bytes"`
	Requests      uint64 `json:"requests"`
}

type peersJSON struct {
	Any       int `json:"any"`
	Requests  int `json:"requests"`
	Responses int `json:"responses"`
	Data      int `json:"data"`
}

type peerJSON struct {
	Addr    netip.Addr `json:"addr"`
	Packets uint64     `json:"packets"`
	Bytes   uint64     `json:"bytes"`
	Data    bool       `json:"data,omitempty"`
}

// AppendEvidence appends ev as one JSON object of the schema ntpwatch.evidence/v1, without a
// newline.
func AppendEvidence(buf []byte, ev *detect.Evidence) []byte {
	j := evidenceJSON{Schema: EvidenceSchema, Type: evidenceSubject, Sensor: ev.Sensor, Run: ev.Run, Seq: ev.Seq,
		WindowStart: ev.WindowStart.UTC(), WindowEnd: ev.WindowEnd.UTC()}
	if ev.Heartbeat {
		j.Type, j.Final, j.Subjects = evidenceHeartbeat, ev.Final, ev.Subjects
		return appendJSON(buf, &j)
	}
	f := &ev.Figures
	first, last := ev.First.UTC(), ev.Last.UTC()
	j.Subject, j.Protocol, j.Role, j.FirstSeen, j.LastSeen = &ev.Subject, ev.Protocol, ev.Role.String(), &first, &last
	j.Requests = &counterJSON{f.Requests.Packets, f.Requests.Bytes}
	j.Responses = &counterJSON{f.Responses.Packets, f.Responses.Bytes}
	j.WireBytes = f.WireBytes
	j.Window = &windowJSON{ResponseBytes: f.WindowResponseBytes, Requests: f.WindowRequests}
	j.Peers = &peersJSON{Any: f.Peers, Requests: f.RequestPeers, Responses: f.ResponsePeers, Data: f.DataPeers}
	j.PeakBPS, j.PeakPPS, j.Samples = f.PeakBPS, f.PeakPPS, f.Samples
	if p, _ := proto.Default.Service(ev.Protocol); p != nil {
		for v, n := range f.VectorBytes {
			if name := p.VectorName(int8(v)); n > 0 && name != "" {
				if j.Vectors == nil {
					j.Vectors = map[string]uint64{}
				}
				j.Vectors[name] = n
			}
		}
	}
	for _, r := range ev.TopResponses {
		j.TopResponses = append(j.TopResponses, peerJSON{r.Addr, r.Packets, r.Bytes, r.Amplifier})
	}
	for _, h := range ev.TopRequests {
		j.TopRequests = append(j.TopRequests, peerJSON{Addr: h.Addr, Packets: h.Packets, Bytes: h.Bytes})
	}
	j.RequestSketch, j.ResponseSketch = ev.RequestSketch, ev.ResponseSketch
	return appendJSON(buf, &j)
}

func appendJSON(buf []byte, j *evidenceJSON) []byte {
	b, _ := json.Marshal(j) // plain values: nothing that fails to marshal
	return append(buf, b...)
}

// DecodeEvidence reads one record of evidence. A record of another schema, or one whose
// fields do not make a record, is an error that says why.
func DecodeEvidence(b []byte) (detect.Evidence, error) {
	var j evidenceJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return detect.Evidence{}, fmt.Errorf("not JSON evidence: %w", err)
	}
	if j.Schema != EvidenceSchema {
		return detect.Evidence{}, fmt.Errorf("schema %.40q, want %s", j.Schema, EvidenceSchema)
	}
	ev := detect.Evidence{Sensor: j.Sensor, Run: j.Run, Seq: j.Seq, WindowStart: j.WindowStart, WindowEnd: j.WindowEnd}
	switch {
	case j.Sensor == "":
		return ev, errors.New("no sensor")
	case !j.WindowStart.Before(j.WindowEnd):
		return ev, fmt.Errorf("window %s to %s is empty", j.WindowStart, j.WindowEnd)
	}
	switch j.Type {
	case evidenceHeartbeat:
		ev.Heartbeat, ev.Final, ev.Subjects = true, j.Final, j.Subjects
		return ev, nil
	case evidenceSubject:
	default:
		return ev, fmt.Errorf("type %.20q, want subject or heartbeat", j.Type)
	}
	role, ok := detect.ParseRole(j.Role)
	switch {
	case j.Subject == nil || !j.Subject.IsValid():
		return ev, errors.New("no subject")
	case !ok:
		return ev, fmt.Errorf("role %.20q, want server or client", j.Role)
	case j.FirstSeen == nil || j.LastSeen == nil || j.LastSeen.Before(*j.FirstSeen):
		return ev, errors.New("no first_seen and last_seen, or out of order")
	}
	if len(j.TopResponses) > maxTop || len(j.TopRequests) > maxTop {
		return ev, fmt.Errorf("top lists of %d and %d peers, more than top_n's most, %d", len(j.TopResponses), len(j.TopRequests), maxTop)
	}
	ev.Subject, ev.Protocol, ev.Role, ev.First, ev.Last = *j.Subject, j.Protocol, role, *j.FirstSeen, *j.LastSeen
	f := &ev.Figures
	if j.Requests != nil {
		f.Requests = detect.Counter{Packets: j.Requests.Packets, Bytes: j.Requests.Bytes}
	}
	if j.Responses != nil {
		f.Responses = detect.Counter{Packets: j.Responses.Packets, Bytes: j.Responses.Bytes}
	}
	f.WireBytes, f.PeakBPS, f.PeakPPS, f.Samples = j.WireBytes, j.PeakBPS, j.PeakPPS, j.Samples
	if j.Window != nil {
		f.WindowResponseBytes, f.WindowRequests = j.Window.ResponseBytes, j.Window.Requests
	}
	if j.Peers != nil {
		f.Peers, f.RequestPeers, f.ResponsePeers, f.DataPeers = j.Peers.Any, j.Peers.Requests, j.Peers.Responses, j.Peers.Data
	}
	if p, _ := proto.Default.Service(j.Protocol); p != nil {
		for name, n := range j.Vectors {
			if v := p.VectorIndex(name); v >= 0 {
				f.VectorBytes[v] += n
			}
		}
	}
	for _, r := range j.TopResponses {
		ev.TopResponses = append(ev.TopResponses, detect.Responder{Addr: r.Addr, Amplifier: r.Data, Packets: r.Packets, Bytes: r.Bytes})
	}
	for _, r := range j.TopRequests {
		ev.TopRequests = append(ev.TopRequests, detect.HostStat{Addr: r.Addr, Packets: r.Packets, Bytes: r.Bytes})
	}
	ev.RequestSketch, ev.ResponseSketch = j.RequestSketch, j.ResponseSketch
	return ev, nil
}
