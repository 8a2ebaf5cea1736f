package sinks

import (
	"net/netip"
	"time"

	"github.com/ntpwatch/ntpwatch/detect"
)

var t0 = time.Date(2014, 1, 10, 12, 0, 0, 123456789, time.UTC)

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

func host(a string, packets, bytes uint64) detect.HostStat {
	return detect.HostStat{Addr: addr(a), Packets: packets, Bytes: bytes}
}

// sampleAlerts holds one alert of every kind with every field its kind uses set, plus the edge
// cases of the formatter: nulls, an IPv6 subject, a string needing escapes, a whole-number
// amplification, a zone offset other than UTC.
func sampleAlerts() []detect.Alert {
	return []detect.Alert{
		{
			ID: "a1f0c2d3e4b5a697", Kind: detect.KindExposedAmplifier, State: detect.StateStart,
			Severity: detect.SeverityMedium, TS: t0, FirstSeen: t0, LastSeen: t0,
			Protocol: "ntp", ServerPort: 123, Vector: "monlist", Reflector: addr("198.51.100.10"),
			Victim:   addr("203.0.113.7"),
			Victims:  detect.HostList{Count: 1, Top: []detect.HostStat{host("203.0.113.7", 6, 2640)}},
			Requests: detect.Counter{Packets: 1, Bytes: 8}, Responses: detect.Counter{Packets: 6, Bytes: 2640},
			Amplification: 330, HasAmplification: true, WireBytes: 2934, PeakBPS: 23472, PeakPPS: 7,
			Direction:   "outbound",
			Remediation: "Disable monlist: upgrade ntpd to 4.2.7p26 or later, or add \"restrict default noquery\" to ntp.conf.",
			Sensor:      "tap-1", Source: "border.pcap",
		},
		{
			ID: "0b1c2d3e4f506172", Kind: detect.KindReflection, State: detect.StateUpdate,
			Severity: detect.SeverityCritical, TS: t0.Add(60 * time.Second), FirstSeen: t0,
			LastSeen: t0.Add(59*time.Second + 999*time.Millisecond),
			Protocol: "ntp", ServerPort: 123, Vector: "monlist", Reflector: addr("198.51.100.10"), Victim: addr("203.0.113.7"),
			Victims: detect.HostList{Count: 2, Top: []detect.HostStat{
				host("203.0.113.7", 120000, 52800000), host("203.0.113.99", 100, 44000)}},
			Requests: detect.Counter{Packets: 1200, Bytes: 9600}, Responses: detect.Counter{Packets: 120100, Bytes: 52844000},
			Amplification: 5504.583333333333, HasAmplification: true, WireBytes: 57960000,
			PeakBPS: 23160000, PeakPPS: 6000, Direction: "outbound",
			Remediation: "Disable monlist.", Sensor: "tap-1", Source: "eth1",
		},
		{
			ID: "v1", Kind: detect.KindVictimFlood, State: detect.StateEnd, Severity: detect.SeverityHigh,
			TS: t0.Add(2 * time.Minute), FirstSeen: t0, LastSeen: t0.Add(time.Minute),
			Protocol: "ntp", ServerPort: 123, Vector: "mode7", Victim: addr("2001:db8::7"),
			Reflectors: detect.HostList{Count: 250, Top: []detect.HostStat{
				host("2001:db8:1::10", 5000, 2410000), host("2001:db8:1::11", 4000, 1928000)}},
			Responses: detect.Counter{Packets: 9000, Bytes: 4338000},
			WireBytes: 4860000, PeakBPS: 1.5e9, PeakPPS: 12345.5, Direction: "inbound",
			Sensor: "tap-2", Source: "a.pcap,b.pcap.gz",
			// From sFlow at 1:1000: 9 samples.
			Sampling: detect.Sampling{Rate: 1000, Samples: 9, ErrorPct: 65.3, LowerBounds: true},
		},
		{
			ID: "s1", Kind: detect.KindScan, State: detect.StateStart, Severity: detect.SeverityLow,
			TS: t0.In(time.FixedZone("CET", 3600)), FirstSeen: t0, LastSeen: t0,
			Protocol: "ntp", ServerPort: 123, Vector: "mode6", Scanner: addr("192.0.2.66"),
			Targets: detect.Targets{Count: 512, Responders: []detect.Responder{
				{Addr: addr("198.51.100.10"), Amplifier: true, Packets: 3, Bytes: 1400},
				{Addr: addr("198.51.100.11"), Amplifier: false, Packets: 1, Bytes: 8}}},
			Requests: detect.Counter{Packets: 512, Bytes: 6144}, Responses: detect.Counter{Packets: 4, Bytes: 1408},
			Amplification: 0.22916666666666666, HasAmplification: true, WireBytes: 30000, PeakBPS: 0.5, PeakPPS: 512,
			Sensor: "tap \"one\"\n\u2028é", Source: "-",
		},
		{
			ID: "e1", Kind: detect.KindSpoofedEgress, State: detect.StateStart, Severity: detect.SeverityHigh,
			TS: t0, FirstSeen: t0, LastSeen: t0,
			Protocol: "ntp", ServerPort: 123, Vector: "monlist", Victim: addr("203.0.113.7"), Reflector: addr("198.51.100.10"),
			Requests: detect.Counter{Packets: 100, Bytes: 800}, WireBytes: 5000,
			Direction: "outbound", Sensor: "tap-1", Source: "eth1",
		},
		{
			ID: "r1", Kind: detect.KindRequestFlood, State: detect.StateEnd, Severity: detect.SeverityLow,
			TS: t0.Add(time.Minute), FirstSeen: t0, LastSeen: t0.Add(30 * time.Second),
			Protocol: "ntp", ServerPort: 123, Vector: "monlist", Reflector: addr("198.51.100.10"), Victim: addr("203.0.113.7"),
			Victims: detect.HostList{Count: 2, Top: []detect.HostStat{
				host("203.0.113.7", 2000000, 16000000), host("203.0.113.8", 10, 80)}},
			Requests: detect.Counter{Packets: 2000010, Bytes: 16000080}, Responses: detect.Counter{Packets: 10, Bytes: 80},
			Amplification: 0, HasAmplification: true, WireBytes: 120001200, PeakBPS: 48000000, PeakPPS: 100000,
			Direction: "inbound", Sensor: "tap-1", Source: "eth1",
			// From the flow records of an exporter that counts every packet.
			Sampling: detect.Sampling{Rate: 1, Samples: 2000020},
		},
		{Kind: detect.KindScan, Protocol: "ntp", ServerPort: 123}, // everything else zero: nulls and empty lists
	}
}
