package sinks

import (
	"bytes"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ntpwatch/ntpwatch/detect"
)

// sampleEvidence is a record with every field set, as a sensor in front of a victim publishes
// it, and the heartbeat that ends its window.
func sampleEvidence() []detect.Evidence {
	start := time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)
	sk := detect.NewSketch()
	for i := range 9 {
		detect.InsertPeer(sk, netip.AddrFrom4([4]byte{192, 0, 2, byte(1 + i)}))
	}
	b, err := sk.MarshalBinary()
	if err != nil {
		panic(err)
	}
	rec := detect.Evidence{Sensor: "tap-3", Run: 1773478800000000000, Seq: 7, WindowStart: start, WindowEnd: start.Add(time.Minute),
		Subject: netip.MustParseAddr("198.51.100.77"), Protocol: "ntp", Role: detect.RoleClient,
		First: start.Add(5 * time.Second), Last: start.Add(9*time.Second + 487788993),
		Figures: detect.Figures{Requests: detect.Counter{Packets: 1, Bytes: 48}, Responses: detect.Counter{Packets: 900, Bytes: 396000},
			WireBytes: 433848, WindowResponseBytes: 396000, WindowRequests: 1, Peers: 9, RequestPeers: 1, ResponsePeers: 9, DataPeers: 9,
			Samples: 12, PeakBPS: 3856000, PeakPPS: 1000, VectorBytes: [5]uint64{396048, 0, 0, 0, 0}},
		TopResponses:   []detect.Responder{{Addr: netip.MustParseAddr("192.0.2.1"), Amplifier: true, Packets: 100, Bytes: 44000}},
		TopRequests:    []detect.HostStat{{Addr: netip.MustParseAddr("192.0.2.9"), Packets: 1, Bytes: 48}},
		ResponseSketch: b,
	}
	hb := detect.Evidence{Sensor: "tap-3", Run: rec.Run, Seq: 8, WindowStart: start, WindowEnd: start.Add(time.Minute),
		Heartbeat: true, Final: true, Subjects: 1}
	return []detect.Evidence{rec, hb}
}

// TestEvidenceRoundTrip: a record and a heartbeat read back as they were written.
func TestEvidenceRoundTrip(t *testing.T) {
	for _, ev := range sampleEvidence() {
		b := AppendEvidence(nil, &ev)
		got, err := DecodeEvidence(b)
		if err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if !reflect.DeepEqual(got, ev) {
			t.Errorf("read back\n%+v\nwritten\n%+v\nas %s", got, ev, b)
		}
	}
}

// TestEvidenceRefused: what is not a record of evidence is an error that says why.
func TestEvidenceRefused(t *testing.T) {
	good := string(AppendEvidence(nil, &sampleEvidence()[0]))
	for _, tc := range []struct{ in, why string }{
		{`{"schema":"ntpwatch.alert/v1","id":"x"}`, "schema"},
		{`not json`, "not JSON"},
		{strings.Replace(good, `"sensor":"tap-3"`, `"sensor":""`, 1), "no sensor"},
		{strings.Replace(good, `"role":"client"`, `"role":"both"`, 1), "role"},
		{strings.Replace(good, `"type":"subject"`, `"type":"other"`, 1), "type"},
		{strings.Replace(good, `"subject":"198.51.100.77",`, ``, 1), "no subject"},
		{strings.Replace(good, `"window_end":"2026-03-14T09:01:00Z"`, `"window_end":"2026-03-14T09:00:00Z"`, 1), "empty"},
	} {
		if _, err := DecodeEvidence([]byte(tc.in)); err == nil || !strings.Contains(err.Error(), tc.why) {
			t.Errorf("%.60s: error %v, want one saying %q", tc.in, err, tc.why)
		}
	}
}

// FuzzDecodeEvidence: no input panics, and a record read is written back as one that reads
// the same.
func FuzzDecodeEvidence(f *testing.F) {
	for _, ev := range sampleEvidence() {
		f.Add(AppendEvidence(nil, &ev))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ev, err := DecodeEvidence(b)
		if err != nil {
			return
		}
		again := AppendEvidence(nil, &ev)
		ev2, err := DecodeEvidence(again)
		if err != nil {
			t.Fatalf("written back %s: %v", again, err)
		}
		if !bytes.Equal(AppendEvidence(nil, &ev2), again) {
			t.Fatalf("not stable: %s", again)
		}
	})
}
