//go:build cgo

package decode

import (
	"errors"
	"fmt"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcap"
)

// pcapSource captures through libpcap. On Linux libpcap reads a TPACKET_V3 ring, puts back
// the VLAN tags the kernel moved into metadata, and drops the outgoing copy of each frame on
// the loopback interface (pcap-linux.c), so every frame is seen once.
type pcapSource struct {
	name string
	h    *pcap.Handle
	link layers.LinkType
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
	if err := h.SetBPFFilter(cfg.BPF); err != nil {
		h.Close()
		return nil, fmt.Errorf("--bpf %q: %w", cfg.BPF, err)
	}
	return []LiveSource{&pcapSource{name: cfg.Interface, h: h, link: h.LinkType()}}, nil
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

// Next returns the next frame, or ErrTimeout. See LiveSource.
func (s *pcapSource) Next() ([]byte, gopacket.CaptureInfo, layers.LinkType, error) {
	data, ci, err := s.h.ZeroCopyReadPacketData()
	if err != nil {
		if errors.Is(err, pcap.NextErrorTimeoutExpired) {
			return nil, ci, 0, ErrTimeout
		}
		return nil, ci, 0, fmt.Errorf("capture on %s: %w", s.name, err)
	}
	return data, ci, s.link, nil
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
