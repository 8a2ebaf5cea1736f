package detect

import (
	"math"
	"net/netip"
	"testing"
	"time"

	"github.com/ntpwatch/ntpwatch/decode"
	"github.com/ntpwatch/ntpwatch/decode/proto"
)

// sampled marks p as a sampled header standing for rate packets, as a flow source fills it.
func sampled(p decode.Packet, rate uint32) decode.Packet {
	p.Weight, p.Samples = rate, 1
	return p
}

// sampledReplies is n sampled full monlist reply packets from server to victim at 1 in rate,
// one a millisecond from ts.
func sampledReplies(ts time.Time, n int, rate uint32) []decode.Packet {
	var ps []decode.Packet
	for i := range n {
		ps = append(ps, sampled(privResp(ts.Add(time.Duration(i)*time.Millisecond), server, victim, 42, 6, true), rate))
	}
	return ps
}

// TestSampledGate: at 1:1000, samples that put the estimate past every threshold make no
// incident until sampling.min_samples of them back it: 2 or 3 samples of monlist replies
// (880,000 and 1,320,000 estimated payload bytes, past exposed_amplifier's single reply and,
// for 3, reflection's 1,000,000) are not an attack; the 4th sample starts both.
func TestSampledGate(t *testing.T) {
	cfg := DefaultConfig()
	for _, n := range []int{2, 3} {
		if alerts, _ := run(t, cfg, sampledReplies(t0, n, 1000)); len(alerts) != 0 {
			t.Errorf("%d samples at 1:1000 made incidents:\n%s", n, lines(alerts))
		}
	}
	alerts, _ := run(t, cfg, sampledReplies(t0, 4, 1000))
	for _, k := range []Kind{KindExposedAmplifier, KindReflection} {
		evs := only(alerts, k)
		if len(evs) != 2 || evs[0].State != StateStart || evs[1].State != StateEnd {
			t.Fatalf("%s: %d events, want start and end:\n%s", k, len(evs), lines(alerts))
		}
		start := evs[0]
		if !start.TS.Equal(at(3*time.Millisecond)) || start.Responses != (Counter{4000, 1_760_000}) {
			t.Errorf("%s started at %s with %+v, want the 4th sample, 4,000 packets of 1,760,000 bytes",
				k, start.TS, start.Responses)
		}
		// 196/sqrt(4) = 98
		want := Sampling{Rate: 1000, Samples: 4, ErrorPct: 98, LowerBounds: true}
		if start.Sampling != want {
			t.Errorf("%s sampling %+v, want %+v", k, start.Sampling, want)
		}
	}

	// The gate is the setting's: at 10, the 10th sample starts the reflection.
	cfg.Sampling.MinSamples = 10
	if alerts, _ := run(t, cfg, sampledReplies(t0, 9, 1000)); len(alerts) != 0 {
		t.Errorf("min_samples 10: 9 samples made incidents:\n%s", lines(alerts))
	}
	alerts, _ = run(t, cfg, sampledReplies(t0, 10, 1000))
	if evs := only(alerts, KindReflection); len(evs) == 0 || !evs[0].TS.Equal(at(9*time.Millisecond)) {
		t.Errorf("min_samples 10: reflection %s, want a start at the 10th sample", lines(evs))
	}
}

// TestFullPacketsHaveNoSampling: a tap's packets are counts, not estimates, whatever their
// number: no gate and no sampling object.
func TestFullPacketsHaveNoSampling(t *testing.T) {
	alerts, _ := run(t, DefaultConfig(), monlist(nil, t0, victim, server, 8))
	if len(alerts) == 0 {
		t.Fatal("a full monlist reply made no exposed_amplifier")
	}
	for _, a := range alerts {
		if a.Sampling != (Sampling{}) {
			t.Errorf("%s %s: sampling %+v from full packets", a.Kind, a.State, a.Sampling)
		}
	}
}

// TestSamplingEstimate: the rate is the packets estimated per sample over requests and
// replies, and the error bound 196/sqrt(samples), for a mix of exporters' rates.
func TestSamplingEstimate(t *testing.T) {
	ps := sampledReplies(t0, 30, 100)                                                // 3,000 packets
	ps = append(ps, sampledReplies(at(time.Second), 20, 400)...)                     // 8,000 packets
	ps = append(ps, sampled(privReq(at(2*time.Second), victim, server, 42, 8), 100)) // 100 packets
	alerts, _ := run(t, DefaultConfig(), ps)
	end := only(alerts, KindReflection)
	if len(end) == 0 {
		t.Fatalf("no reflection:\n%s", lines(alerts))
	}
	a := end[len(end)-1]
	if a.Requests != (Counter{100, 800}) || a.Responses != (Counter{11_000, 4_840_000}) {
		t.Errorf("estimates: requests %+v responses %+v", a.Requests, a.Responses)
	}
	// 11,100 packets estimated from 51 samples: 217.6 a sample.
	want := Sampling{Rate: 218, Samples: 51, ErrorPct: math.Round(1960/math.Sqrt(51)) / 10, LowerBounds: true}
	if a.Sampling != want {
		t.Errorf("sampling %+v, want %+v", a.Sampling, want)
	}
}

// flowRecord is a flow record as a flow source makes it: packets of one direction counted
// together, the vector unknown, weighted by its packets.
func flowRecord(ts time.Time, src, dst netip.Addr, sport, dport uint16, packets uint32, payload uint32) decode.Packet {
	f := proto.Flow{SrcPort: sport, DstPort: dport, PayloadLen: int(payload)}
	ntp.ClassifyFlow(&f)
	return decode.Packet{Kind: decode.KindMessage, Time: ts, WireLen: payload + 42, Weight: packets, Samples: packets,
		Src: src, Dst: dst, SrcPort: sport, DstPort: dport, IPLen: payload + 28, MessageLen: payload, PayloadLen: payload,
		Proto: ntp, Dir: f.Dir, Vector: proto.VectorUnknown, Data: f.Data}
}

// TestFlowRecordsUnknownVector: flow records of an exporter that counts every packet make a
// reflection whose vector is unknown, with the remediation of NTP's first vector, exact
// figures (rate 1, no error) and exact distinct counts; the time service's records make
// nothing.
func TestFlowRecordsUnknownVector(t *testing.T) {
	ps := []decode.Packet{
		flowRecord(t0, victim, server, 40000, 123, 30, 8),
		flowRecord(at(time.Millisecond), server, victim, 123, 40000, 3000, 440),
		// A busy server's time service: 48-byte requests and replies.
		flowRecord(at(2*time.Millisecond), admin, server, 50000, 123, 100_000, 48),
		flowRecord(at(3*time.Millisecond), server, admin, 123, 50000, 100_000, 48),
	}
	alerts, _ := run(t, DefaultConfig(), ps)
	refl := only(alerts, KindReflection)
	if len(refl) != 2 {
		t.Fatalf("want a reflection start and end:\n%s", lines(alerts))
	}
	a := refl[1]
	if a.Vector != "unknown" || a.Remediation != ntp.Vectors[proto.VectorMonlist].Remediation {
		t.Errorf("vector %q remediation %q", a.Vector, a.Remediation)
	}
	if a.Requests != (Counter{30, 240}) || a.Responses != (Counter{3000, 1_320_000}) || !a.HasAmplification || a.Amplification != 5500 {
		t.Errorf("requests %+v responses %+v amplification %v", a.Requests, a.Responses, a.Amplification)
	}
	if want := (Sampling{Rate: 1, Samples: 3030}); a.Sampling != want {
		t.Errorf("sampling %+v, want %+v", a.Sampling, want)
	}
	for _, a := range alerts {
		if a.Reflector == server && a.Victim == admin || a.Kind == KindRequestFlood {
			t.Errorf("the time service made %s %s", a.Kind, a.State)
		}
	}
}
