package sinks

import (
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/ntpwatch/ntpwatch/detect"
	"github.com/ntpwatch/ntpwatch/internal/buildinfo"
)

// ECSVersion is the Elastic Common Schema version the documents of --format ecs declare in
// ecs.version. Every field they use is defined, with the same type, from ECS 8.0 on.
const ECSVersion = "8.11.0"

// ecsSeverity maps a severity to event.severity on the scale of Elastic's detection rules
// (low 21, medium 47, high 73, critical 99), so that a SIEM ranks ntpwatch's alerts among its
// own.
var ecsSeverity = map[detect.Severity]int{
	detect.SeverityLow: 21, detect.SeverityMedium: 47, detect.SeverityHigh: 73, detect.SeverityCritical: 99,
}

// technique is a MITRE ATT&CK technique with its tactic, for ECS's threat.* fields.
type technique struct {
	tactic, tacticName       string
	technique, techniqueName string
	sub, subName             string
}

// reflectionAmplification is ATT&CK T1498.002 (https://attack.mitre.org/techniques/T1498/002/):
// every kind but scan is a part of it, exposed_amplifier the means to it.
var reflectionAmplification = technique{"TA0040", "Impact", "T1498", "Network Denial of Service", "T1498.002", "Reflection Amplification"}

// scanningIPBlocks is ATT&CK T1595.001 (https://attack.mitre.org/techniques/T1595/001/):
// a sweep of address blocks for hosts that answer amplifying requests.
var scanningIPBlocks = technique{"TA0043", "Reconnaissance", "T1595", "Active Scanning", "T1595.001", "Scanning IP Blocks"}

func techniqueOf(k detect.Kind) technique {
	if k == detect.KindScan {
		return scanningIPBlocks
	}
	return reflectionAmplification
}

func newECSFormatter() *pinnedFormatter {
	return &pinnedFormatter{write: appendECS, peers: map[string]netip.Addr{}}
}

// AppendECS appends a as one Elastic Common Schema document, without a trailing newline, its
// peer taken from a alone (the outputs keep an incident's peer across its events): an alert
// (event.kind) of the network and intrusion_detection categories, with the ends of the attack
// traffic as source and destination, the flow's Community ID, the signature as rule.*, the
// ATT&CK technique as threat.*, the sensor as observer.*, every address in related.ip, and
// the native alert of AppendJSON under "ntpwatch".
func AppendECS(buf []byte, a *detect.Alert) []byte {
	return appendECS(buf, a, peerOf(a))
}

func appendECS(buf []byte, a *detect.Alert, peer netip.Addr) []byte {
	sig := SignatureOf(a)
	server, client, toServer := flowOf(a, peer)
	port := a.ServerPort
	src, dst := server, client
	srcPort, dstPort := port, uint16(0)
	srcCount, dstCount := a.Responses, a.Requests
	if toServer {
		src, dst, srcPort, dstPort, srcCount, dstCount = client, server, 0, port, a.Requests, a.Responses
	}
	buf = append(buf, `{"@timestamp":`...)
	buf = appendECSTime(buf, a.TS)
	buf = append(buf, `,"ecs":{"version":"`+ECSVersion+`"},"message":`...)
	buf = appendString(buf, sig.Text)
	buf = append(buf, `,"event":{"kind":"alert","category":["network","intrusion_detection"],"type":["info"],"module":"ntpwatch","dataset":"ntpwatch.alert","action":`...)
	buf = appendString(buf, string(a.Kind))
	if sev, ok := ecsSeverity[a.Severity]; ok {
		buf = append(buf, `,"severity":`...)
		buf = strconv.AppendInt(buf, int64(sev), 10)
	}
	if !a.FirstSeen.IsZero() && !a.LastSeen.IsZero() {
		buf = append(buf, `,"start":`...)
		buf = appendECSTime(buf, a.FirstSeen)
		buf = append(buf, `,"end":`...)
		buf = appendECSTime(buf, a.LastSeen)
		buf = append(buf, `,"duration":`...)
		buf = strconv.AppendInt(buf, int64(a.LastSeen.Sub(a.FirstSeen)), 10)
	}
	buf = append(buf, '}')
	buf = appendECSEndpoint(buf, "source", src, srcPort, srcCount)
	buf = appendECSEndpoint(buf, "destination", dst, dstPort, dstCount)
	buf = append(buf, `,"network":{"transport":"udp","iana_number":"17"`...)
	if a.Protocol != "" {
		buf = append(buf, `,"protocol":`...)
		buf = appendString(buf, a.Protocol)
	}
	switch s := a.Subject(); {
	case s.Is4() || s.Is4In6():
		buf = append(buf, `,"type":"ipv4"`...)
	case s.Is6():
		buf = append(buf, `,"type":"ipv6"`...)
	}
	if a.Direction != "" {
		buf = append(buf, `,"direction":`...)
		buf = appendString(buf, a.Direction)
	}
	if server.IsValid() && client.IsValid() {
		buf = append(buf, `,"community_id":`...)
		buf = appendString(buf, CommunityID(0, protoUDP, client, server, 0, port))
	}
	buf = append(buf, `,"packets":`...)
	buf = strconv.AppendUint(buf, a.Requests.Packets+a.Responses.Packets, 10)
	buf = append(buf, `,"bytes":`...)
	buf = strconv.AppendUint(buf, a.Requests.Bytes+a.Responses.Bytes, 10)
	buf = append(buf, `},"rule":{"id":"`...)
	buf = strconv.AppendInt(buf, int64(sig.ID), 10)
	buf = append(buf, `","version":"`...)
	buf = strconv.AppendInt(buf, int64(sig.Rev), 10)
	buf = append(buf, `","name":`...)
	buf = appendString(buf, sig.Text)
	buf = append(buf, `,"category":`...)
	buf = appendString(buf, sig.Category)
	buf = append(buf, `,"ruleset":"ntpwatch"}`...)
	buf = appendThreat(buf, techniqueOf(a.Kind))
	buf = append(buf, `,"observer":{"type":"ids","vendor":"ntpwatch","product":"ntpwatch","version":`...)
	buf = appendString(buf, buildinfo.Read().Short())
	if a.Sensor != "" {
		buf = append(buf, `,"name":`...)
		buf = appendString(buf, a.Sensor)
	}
	buf = append(buf, `},"related":{"ip":[`...)
	buf = appendRelated(buf, a)
	buf = append(buf, `]},"ntpwatch":`...)
	buf = AppendJSON(buf, a)
	return append(buf, '}')
}

// appendECSTime writes t as ECS dates are written, RFC 3339 in UTC with the fraction as
// needed.
func appendECSTime(buf []byte, t time.Time) []byte {
	buf = append(buf, '"')
	buf = t.UTC().AppendFormat(buf, time.RFC3339Nano)
	return append(buf, '"')
}

// appendECSEndpoint writes `,"NAME":{"ip":...,"port":...,"packets":...,"bytes":...}`: what
// the endpoint sent. An unknown address leaves out the endpoint; a zero port, the port.
func appendECSEndpoint(buf []byte, name string, addr netip.Addr, port uint16, sent detect.Counter) []byte {
	if !addr.IsValid() {
		return buf
	}
	buf = append(buf, `,"`...)
	buf = append(buf, name...)
	buf = append(buf, `":{"ip":`...)
	buf = appendAddr(buf, addr)
	if port != 0 {
		buf = append(buf, `,"port":`...)
		buf = strconv.AppendUint(buf, uint64(port), 10)
	}
	buf = append(buf, `,"packets":`...)
	buf = strconv.AppendUint(buf, sent.Packets, 10)
	buf = append(buf, `,"bytes":`...)
	buf = strconv.AppendUint(buf, sent.Bytes, 10)
	return append(buf, '}')
}

// appendThreat writes the threat.* fields of t; ECS makes the technique and tactic fields
// arrays, as one event may match several.
func appendThreat(buf []byte, t technique) []byte {
	ref := func(id string) string {
		if id[:2] == "TA" {
			return "https://attack.mitre.org/tactics/" + id + "/"
		}
		if id, sub, ok := strings.Cut(id, "."); ok {
			return "https://attack.mitre.org/techniques/" + id + "/" + sub + "/"
		}
		return "https://attack.mitre.org/techniques/" + id + "/"
	}
	one := func(buf []byte, id, name string) []byte {
		buf = append(buf, `"id":[`...)
		buf = appendString(buf, id)
		buf = append(buf, `],"name":[`...)
		buf = appendString(buf, name)
		buf = append(buf, `],"reference":[`...)
		buf = appendString(buf, ref(id))
		return append(buf, ']')
	}
	buf = append(buf, `,"threat":{"framework":"MITRE ATT&CK","tactic":{`...)
	buf = one(buf, t.tactic, t.tacticName)
	buf = append(buf, `},"technique":{`...)
	buf = one(buf, t.technique, t.techniqueName)
	buf = append(buf, `,"subtechnique":{`...)
	buf = one(buf, t.sub, t.subName)
	return append(buf, "}}}"...)
}

// appendRelated writes every address an alert names, once each, in the order of the
// native fields: related.ip, which a SIEM searches for "anything about this host".
func appendRelated(buf []byte, a *detect.Alert) []byte {
	var seen []netip.Addr
	add := func(x netip.Addr) {
		x = x.WithZone("")
		if !x.IsValid() {
			return
		}
		for _, s := range seen {
			if s == x {
				return
			}
		}
		if len(seen) > 0 {
			buf = append(buf, ',')
		}
		seen = append(seen, x)
		buf = appendAddr(buf, x)
	}
	add(a.Reflector)
	add(a.Victim)
	add(a.Scanner)
	for _, h := range a.Victims.Top {
		add(h.Addr)
	}
	for _, h := range a.Reflectors.Top {
		add(h.Addr)
	}
	for _, r := range a.Targets.Responders {
		add(r.Addr)
	}
	return buf
}
