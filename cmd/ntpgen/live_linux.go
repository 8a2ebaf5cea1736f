package main

import (
	"net"
	"syscall"
)

// forceBuffers sets the socket buffers of c to n bytes beyond net.core.rmem_max and wmem_max
// where the process may (CAP_NET_ADMIN, SO_RCVBUFFORCE in socket(7)), so that a burst of
// requests waits for the amplifier instead of being dropped and the replies it sends match
// the requests exactly. Elsewhere the caps of SetReadBuffer stay.
func forceBuffers(c *net.UDPConn, n int) {
	raw, err := c.SyscallConn()
	if err != nil {
		return
	}
	raw.Control(func(fd uintptr) {
		syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUFFORCE, n)
		syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_SNDBUFFORCE, n)
	})
}
