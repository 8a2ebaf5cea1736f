//go:build cgo

package decode

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcap"
	"github.com/ntpwatch/ntpwatch/internal/setting"
)

// pcapSource captures through libpcap. On Linux libpcap reads a TPACKET_V3 ring, puts back
// the VLAN tags the kernel moved into metadata, and drops the outgoing copy of each frame on
// the loopback interface (pcap-linux.c), so every frame is seen once.
type pcapSource struct {
	name    string
	h       *pcap.Handle
	link    LinkType
	timeout time.Duration // LiveConfig.Timeout
}

// pcapWait is the longest a wait for frames stays in libpcap (gopacket's poll(2) through cgo).
// A goroutine blocked in a C call keeps a processor, which Go's runtime takes back after
// 10 ms; each time it does, its monitor thread wakes every 20 us again for a while: waiting
// 50 ms at a time, a quiet link cost 3.3% of a core in those wakeups alone (1,165
// nanosleep(2) a second, measured with strace -c). Waits shorter than 10 ms are never taken
// back and let the monitor sleep 10 ms at a time. It is also libpcap's packet buffer
// timeout: how long a frame may wait in a partly filled ring block.
const pcapWait = 5 * time.Millisecond

func openPcap(cfg LiveConfig) ([]LiveSource, error) {
	in, err := pcap.NewInactiveHandle(cfg.Interface)
	if err != nil {
		return nil, err
	}
	defer in.CleanUp()
	for _, set := range []func() error{
		func() error { return in.SetSnapLen(cfg.Snaplen) },
		func() error { return in.SetPromisc(cfg.Promisc) },
		// The packet buffer timeout bounds how long a frame waits in a partly filled ring
		// block, and how long one wait for frames lasts (pcapWait); Next waits again until
		// the source's timeout has passed.
		func() error { return in.SetTimeout(min(cfg.Timeout, pcapWait)) },
		func() error { return in.SetBufferSize(cfg.BufferSize) },
	} {
		if err := set(); err != nil {
			return nil, err
		}
	}
	h, err := in.Activate()
	if err != nil {
		return nil, pcapActivateError(err)
	}
	link := pcapLinkType(h.LinkType())
	if f := cfg.linkFilter(link); f != "" {
		if err := h.SetBPFFilter(f); err != nil {
			h.Close()
			return nil, &setting.Error{Key: "bpf", Value: strconv.Quote(f), Err: err}
		}
	}
	return []LiveSource{&pcapSource{name: cfg.Interface, h: h, link: link, timeout: cfg.Timeout}}, nil
}

// pcapActivateError names libpcap's refusal in the terms of ErrCapturePermission.
func pcapActivateError(err error) error {
	switch err.Error() {
	case "Permission Denied":
		return ErrCapturePermission
	case "No Such Device":
		return errors.New("no such network interface")
	case "Interface Not Up":
		return errors.New("interface is down")
	}
	return err
}

// pcapLinkType undoes gopacket's cut of pcap_datalink to 8 bits for the one link type above
// 255 that libpcap hands out on Linux: LINKTYPE_LINUX_SLL2 (276) arrives as 20, a number no
// link type uses.
func pcapLinkType(l layers.LinkType) LinkType {
	if l == layers.LinkType(LinkTypeLinuxSLL2&0xff) {
		return LinkTypeLinuxSLL2
	}
	return LinkType(l)
}

// Next returns the next frame, or ErrTimeout. See LiveSource.
func (s *pcapSource) Next(f *Frame) error {
	var deadline time.Time
	for {
		data, ci, err := s.h.ZeroCopyReadPacketData()
		if errors.Is(err, pcap.NextErrorTimeoutExpired) {
			// The clock is read on quiet links only, not per frame.
			now := time.Now()
			if deadline.IsZero() {
				deadline = now.Add(s.timeout - pcapWait)
			}
			if !now.Before(deadline) {
				return ErrTimeout
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("capture on %s: %w", s.name, err)
		}
		*f = Frame{Data: data, Time: ci.Timestamp, WireLen: ci.Length, Link: s.link}
		return nil
	}
}

// CaptureStats returns libpcap's counters (pcap_stats).
func (s *pcapSource) CaptureStats() (CaptureStats, error) {
	st, err := s.h.Stats()
	if err != nil {
		return CaptureStats{}, fmt.Errorf("capture on %s: statistics: %w", s.name, err)
	}
	// pcap_stat's counters are C unsigned ints that gopacket turns into ints: keep them
	// unsigned through the conversion.
	return CaptureStats{
		Received:  uint64(uint32(st.PacketsReceived)),
		Dropped:   uint64(uint32(st.PacketsDropped)),
		IfDropped: uint64(uint32(st.PacketsIfDropped)),
	}, nil
}

// Name is the interface.
func (s *pcapSource) Name() string { return s.name }

// Close releases the capture.
func (s *pcapSource) Close() error {
	s.h.Close()
	return nil
}
