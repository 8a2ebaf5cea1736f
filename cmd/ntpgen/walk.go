package main

import (
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

// runWalk is the limit of `ntpgen bench`: the least a program can do to find NTP in a capture.
// It walks the records of a classic little-endian microsecond pcap of Ethernet frames in 4 MiB
// reads, and tests each frame for UDP port 123 at either end (IPv4 or IPv6, with or without
// one VLAN tag), as tcpdump's filter does, then prints the count. Nothing else: no
// timestamps, no decoding beyond the ports, no analysis. What ntpwatch does on top of it is
// its cost; the ratio of the two says how close to the machine ntpwatch is.
func runWalk(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("walk", flag.ContinueOnError)
	if err := parse(fs, nil); err != nil {
		return err
	}
	if len(args) != 1 {
		return fmt.Errorf("%w: want one capture file", errUsage)
	}
	f, err := os.Open(args[0])
	if err != nil {
		return err
	}
	defer f.Close()
	frames, ntp, err := walkRecords(f)
	if err != nil {
		return fmt.Errorf("%s: %w", args[0], err)
	}
	fmt.Fprintf(stdout, "%d frames, %d on UDP port 123\n", frames, ntp)
	return nil
}

// walkRecords counts the records of the pcap in r and those on UDP port 123.
func walkRecords(r io.Reader) (frames, ntp int, err error) {
	buf := make([]byte, 4<<20)
	if _, err := io.ReadFull(r, buf[:24]); err != nil {
		return 0, 0, fmt.Errorf("file header: %w", err)
	}
	if binary.LittleEndian.Uint32(buf) != 0xa1b2c3d4 || binary.LittleEndian.Uint32(buf[20:]) != 1 {
		return 0, 0, errors.New("not a little-endian microsecond pcap of Ethernet frames")
	}
	have, at := 0, 0 // bytes in buf, and where the next record starts
	for {
		if have-at < 16 || have-at < 16+int(binary.LittleEndian.Uint32(buf[at+8:])) {
			// Move the partial record to the front and fill the rest of the buffer.
			have = copy(buf, buf[at:have])
			at = 0
			m, err := io.ReadAtLeast(r, buf[have:], 1)
			have += m
			if err == io.EOF {
				if have == 0 {
					return frames, ntp, nil
				}
				return frames, ntp, io.ErrUnexpectedEOF
			}
			if err != nil {
				return frames, ntp, err
			}
			continue
		}
		incl := int(binary.LittleEndian.Uint32(buf[at+8:]))
		if incl > len(buf)-16 {
			return frames, ntp, fmt.Errorf("record of %d bytes", incl)
		}
		frames++
		if isNTPFrame(buf[at+16 : at+16+incl]) {
			ntp++
		}
		at += 16 + incl
	}
}

// isNTPFrame reports whether an Ethernet frame is a UDP datagram from or to port 123.
func isNTPFrame(b []byte) bool {
	if len(b) < 14 {
		return false
	}
	et, off := binary.BigEndian.Uint16(b[12:]), 14
	if et == 0x8100 && len(b) >= 18 {
		et, off = binary.BigEndian.Uint16(b[16:]), 18
	}
	var l4 []byte
	switch et {
	case 0x0800:
		ihl := int(b[off]&0xf) * 4
		if len(b) < off+20 || b[off+9] != 17 || len(b) < off+ihl {
			return false
		}
		l4 = b[off+ihl:]
	case 0x86dd:
		if len(b) < off+40 || b[off+6] != 17 {
			return false
		}
		l4 = b[off+40:]
	default:
		return false
	}
	return len(l4) >= 4 && (binary.BigEndian.Uint16(l4) == 123 || binary.BigEndian.Uint16(l4[2:]) == 123)
}
