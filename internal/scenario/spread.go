package scenario

import (
	"math/rand/v2"
	"slices"
	"time"
)

// Spread is an attack as the border links of a network carry it, for the tests of the fleet:
// each link's frames in time order (a sensor taps each link), and the incident that a
// sensor seeing every link would report.
type Spread struct {
	Links    [][]Frame
	Incident Incident
}

// SpreadVictim is the victim of VictimFloodSpread.
var SpreadVictim = addr("198.51.100.77")

// VictimFloodSpread is a victim flood that reaches its victim, 198.51.100.77 (a home
// address: the replies with data to it expose no amplifier to the sensors), through links
// border links: reflectors reflectors, 192.0.2.1 on, each answer one full monlist reply series
// (100 packets, 44,000 payload bytes), 50 ms apart from Epoch+5s, reflector i through link
// i % links. With 90 reflectors over 10 links, each link carries 9 reflectors and 396,000
// bytes, below every threshold of a sensor on it (victim_flood's 10 reflectors and 1,000,000
// bytes), while the whole is 90 reflectors and 3,960,000 bytes within 5 seconds: a
// victim_flood. Deterministic from seed, like the scenarios.
func VictimFloodSpread(seed uint64, reflectors, links int) Spread {
	rng := rand.New(rand.NewPCG(seed, 0x666c6565))
	caps := make([]capture, links)
	start := Epoch.Add(5 * time.Second)
	r := addr("192.0.2.0")
	for i := range reflectors {
		r = r.Next()
		t := start.Add(time.Duration(i) * 50 * time.Millisecond).Add(jitter(rng, 40*time.Millisecond))
		down := &Endpoints{SrcMAC: macRouter, DstMAC: mac(0x77), Src: r, Dst: SpreadVictim, SrcPort: 123, DstPort: 80}
		replySeries(&caps[i%links], t, down, MonlistReply(2, MonitorList(SpreadVictim, 600), r), 60*time.Microsecond)
	}
	s := Spread{Incident: Incident{Kind: "victim_flood", Victim: SpreadVictim, Reflectors: reflectors,
		Responses: Traffic{uint64(reflectors) * fullReplyPackets, uint64(reflectors) * fullReplyBytes}}}
	for i := range caps {
		s.Links = append(s.Links, sorted(caps[i].frames))
	}
	return s
}

// sorted returns the frames made in time order; frames of the same instant keep the order
// they were made in.
func sorted(ms []made) []Frame {
	slices.SortStableFunc(ms, func(a, b made) int { return a.Time.Compare(b.Time) })
	out := make([]Frame, len(ms))
	for i, m := range ms {
		out[i] = m.Frame
	}
	return out
}

// Every is the spread's attack again every minute, minutes times in all: an attack that goes
// on for several windows. The incident's figures grow with it; its reflectors stay the same.
func (s Spread) Every(minutes int) Spread {
	out := Spread{Incident: s.Incident}
	for _, link := range s.Links {
		var fs []Frame
		for m := range minutes {
			for _, f := range link {
				fs = append(fs, Frame{Time: f.Time.Add(time.Duration(m) * time.Minute), Data: f.Data})
			}
		}
		out.Links = append(out.Links, fs)
	}
	out.Incident.Responses.Packets *= uint64(minutes)
	out.Incident.Responses.Bytes *= uint64(minutes)
	return out
}
