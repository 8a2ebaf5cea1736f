//go:build !linux

package main

import "net"

// forceBuffers does nothing where SO_RCVBUFFORCE does not exist.
func forceBuffers(*net.UDPConn, int) {}
