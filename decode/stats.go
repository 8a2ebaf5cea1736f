package decode

// Stats counts what a Decoder saw. Every frame is counted once in Frames and once in exactly
// one of Other, NTP, Malformed and Fragments.
type Stats struct {
	Frames    uint64 // frames decoded
	WireBytes uint64 // sum of their wire lengths
	Other     uint64 // KindOther: not UDP/123, or not decoded down to UDP
	NTP       uint64 // KindNTP
	Malformed uint64 // KindMalformed: UDP/123 that is not NTP
	Fragments uint64 // KindFragment: non-first fragments attributed to a port-123 datagram

	Modes   [8]uint64 // NTP messages by mode
	Partial uint64    // NTP messages cut short by the snaplen or fragmentation

	// Problems counts frames by reason, indexed by Problem; Problems[ProblemNone] counts the
	// frames without one. Problems[ProblemOrphanFragment] are non-first UDP fragments whose
	// first fragment was not seen.
	Problems [numProblems]uint64

	FragmentsTracked  uint64 // datagrams in the fragment table now
	FragmentEvictions uint64 // datagrams pushed out of the full fragment table

	LinkTypes [256]uint64 // frames by link type (layers.LinkType, 8 bits in gopacket v1.1.19)
}

// Add adds o's counters to s, to total the Decoders of several capture goroutines.
// FragmentsTracked is summed too.
func (s *Stats) Add(o Stats) {
	s.Frames += o.Frames
	s.WireBytes += o.WireBytes
	s.Other += o.Other
	s.NTP += o.NTP
	s.Malformed += o.Malformed
	s.Fragments += o.Fragments
	for i := range s.Modes {
		s.Modes[i] += o.Modes[i]
	}
	s.Partial += o.Partial
	for i := range s.Problems {
		s.Problems[i] += o.Problems[i]
	}
	s.FragmentsTracked += o.FragmentsTracked
	s.FragmentEvictions += o.FragmentEvictions
	for i := range s.LinkTypes {
		s.LinkTypes[i] += o.LinkTypes[i]
	}
}
