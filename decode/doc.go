// Package decode owns capture sources (files, stdin, live interfaces) and the decoding of
// frames into Packet values: link layers, tunnels, IPv4/IPv6 (fragments included), UDP, and
// the verdict of the protocol table's classifier (decode/proto: NTP's every mode, DNS, the
// other reflection protocols and the udp/PORT fallback). It knows nothing of attacks.
//
// Threading: a Source and a Decoder each belong to one goroutine. Packet values hold no
// references into capture buffers, so they may be handed to another goroutine after Decode.
package decode
