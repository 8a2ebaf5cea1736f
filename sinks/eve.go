package sinks

import (
	"fmt"
	"hash/fnv"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ntpwatch/ntpwatch/detect"
)

// eveTimestamp is Suricata's EVE time layout (output-json.c, CreateIsoTimeString): microseconds
// and a numeric zone without a colon. Elastic's, Splunk's and Wazuh's Suricata pipelines parse
// exactly this.
const eveTimestamp = "2006-01-02T15:04:05.000000-0700"

// Signature describes the EVE alert of one kind of one protocol. NTP's ids lie in
// 9000001-9000006, those of a protocol whose server port is P in 9100000 + 10*P + 1 to 6 (by
// kind, in NTP's order: 9100191-9100196 for CharGEN, 9104271-9104276 for udp/427), all outside
// the ranges of the Snort/Suricata community (sidallocation.org: 1-999999 Talos,
// 1000000-1999999 local rules, 2000000-2999999 Emerging Threats), so they clash with no
// published rule nor with a site's own local rules.
type Signature struct {
	ID       int    // alert.signature_id
	Rev      int    // alert.rev
	Text     string // alert.signature
	Category string // alert.category: a Suricata classification.config description
}

// Signatures maps every kind to its EVE signature for NTP. docs/alerts.md documents this
// table. SignatureOf gives other protocols theirs.
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

// signatureTexts are the signature texts of the protocols other than NTP, by kind, the
// protocol's name in capitals in place of %s: "NTPWATCH DOS DNS reflection flood against
// victim", "NTPWATCH DOS UDP/427 reflection flood against victim".
var signatureTexts = map[detect.Kind]string{
	detect.KindExposedAmplifier: "NTPWATCH DOS %s amplifier answers amplifying requests",
	detect.KindReflection:       "NTPWATCH DOS %s server used as reflector in an amplification attack",
	detect.KindVictimFlood:      "NTPWATCH DOS %s reflection flood against victim",
	detect.KindScan:             "NTPWATCH SCAN %s amplifier scan (amplifying requests to many hosts)",
	detect.KindSpoofedEgress:    "NTPWATCH DOS %s amplification requests with forged source leaving the home net",
	detect.KindRequestFlood:     "NTPWATCH DOS %s server flooded with amplification requests from forged sources",
}

// SignatureOf is the signature of alert a: NTP's from Signatures, another protocol's with its
// own id and text (Signature's comment), the category of the kind.
func SignatureOf(a *detect.Alert) Signature {
	sig, ok := Signatures[a.Kind]
	if !ok {
		return unknownSignature
	}
	if a.Protocol == "ntp" || a.Protocol == "" {
		return sig
	}
	sig.ID = 9_100_000 + 10*int(a.ServerPort) + sig.ID - 9_000_000
	sig.Text = fmt.Sprintf(signatureTexts[a.Kind], strings.ToUpper(a.Protocol))
	return sig
}

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

// peerOf is the endpoint of an alert that is not its subject, taken from this event alone:
//
//	exposed_amplifier  the top client the reflector answered (victims.top[0], or victim)
//	reflection         victim (or victims.top[0])
//	victim_flood       reflectors.top[0] (or reflector)
//	scan               targets.responders[0]; none while no target answered
//	spoofed_egress     reflectors.top[0] (or reflector)
//	request_flood      victims.top[0], a forged source (or victim)
//
// Top lists are ordered by bytes and change between the events of an incident, so the EVE
// formatter keeps the peer of an incident's first event for all of its events (eveFormatter).
func peerOf(a *detect.Alert) netip.Addr {
	switch a.Kind {
	case detect.KindVictimFlood, detect.KindSpoofedEgress:
		return first(a.Reflectors.Top, a.Reflector)
	case detect.KindScan:
		if len(a.Targets.Responders) > 0 {
			return a.Targets.Responders[0].Addr
		}
		return netip.Addr{}
	case detect.KindExposedAmplifier:
		return first(a.Victims.Top, a.Victim)
	case detect.KindRequestFlood:
		return first(a.Victims.Top, a.Victim)
	default: // reflection
		if a.Victim.IsValid() {
			return a.Victim
		}
		return first(a.Victims.Top, a.Victim)
	}
}

func first(top []detect.HostStat, or netip.Addr) netip.Addr {
	if len(top) > 0 && top[0].Addr.IsValid() {
		return top[0].Addr
	}
	return or
}

// flowOf lays an alert out as the flow Suricata would have seen: the server (the protocol's
// port side: the reflector, or the peer that answered) and the client (the requests' source:
// a victim whose address was forged, or a scanner), and which way the attack traffic goes.
// An address the alert does not know is the zero Addr.
func flowOf(a *detect.Alert, peer netip.Addr) (server, client netip.Addr, toServer bool) {
	switch a.Kind {
	case detect.KindVictimFlood:
		return peer, a.Victim, false
	case detect.KindScan:
		return peer, a.Scanner, true
	case detect.KindSpoofedEgress:
		return peer, a.Victim, true
	case detect.KindRequestFlood:
		return a.Reflector, peer, true
	default: // exposed_amplifier, reflection
		return a.Reflector, peer, false
	}
}

// FlowID derives EVE's flow_id from the alert id: every event of one incident carries the same
// flow_id, which is how Suricata pipelines group the records of one flow. It stays below 2^53
// so that JavaScript-based tools read it exactly.
func FlowID(id string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(id))
	return h.Sum64() & (1<<53 - 1)
}

// maxPinnedPeers bounds the peers a formatter keeps: an incident's entry goes with its end
// event, and the engine caps the incidents open at once far below this; beyond it an
// event's peer is taken from the event alone.
const maxPinnedPeers = 1 << 20

// pinnedFormatter writes a format that names the two ends of an incident's traffic (EVE,
// ECS), keeping for each open incident the peer of its first event, so that the source and
// destination stay the same across its start, update and end events, as they do in the
// records of one Suricata flow. Its methods may be called from several goroutines.
type pinnedFormatter struct {
	write func(buf []byte, a *detect.Alert, peer netip.Addr) []byte
	mu    sync.Mutex
	peers map[string]netip.Addr // by alert id
}

func newEVEFormatter() *pinnedFormatter {
	return &pinnedFormatter{write: appendEVE, peers: map[string]netip.Addr{}}
}

// append appends a with its incident's pinned peer.
func (f *pinnedFormatter) append(buf []byte, a *detect.Alert) []byte {
	return f.write(buf, a, f.peer(a))
}

func (f *pinnedFormatter) peer(a *detect.Alert) netip.Addr {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.peers[a.ID]
	if !ok || !p.IsValid() {
		// A scan names its first responder once one answered: it is pinned from then on.
		p = peerOf(a)
	}
	switch {
	case a.State == detect.StateEnd:
		delete(f.peers, a.ID)
	case a.ID != "" && (ok || len(f.peers) < maxPinnedPeers):
		f.peers[a.ID] = p
	}
	return p
}

// AppendEVE appends a as one Suricata EVE alert record, without a trailing newline, its peer
// taken from a alone (the outputs keep an incident's peer across its events). The record is
// valid against Suricata's EVE JSON schema (etc/schema.json): the fields SIEM pipelines for
// Suricata read (timestamp, flow_id, event_type, src_ip, src_port, dest_ip, dest_port, proto,
// app_proto, community_id, direction, flow, alert), host (the sensor), and the native alert of
// AppendJSON under alert.context.ntpwatch, the one place the schema leaves open.
func AppendEVE(buf []byte, a *detect.Alert) []byte {
	return appendEVE(buf, a, peerOf(a))
}

func appendEVE(buf []byte, a *detect.Alert, peer netip.Addr) []byte {
	sig := SignatureOf(a)
	port := a.ServerPort
	server, client, toServer := flowOf(a, peer)
	src, sport, dst, dport := server, port, client, uint16(0)
	if toServer {
		src, sport, dst, dport = client, 0, server, port
	}
	buf = append(buf, `{"timestamp":`...)
	buf = appendEVETime(buf, a.TS)
	if a.ID != "" {
		buf = append(buf, `,"flow_id":`...)
		buf = strconv.AppendUint(buf, FlowID(a.ID), 10)
	}
	if a.Sensor != "" {
		buf = append(buf, `,"host":`...)
		buf = appendString(buf, a.Sensor)
	}
	buf = append(buf, `,"event_type":"alert"`...)
	// Suricata never writes a null address: an endpoint the alert does not know (the
	// target of a scan nobody answered) is left out with its port.
	buf = appendEVEEndpoint(buf, "src", src, sport)
	buf = appendEVEEndpoint(buf, "dest", dst, dport)
	buf = append(buf, `,"proto":"UDP"`...)
	if a.Protocol != "" {
		buf = append(buf, `,"app_proto":`...)
		buf = appendString(buf, a.Protocol)
	}
	if server.IsValid() && client.IsValid() {
		// The detectors keep no client port: the ID is that of the two hosts with the
		// client's port as 0, the same for every event of the incident.
		buf = append(buf, `,"community_id":`...)
		buf = appendString(buf, CommunityID(0, protoUDP, client, server, 0, port))
	}
	buf = append(buf, `,"direction":`...)
	if toServer {
		buf = append(buf, `"to_server"`...)
	} else {
		buf = append(buf, `"to_client"`...)
	}
	buf = append(buf, `,"flow":{"pkts_toserver":`...)
	buf = strconv.AppendUint(buf, a.Requests.Packets, 10)
	buf = append(buf, `,"pkts_toclient":`...)
	buf = strconv.AppendUint(buf, a.Responses.Packets, 10)
	buf = append(buf, `,"bytes_toserver":`...)
	buf = strconv.AppendUint(buf, a.Requests.Bytes, 10)
	buf = append(buf, `,"bytes_toclient":`...)
	buf = strconv.AppendUint(buf, a.Responses.Bytes, 10)
	buf = append(buf, `,"start":`...)
	buf = appendEVETime(buf, a.FirstSeen)
	buf = append(buf, `,"end":`...)
	buf = appendEVETime(buf, a.LastSeen)
	buf = appendEVEEndpoint(buf, "src", client, 0)
	buf = appendEVEEndpoint(buf, "dest", server, port)
	buf = append(buf, `},"alert":{"action":"allowed","gid":1,"signature_id":`...)
	buf = strconv.AppendInt(buf, int64(sig.ID), 10)
	buf = append(buf, `,"rev":`...)
	buf = strconv.AppendInt(buf, int64(sig.Rev), 10)
	buf = append(buf, `,"signature":`...)
	buf = appendString(buf, sig.Text)
	buf = append(buf, `,"category":`...)
	buf = appendString(buf, sig.Category)
	buf = append(buf, `,"severity":`...)
	buf = strconv.AppendInt(buf, int64(eveSeverity(a.Severity)), 10)
	buf = append(buf, `,"context":{"ntpwatch":`...)
	buf = AppendJSON(buf, a)
	return append(buf, "}}}"...)
}

// appendEVETime writes t in Suricata's layout, a quoted string.
func appendEVETime(buf []byte, t time.Time) []byte {
	buf = append(buf, '"')
	buf = t.UTC().AppendFormat(buf, eveTimestamp)
	return append(buf, '"')
}

// appendEVEEndpoint writes `,"PREFIX_ip":"ADDR","PREFIX_port":PORT`, without the port when it
// is 0 and without either when addr is unknown.
func appendEVEEndpoint(buf []byte, prefix string, addr netip.Addr, port uint16) []byte {
	if !addr.IsValid() {
		return buf
	}
	buf = append(buf, `,"`...)
	buf = append(buf, prefix...)
	buf = append(buf, `_ip":`...)
	buf = appendAddr(buf, addr)
	if port != 0 {
		buf = append(buf, `,"`...)
		buf = append(buf, prefix...)
		buf = append(buf, `_port":`...)
		buf = strconv.AppendUint(buf, uint64(port), 10)
	}
	return buf
}
