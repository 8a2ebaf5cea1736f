//go:build cgo

package decode

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcap"
	"github.com/ntpwatch/ntpwatch/internal/setting"
)

// pcapSource captures through libpcap. On Linux libpcap reads a TPACKET_V3 ring, puts back
// the VLAN tags the kernel moved into metadata, and drops the outgoing copy of each frame on
// the loopback interface (pcap-linux.c), so every frame is seen once.
type pcapSource struct {
	name string
	h    *pcap.Handle
	link LinkType
}

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
		// block, and so the latency of an alert on a quiet link; it is also how long the
		// reader waits before Next returns ErrTimeout.
		func() error { return in.SetTimeout(cfg.Timeout) },
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
	return []LiveSource{&pcapSource{name: cfg.Interface, h: h, link: link}}, nil
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
	data, ci, err := s.h.ZeroCopyReadPacketData()
	if err != nil {
		if errors.Is(err, pcap.NextErrorTimeoutExpired) {
			return ErrTimeout
		}
		return fmt.Errorf("capture on %s: %w", s.name, err)
	}
	*f = Frame{Data: data, Time: ci.Timestamp, WireLen: ci.Length, Link: s.link}
	return nil
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
