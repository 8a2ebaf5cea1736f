package detect

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/ntpwatch/ntpwatch/decode/proto"
)

// Thresholds are the settings of the detectors for one protocol: the kinds' sections of
// Config, then the protocol's own defaults (proto.Protocol.Thresholds, in the protocol's
// file), then the keys of detect.protocols.NAME.
type Thresholds struct {
	Reflection       ReflectionConfig
	VictimFlood      VictimFloodConfig
	Scan             ScanConfig
	SpoofedEgress    SpoofedEgressConfig
	RequestFlood     RequestFloodConfig
	ExposedAmplifier ExposedAmplifierConfig
}

// ProtocolConfig is the section detect.protocols.NAME: by kind, the keys of that kind's
// section to set for the protocol alone, as in
//
//	protocols:
//	  dns:
//	    reflection:
//	      min_amplification: 20
//
// A key left out keeps the protocol's default. Validate reports an unknown protocol, kind or
// key, and a value the kind's own section would refuse.
type ProtocolConfig map[string]map[string]float64

// thresholdKey is one key a protocol may set: where its value lives, and what it must be.
type thresholdKey struct {
	field func(t *Thresholds) any // a pointer to the field: *uint64, *int or *float64
	whole bool                    // a count: a whole number
	least float64                 // the least value, or above 0 when least is 0
}

// thresholdKeys are the keys of ProtocolConfig, "kind.key" as in the kinds' sections.
var thresholdKeys = map[string]thresholdKey{
	"reflection.min_response_bytes":   {func(t *Thresholds) any { return &t.Reflection.MinResponseBytes }, true, 1},
	"reflection.min_amplification":    {func(t *Thresholds) any { return &t.Reflection.MinAmplification }, false, 1},
	"reflection.high_bps":             {func(t *Thresholds) any { return &t.Reflection.HighBPS }, false, 0},
	"reflection.critical_bps":         {func(t *Thresholds) any { return &t.Reflection.CriticalBPS }, false, 0},
	"victim_flood.min_reflectors":     {func(t *Thresholds) any { return &t.VictimFlood.MinReflectors }, true, 1},
	"victim_flood.min_response_bytes": {func(t *Thresholds) any { return &t.VictimFlood.MinResponseBytes }, true, 1},
	"victim_flood.min_amplification":  {func(t *Thresholds) any { return &t.VictimFlood.MinAmplification }, false, 1},
	"victim_flood.high_bps":           {func(t *Thresholds) any { return &t.VictimFlood.HighBPS }, false, 0},
	"victim_flood.critical_bps":       {func(t *Thresholds) any { return &t.VictimFlood.CriticalBPS }, false, 0},
	"scan.min_targets":                {func(t *Thresholds) any { return &t.Scan.MinTargets }, true, 1},
	"spoofed_egress.min_requests":     {func(t *Thresholds) any { return &t.SpoofedEgress.MinRequests }, true, 1},
	"request_flood.min_requests":      {func(t *Thresholds) any { return &t.RequestFlood.MinRequests }, true, 1},
	"request_flood.min_sources":       {func(t *Thresholds) any { return &t.RequestFlood.MinSources }, true, 1},
	"exposed_amplifier.min_responses": {func(t *Thresholds) any { return &t.ExposedAmplifier.MinResponses }, true, 1},
}

// set stores v in the key's field of t.
func (k thresholdKey) set(t *Thresholds, v float64) {
	switch f := k.field(t).(type) {
	case *uint64:
		*f = uint64(v)
	case *int:
		*f = int(v)
	case *float64:
		*f = v
	}
}

// get reads the key's field of t.
func (k thresholdKey) get(t *Thresholds) float64 {
	switch f := k.field(t).(type) {
	case *uint64:
		return float64(*f)
	case *int:
		return float64(*f)
	case *float64:
		return *f
	}
	return 0
}

// maxThreshold bounds a protocol's value: counts beyond it do not fit the engine's counters
// exactly, and no threshold needs them.
const maxThreshold = 1 << 53

// Thresholds returns the settings of the detectors for protocol p. cfg must have passed
// Validate.
func (c *Config) Thresholds(p *proto.Protocol) Thresholds {
	t := Thresholds{c.Reflection, c.VictimFlood, c.Scan, c.SpoofedEgress, c.RequestFlood, c.ExposedAmplifier}
	d := &p.Thresholds
	setIf(&t.Reflection.MinResponseBytes, d.ReflectionMinResponseBytes)
	setIf(&t.Reflection.MinAmplification, d.ReflectionMinAmplification)
	setIf(&t.VictimFlood.MinReflectors, d.VictimFloodMinReflectors)
	setIf(&t.VictimFlood.MinResponseBytes, d.VictimFloodMinResponseBytes)
	setIf(&t.VictimFlood.MinAmplification, d.VictimFloodMinAmplification)
	setIf(&t.Scan.MinTargets, d.ScanMinTargets)
	setIf(&t.RequestFlood.MinRequests, d.RequestFloodMinRequests)
	for kind, keys := range c.Protocols[p.Name] {
		for key, v := range keys {
			if k, ok := thresholdKeys[kind+"."+key]; ok {
				k.set(&t, v)
			}
		}
	}
	return t
}

// setIf sets *dst to v unless v is zero: a protocol's default that it does not set.
func setIf[T uint64 | int | float64](dst *T, v T) {
	if v != 0 {
		*dst = v
	}
}

// validateProtocols reports every problem of the protocols section: a protocol the table does
// not have, a kind or key that is not a threshold, a value out of range, and a critical rate
// below the high one once the protocol's settings are all applied.
func (c *Config) validateProtocols(bad func(key, format string, args ...any)) {
	for _, name := range slices.Sorted(maps.Keys(c.Protocols)) { // one order of messages, whatever the map's
		p := protocolNamed(name)
		if p == nil {
			bad("protocols."+name, "no such protocol (want %s)", strings.Join(protocolNames(), ", "))
			continue
		}
		for _, kind := range slices.Sorted(maps.Keys(c.Protocols[name])) {
			for _, key := range slices.Sorted(maps.Keys(c.Protocols[name][kind])) {
				full, v := "protocols."+name+"."+kind+"."+key, c.Protocols[name][kind][key]
				k, ok := thresholdKeys[kind+"."+key]
				switch {
				case !ok:
					bad(full, "not a threshold a protocol may set")
				case k.whole && (v != math.Trunc(v) || v > maxThreshold):
					bad(full, "must be a whole number, got %g", v)
				case k.least == 0 && !(v > 0):
					bad(full, "must be positive, got %g", v)
				case !(v >= k.least):
					bad(full, "must be at least %g, got %g", k.least, v)
				}
			}
		}
		t := c.Thresholds(p)
		for kind, r := range map[string][2]float64{
			"reflection":   {t.Reflection.HighBPS, t.Reflection.CriticalBPS},
			"victim_flood": {t.VictimFlood.HighBPS, t.VictimFlood.CriticalBPS},
		} {
			if r[0] > 0 && r[1] < r[0] {
				bad("protocols."+name+"."+kind+".critical_bps", "must be at least high_bps (%g), got %g", r[0], r[1])
			}
		}
	}
}

// protocolNamed returns the protocol of the default table called name, nil when there is none.
func protocolNamed(name string) *proto.Protocol {
	for _, p := range proto.Default.Protocols() {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// protocolNames lists the names of the default table's protocols.
func protocolNames() []string {
	var names []string
	for _, p := range proto.Default.Protocols() {
		names = append(names, p.Name)
	}
	return names
}

// Describe writes the keys whose values in t differ from base, with t's, as
// "reflection.min_amplification 10, scan.min_targets 256": a protocol's own thresholds, for
// the docs and the tests that keep them in step.
func (t Thresholds) Describe(base Thresholds) string {
	var parts []string
	for _, key := range slices.Sorted(maps.Keys(thresholdKeys)) {
		k := thresholdKeys[key]
		if v := k.get(&t); v != k.get(&base) {
			parts = append(parts, fmt.Sprintf("%s %g", key, v))
		}
	}
	return strings.Join(parts, ", ")
}

// service returns what a host of protocol p on service port port (the fallback's; 0 for the
// others) is named in alerts, its service port and its thresholds. The engine resolves each
// protocol's thresholds once, and names each port of the fallback once.
func (e *Engine) service(p *proto.Protocol, port uint16) (name string, servicePort uint16, lim *Thresholds) {
	lim = e.lims[p]
	if lim == nil {
		t := e.cfg.Thresholds(p)
		lim = &t
		e.lims[p] = lim
	}
	if !p.Fallback {
		return p.Name, p.Ports[0], lim
	}
	name, ok := e.portNames[port]
	if !ok {
		name = p.Name + "/" + strconv.Itoa(int(port))
		e.portNames[port] = name
	}
	return name, port, lim
}
