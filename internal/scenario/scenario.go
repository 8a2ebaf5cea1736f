// Package scenario builds the deterministic traffic ntpwatch is tested and shown with, NTP's
// and that of every other reflection protocol of the table (protocols.go, everyday.go):
// the sample captures of pcaps/, which cmd/ntpgen writes, and the same frames for tests that
// want them in memory or in another capture format. A scenario is a function of its seed
// alone, so the same seed gives the same bytes on every machine, and each scenario carries
// the incidents it was built to contain, so that a test checks the detector against the
// design rather than against its own earlier output.
//
// The frame and payload builders (payloads.go for the protocols beyond NTP) are exported for
// cmd/ntpgen's benchmark captures and loopback tools. Everything here is a pure function of its arguments and safe for
// concurrent use.
package scenario

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/google/gopacket/layers"
)

// Scenario is one deterministic capture and what it holds.
type Scenario struct {
	Name  string // the sample's name: pcaps/NAME.pcap
	About string // one line for pcaps/README.md and `ntpgen list`
	// Snaplen is the snaplen the sample in pcaps/ is written with; 0 keeps whole frames.
	Snaplen int
	// Compressed says that the sample in pcaps/ is gzip-compressed: NAME.pcap.gz, which
	// ntpwatch reads as it is, as Wireshark does.
	Compressed bool
	// HomeNet is the network the scenario's tap guards, which ntpwatch must be told
	// (--home-net) to tell inside from outside; the zero Prefix where the scenario needs none.
	HomeNet netip.Prefix
	// Incidents are the incidents the traffic holds, as ntpwatch must report them given
	// HomeNet: every one, and nothing else.
	Incidents []Incident
	// Tshark is a display filter every frame of the scenario matches in tshark: the
	// dissectors that read its protocols ("ntp" when empty), and what stands for those
	// tshark has none of.
	Tshark string

	build func(c *capture, rng *rand.Rand)
	// carry, when set, makes the carrier that puts the frames on the tapped link: a tunnel,
	// a mirror session or a link that is not Ethernet.
	carry func() carrier
}

// File is the sample's file name in pcaps/: NAME.pcap, or NAME.pcap.gz when Compressed.
func (s *Scenario) File() string {
	if s.Compressed {
		return s.Name + ".pcap.gz"
	}
	return s.Name + ".pcap"
}

// Link is the link type of the scenario's frames: Ethernet, unless its carrier is another
// link.
func (s *Scenario) Link() layers.LinkType {
	if s.carry == nil {
		return layers.LinkTypeEthernet
	}
	return s.carry().link()
}

// Incident is one incident of a scenario as its design makes it, in the terms of the end
// event of an ntpwatch alert (docs/alerts.md): the zero value of a field is what the alert
// carries when the kind has no such figure.
type Incident struct {
	Kind string // the alert's kind: "reflection", "scan", ...
	// Protocol is the alert's protocol: "dns", "udp/427"; "" for NTP, the protocol of the
	// first samples.
	Protocol                   string
	Reflector, Victim, Scanner netip.Addr
	Requests, Responses        Traffic
	Victims                    int // distinct victims (exposed_amplifier, reflection, request_flood)
	Reflectors                 int // distinct reflectors (victim_flood, spoofed_egress)
	Targets                    int // distinct addresses probed (scan)
	Amplifiers, Patched        int // scan responders that answered with data, and with err=4
}

// Traffic is a count of packets and of their UDP payload bytes.
type Traffic struct{ Packets, Bytes uint64 }

// Frame is one frame of a scenario, whole, and when it was captured: an Ethernet frame, or a
// frame of the scenario's Link.
type Frame struct {
	Time time.Time
	Data []byte
}

// All returns every scenario, in the order `ntpgen pcaps` writes them.
func All() []Scenario { return slices.Clone(scenarios) }

// Find returns the scenario called name.
func Find(name string) (*Scenario, error) {
	for _, s := range scenarios {
		if s.Name == name {
			return &s, nil
		}
	}
	names := make([]string, len(scenarios))
	for i, s := range scenarios {
		names[i] = s.Name
	}
	return nil, fmt.Errorf("unknown scenario %q (want one of %s)", name, strings.Join(names, ", "))
}

// Frames builds the scenario from seed and returns its frames in time order; frames of the
// same instant keep the order the scenario made them in. A scenario with a carrier has its
// frames wrapped in that order.
func (s *Scenario) Frames(seed uint64) []Frame {
	c := &capture{}
	s.build(c, rand.New(rand.NewPCG(seed, 0x6e7470)))
	slices.SortStableFunc(c.frames, func(a, b made) int { return a.Time.Compare(b.Time) })
	frames := make([]Frame, len(c.frames))
	var car carrier
	if s.carry != nil {
		car = s.carry()
	}
	for i, m := range c.frames {
		frames[i] = m.Frame
		if car != nil {
			frames[i].Data = car.wrap(m.Frame, m.ep)
		}
	}
	return frames
}

// capture collects a scenario's frames as it makes them, out of time order.
type capture struct {
	frames []made
	ipID   uint16
}

// made is a frame as the scenario made it, with the endpoints it went between.
type made struct {
	Frame
	ep *Endpoints
}

// udp adds one UDP datagram at time t: one frame, or the IPv4 fragments of a datagram
// larger than the link's MTU, 20 microseconds apart.
func (c *capture) udp(t time.Time, ep *Endpoints, payload []byte) {
	c.ipID++
	for i, f := range AppendUDPFragments(ep, c.ipID, payload) {
		c.frames = append(c.frames, made{Frame{Time: t.Add(time.Duration(i) * 20 * time.Microsecond), Data: f}, ep})
	}
}

// Dense returns frames with each frame k times, a microsecond apart, in time order: the same
// traffic k times as dense, between the same hosts, for the tests of sampled input (sFlow at
// 1:100 keeps a few of a small sample's packets, too few for sampling's thresholds).
func Dense(frames []Frame, k int) []Frame {
	out := make([]Frame, 0, len(frames)*k)
	for _, f := range frames {
		for i := range k {
			out = append(out, Frame{Time: f.Time.Add(time.Duration(i) * time.Microsecond), Data: f.Data})
		}
	}
	slices.SortStableFunc(out, func(a, b Frame) int { return a.Time.Compare(b.Time) })
	return out
}
