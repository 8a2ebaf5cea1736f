package config

import (
	"runtime"

	"github.com/ntpwatch/ntpwatch/decode"
)

// Live is the `live:` section of the configuration: the capture of `ntpwatch live`.
// It becomes a decode.LiveConfig; the decode package knows nothing of YAML or flags.
type Live struct {
	Interface     string `yaml:"interface"`      // -i
	Engine        string `yaml:"engine"`         // --engine: pcap or afpacket
	BPF           string `yaml:"bpf"`            // --bpf; empty for decode's default filter of the interface's link type
	Snaplen       int    `yaml:"snaplen"`        // --snaplen
	Promisc       bool   `yaml:"promisc"`        // --promisc
	Workers       int    `yaml:"workers"`        // --workers (afpacket); 0: one per core but one, at least 2
	BufferMiB     int    `yaml:"buffer_mb"`      // --buffer-mb: the kernel ring, shared by the workers
	MetricsListen string `yaml:"metrics_listen"` // --metrics-listen
}

// DefaultLive is the live section given no file and no flags.
func DefaultLive() Live {
	return Live{Engine: decode.EnginePcap, Snaplen: decode.DefaultSnaplen,
		BufferMiB: decode.DefaultBufferSize >> 20}
}

// Capture is the decode.LiveConfig of o, with the worker default filled in.
func (o *Live) Capture() decode.LiveConfig {
	c := decode.LiveConfig{Interface: o.Interface, Engine: o.Engine, BPF: o.BPF, Snaplen: o.Snaplen,
		Promisc: o.Promisc, Workers: o.Workers, BufferSize: o.BufferMiB << 20}
	if c.Workers == 0 {
		c.Workers = 1
		if c.Engine == decode.EngineAFPacket {
			c.Workers = min(8, max(2, runtime.NumCPU()-1))
		}
	}
	return c
}
