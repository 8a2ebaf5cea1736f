//go:build !linux || !cgo

package decode

import (
	"errors"
	"net"
)

// openAFPacket fails where AF_PACKET or cgo (for libpcap's filter compiler) is missing.
func openAFPacket(LiveConfig, *net.Interface) ([]LiveSource, error) {
	return nil, errors.New("the afpacket engine needs Linux and cgo: use --engine pcap")
}
