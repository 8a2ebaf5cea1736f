package sinks

import (
	"hash/fnv"
	"net/netip"
	"strconv"

	"github.com/ntpwatch/ntpwatch/detect"
)

// eveTimestamp is Suricata's EVE time layout (output-json.c, CreateIsoTimeString): microseconds
// and a numeric zone without a colon. Elastic's, Splunk's and Wazuh's Suricata pipelines parse
// exactly this.
const eveTimestamp = "2006-01-02T15:04:05.000000-0700"

// Signature describes the EVE alert of one kind. The ids lie in 9000001-9000006, outside the
// ranges of the Snort/Suricata community (sidallocation.org: 1-999999 Talos, 1000000-1999999
// local rules, 2000000-2999999 Emerging Threats), so they clash with no published rule nor with
// a site's own local rules.
type Signature struct {
	ID       int    // alert.signature_id
	Rev      int    // alert.rev
	Text     string // alert.signature
	Category string // alert.category: a Suricata classification.config description
}

// Signatures maps every kind to its EVE signature. docs/alerts.md documents this table.
var Signatures = map[detect.Kind]Signature{
	detect.KindExposedAmplifier: {9000001, 1, "NTPWATCH DOS NTP amplifier answers monlist/mode 6/mode 7 queries", "Attempted Denial of Service"},
	detect.KindReflection:       {9000002, 1, "NTPWATCH DOS NTP server used as reflector in an amplification attack", "Attempted Denial of Service"},
	detect.KindVictimFlood:      {9000003, 1, "NTPWATCH DOS NTP reflection flood against victim", "Denial of Service"},
	detect.KindScan:             {9000004, 1, "NTPWATCH SCAN NTP amplifier scan (mode 6/mode 7 requests to many hosts)", "Detection of a Network Scan"},
	detect.KindSpoofedEgress:    {9000005, 1, "NTPWATCH DOS NTP amplification requests with forged source leaving the home net", "Attempted Denial of Service"},
	detect.KindRequestFlood:     {9000006, 1, "NTPWATCH DOS NTP server flooded with amplification requests from forged sources", "Attempted Denial of Service"},
}

// unknownSignature is used for a kind this version does not know, so a newer detector never
// makes the formatter fail.
var unknownSignature = Signature{9000000, 1, "NTPWATCH NTP anomaly", "Misc activity"}

// eveSeverity maps our severity to Suricata's, where 1 is the most severe and 3 the least.
func eveSeverity(s detect.Severity) int {
	switch s {
	case detect.SeverityCritical, detect.SeverityHigh:
		return 1
	case detect.SeverityMedium:
		return 2
	default:
		return 3
	}
}

// endpoints picks the EVE source and destination of an alert: the direction in which the
// attack traffic flows. The protocol's server port (123 for NTP) is set on the server's side;
// the other side's port is not kept by the detectors and is left out, as EVE allows.
//
//	exposed_amplifier  reflector:123 -> the top client it answered (victims.top[0] or victim)
//	reflection         reflector:123 -> victim (or victims.top[0])
//	victim_flood       reflectors.top[0]:123 (or reflector) -> victim
//	scan               scanner -> targets.responders[0]:123 (null when none answered)
//	spoofed_egress     victim (the forged source) -> reflectors.top[0]:123 (or reflector)
//	request_flood      victims.top[0] (a forged source; or victim) -> reflector:123
func endpoints(a *detect.Alert) (src netip.Addr, srcPort int, dst netip.Addr, dstPort int) {
	port := int(a.ServerPort)
	switch a.Kind {
	case detect.KindVictimFlood:
		return first(a.Reflectors.Top, a.Reflector), port, a.Victim, 0
	case detect.KindScan:
		var t netip.Addr
		if len(a.Targets.Responders) > 0 {
			t = a.Targets.Responders[0].Addr
		}
		return a.Scanner, 0, t, port
	case detect.KindSpoofedEgress:
		return a.Victim, 0, first(a.Reflectors.Top, a.Reflector), port
	case detect.KindExposedAmplifier:
		return a.Reflector, port, first(a.Victims.Top, a.Victim), 0
	case detect.KindRequestFlood:
		return first(a.Victims.Top, a.Victim), 0, a.Reflector, port
	default: // reflection
		v := a.Victim
		if !v.IsValid() {
			v = first(a.Victims.Top, v)
		}
		return a.Reflector, port, v, 0
	}
}

func first(top []detect.HostStat, or netip.Addr) netip.Addr {
	if len(top) > 0 && top[0].Addr.IsValid() {
		return top[0].Addr
	}
	return or
}

// FlowID derives EVE's flow_id from the alert id: every event of one incident carries the same
// flow_id, which is how Suricata pipelines group the records of one flow. It stays below 2^53
// so that JavaScript-based tools read it exactly.
func FlowID(id string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(id))
	return h.Sum64() & (1<<53 - 1)
}

// AppendEVE appends a as one Suricata EVE alert record, without a trailing newline: the
// fields SIEM pipelines for Suricata read (timestamp, flow_id, event_type, src_ip, src_port,
// dest_ip, dest_port, proto, app_proto, alert.*), host (the sensor), and the native alert of
// AppendJSON under "ntpwatch".
func AppendEVE(buf []byte, a *detect.Alert) []byte {
	sig, ok := Signatures[a.Kind]
	if !ok {
		sig = unknownSignature
	}
	src, sport, dst, dport := endpoints(a)
	buf = append(buf, `{"timestamp":`...)
	if a.TS.IsZero() {
		buf = append(buf, "null"...)
	} else {
		buf = append(buf, '"')
		buf = a.TS.UTC().AppendFormat(buf, eveTimestamp)
		buf = append(buf, '"')
	}
	if a.ID != "" {
		buf = append(buf, `,"flow_id":`...)
		buf = strconv.AppendUint(buf, FlowID(a.ID), 10)
	}
	if a.Sensor != "" {
		buf = append(buf, `,"host":`...)
		buf = appendString(buf, a.Sensor)
	}
	buf = append(buf, `,"event_type":"alert","src_ip":`...)
	buf = appendAddr(buf, src)
	if sport != 0 {
		buf = append(buf, `,"src_port":`...)
		buf = strconv.AppendInt(buf, int64(sport), 10)
	}
	buf = append(buf, `,"dest_ip":`...)
	buf = appendAddr(buf, dst)
	if dport != 0 {
		buf = append(buf, `,"dest_port":`...)
		buf = strconv.AppendInt(buf, int64(dport), 10)
	}
	buf = append(buf, `,"proto":"UDP","app_proto":`...)
	buf = appendStringOrNull(buf, a.Protocol)
	buf = append(buf, `,"alert":{"action":"allowed","gid":1,"signature_id":`...)
	buf = strconv.AppendInt(buf, int64(sig.ID), 10)
	buf = append(buf, `,"rev":`...)
	buf = strconv.AppendInt(buf, int64(sig.Rev), 10)
	buf = append(buf, `,"signature":`...)
	buf = appendString(buf, sig.Text)
	buf = append(buf, `,"category":`...)
	buf = appendString(buf, sig.Category)
	buf = append(buf, `,"severity":`...)
	buf = strconv.AppendInt(buf, int64(eveSeverity(a.Severity)), 10)
	buf = append(buf, `},"ntpwatch":`...)
	buf = AppendJSON(buf, a)
	return append(buf, '}')
}
