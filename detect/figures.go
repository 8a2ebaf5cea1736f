package detect

import (
	"math"

	"github.com/ntpwatch/ntpwatch/decode/proto"
)

// Figures are what the thresholds of one role of one subject read, and what its alert
// reports beyond its lists of peers: the engine takes them from a host's role, the fleet
// aggregator (detect/fleet) adds them up from the evidence of many sensors. Both decide with
// Crosses and describe the alert with Describe, so that a fleet incident is judged and
// graded by the same rules as a sensor's.
type Figures struct {
	// Requests and Responses count the role's amplifying requests and replies, cumulative
	// from the episode's first packet.
	Requests, Responses Counter
	// WireBytes are the wire bytes of those requests and replies.
	WireBytes uint64
	// WindowResponseBytes and WindowRequests are the response payload bytes and request
	// packets within the last window: the rates the thresholds are per window of.
	WindowResponseBytes, WindowRequests uint64
	// Peers counts the distinct peers of the episode; RequestPeers those that sent or got a
	// request, ResponsePeers a response, DataPeers a response with data.
	Peers, RequestPeers, ResponsePeers, DataPeers int
	// Samples counts the sampled packets the figures rest on: 0 for full packets.
	Samples uint64
	// PeakBPS and PeakPPS are the busiest second's wire bits and packets.
	PeakBPS, PeakPPS float64
	// VectorBytes are the payload bytes by vector: the protocol's vectors, then
	// proto.VectorUnknown.
	VectorBytes [proto.VectorSlots]uint64
}

// Crosses reports whether f crosses the thresholds lim (Config.Thresholds of the subject's
// protocol) of kind k: reflection, victim_flood, request_flood or scan, the kinds whose
// figures add up across sensors. Any other kind never crosses here: exposed_amplifier and
// spoofed_egress are proven by one sensor's packets.
func (c *Config) Crosses(k Kind, f *Figures, lim *Thresholds) bool {
	return c.crosses(kindIndex(k), f, lim)
}

// crosses is Crosses by kind index: the engine's detectors call it on every packet that
// changes their inputs, with only the fields kind k reads filled in.
func (c *Config) crosses(k kind, f *Figures, lim *Thresholds) bool {
	if f.Samples != 0 && f.Samples < c.Sampling.MinSamples {
		return false // sampled input waits for enough samples (config.go says why)
	}
	switch k {
	case kReflection:
		r := &lim.Reflection
		return f.WindowResponseBytes >= r.MinResponseBytes && amplifies(f, r.MinAmplification)
	case kVictimFlood:
		v := &lim.VictimFlood
		return f.ResponsePeers >= v.MinReflectors && f.WindowResponseBytes >= v.MinResponseBytes &&
			amplifies(f, v.MinAmplification)
	case kRequestFlood:
		r := &lim.RequestFlood
		return f.RequestPeers >= r.MinSources && f.WindowRequests >= r.MinRequests
	case kScan:
		return f.RequestPeers >= lim.Scan.MinTargets
	}
	return false
}

// amplifies reports whether the responses exceed min times the requests; with no request
// seen the ratio is infinite.
func amplifies(f *Figures, min float64) bool {
	return f.Requests.Bytes == 0 || float64(f.Responses.Bytes) > min*float64(f.Requests.Bytes)
}

// Service is the protocol of a subject's traffic as its alerts name it, with its thresholds:
// each service port of the fallback is a service of its own (udp/427).
type Service struct {
	Proto *proto.Protocol
	// Name is the alerts' protocol and Port their server_port: the protocol's name and first
	// port, or the fallback's udp/PORT and PORT.
	Name string
	Port uint16
	// Lim are the protocol's thresholds (Config.Thresholds).
	Lim *Thresholds
}

// Service resolves name, an alert's protocol (ntp, udp/427), in table t, with the
// thresholds c sets for it; ok is false when t has no such protocol.
func (c *Config) Service(t *proto.Table, name string) (s Service, ok bool) {
	p, port := t.Service(name)
	if p == nil {
		return Service{}, false
	}
	lim := c.Thresholds(p)
	return Service{Proto: p, Name: name, Port: port, Lim: &lim}, true
}

// Describe fills in what an alert of kind k says of f, for service s: the protocol, the
// counters, the vector and its remediation, the amplification, the sampling and the severity.
// hasHome is whether a home net is known, which grades exposure. The subject, its peers and
// the direction are the caller's.
func (c *Config) Describe(a *Alert, k Kind, f *Figures, s *Service, hasHome bool) {
	c.describe(a, kindIndex(k), f, s, hasHome)
}

func (c *Config) describe(a *Alert, k kind, f *Figures, s *Service, hasHome bool) {
	vec := topVector(&f.VectorBytes, s.Proto)
	a.Protocol, a.ServerPort, a.Vector = s.Name, s.Port, vec.Name
	if s.Proto.Fallback {
		a.Vector = s.Name // nothing is known of the request but its port: udp/427
	}
	a.Requests, a.Responses, a.WireBytes = f.Requests, f.Responses, f.WireBytes
	a.PeakBPS, a.PeakPPS = f.PeakBPS, f.PeakPPS
	a.Sampling = f.sampling()
	if k == kExposed || k == kReflection {
		a.Remediation = vec.Remediation
	}
	a.amplify()
	a.Severity = severity(k, f, &vec, s, hasHome)
}

// amplify sets the amplification from the alert's counters.
func (a *Alert) amplify() {
	a.Amplification, a.HasAmplification = 0, false
	if a.Requests.Bytes > 0 {
		// Two decimals are all a reader needs (5435.43, 916.67); the exact ratio follows from
		// the byte counts beside it.
		a.Amplification = math.Round(float64(a.Responses.Bytes)/float64(a.Requests.Bytes)*100) / 100
		a.HasAmplification = true
	}
}

// sampling states how the figures were estimated: nothing from full packets; from sampled
// input, the mean sampling rate (the packets estimated per sample), the samples and the 95%
// error of the estimates, 1.96 standard deviations of a count of samples, whose relative
// deviation is 1/sqrt(samples) (sFlow.org, "Packet Sampling Basics"). With every packet
// counted (a rate of 1), there is no sampling error and peers are all seen.
func (f *Figures) sampling() Sampling {
	if f.Samples == 0 {
		return Sampling{}
	}
	s := Sampling{Samples: f.Samples, Rate: max(1, (f.Requests.Packets+f.Responses.Packets+f.Samples/2)/f.Samples)}
	if s.Rate > 1 {
		s.ErrorPct = math.Round(1960/math.Sqrt(float64(f.Samples))) / 10
		s.LowerBounds = true
	}
	return s
}

// severity grades an event. Exposure is low without a home net (the client may be an
// administrator) and through a weak vector (small factors); attacks are graded by their peak
// rate.
func severity(k kind, f *Figures, vec *proto.Vector, s *Service, hasHome bool) Severity {
	byRate := func(high, critical float64) Severity {
		switch {
		case f.PeakBPS >= critical:
			return SeverityCritical
		case f.PeakBPS >= high:
			return SeverityHigh
		}
		return SeverityMedium
	}
	switch k {
	case kExposed:
		if !hasHome || vec.Weak {
			return SeverityLow
		}
		return SeverityMedium
	case kReflection:
		return byRate(s.Lim.Reflection.HighBPS, s.Lim.Reflection.CriticalBPS)
	case kVictimFlood:
		return byRate(s.Lim.VictimFlood.HighBPS, s.Lim.VictimFlood.CriticalBPS)
	case kRequestFlood:
		if f.DataPeers > 0 {
			return SeverityMedium // it answers with data: a reflector now
		}
		return SeverityLow // patched or silent: forged traffic crosses the link
	case kScan:
		switch {
		case onlyWeak(&f.VectorBytes, s.Proto.Vectors):
			return SeverityLow // weak vectors only: ntpq-style queries
		case f.DataPeers > 0:
			return SeverityHigh // it found amplifiers
		}
		return SeverityMedium
	}
	return SeverityHigh // spoofed egress: a host inside forges addresses
}

// topVector is the vector of p carrying the most of the payload bytes: one of p's, or the
// unknown vector of flow records when they carried more than any (ties go to the lower
// index). The unknown vector is not weak, and its remediation is that of p's first vector,
// its most abused request.
func topVector(bytes *[proto.VectorSlots]uint64, p *proto.Protocol) proto.Vector {
	best := 0
	for v := 1; v < len(p.Vectors); v++ {
		if bytes[v] > bytes[best] {
			best = v
		}
	}
	if bytes[proto.VectorUnknown] > bytes[best] {
		return proto.Vector{Name: proto.VectorUnknownName, Remediation: p.Vectors[0].Remediation}
	}
	return p.Vectors[best]
}

// onlyWeak reports whether every byte went through weak vectors: the unknown vector of flow
// records is not one.
func onlyWeak(bytes *[proto.VectorSlots]uint64, vectors []proto.Vector) bool {
	if bytes[proto.VectorUnknown] > 0 {
		return false
	}
	for v := range vectors {
		if !vectors[v].Weak && bytes[v] > 0 {
			return false
		}
	}
	return true
}

// totals are the role's Figures but for its windows, which are read at a time (the
// detectors read them at a packet's, the evidence at a window's end).
func (r *role) totals() Figures {
	return Figures{
		Requests: r.req, Responses: r.resp, WireBytes: r.wire,
		Peers: int(r.peers), RequestPeers: int(r.reqPeers), ResponsePeers: int(r.respPeers), DataPeers: int(r.dataPeers),
		Samples: r.samples, PeakBPS: float64(r.meter.peakBytes * 8), PeakPPS: float64(r.meter.peakPkts),
		VectorBytes: r.vecBytes,
	}
}
