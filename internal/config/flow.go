package config

import (
	"errors"
	"fmt"
	"net"
	"strconv"

	"github.com/ntpwatch/ntpwatch/decode/flow"
)

// Flow is the `flow:` section of the configuration: the collector of `ntpwatch flow`, and the
// ports `ntpwatch read --flows` takes for each protocol. It becomes a flow.Config and the
// addresses listened on; decode/flow knows nothing of YAML or flags.
type Flow struct {
	// SFlow, IPFIX and NetFlow are the UDP addresses (host:port) each protocol is received
	// on (--sflow, --ipfix, --netflow). With none of them set, all three are received on
	// their default ports; with some set, only those.
	SFlow   string `yaml:"sflow"`
	IPFIX   string `yaml:"ipfix"`
	NetFlow string `yaml:"netflow"`
	// DefaultSamplingRate weighs the samples and records of exporters that state no rate
	// (--default-sampling-rate); 1 counts them as every packet.
	DefaultSamplingRate uint32 `yaml:"default_sampling_rate"`
	// MaxExporters caps the exporters accounted apart in the metrics and the summary.
	MaxExporters int `yaml:"max_exporters"`
	// Exporters name exporters by address and may force their sampling rates.
	Exporters []flow.ExporterConfig `yaml:"exporters"`
	// MetricsListen serves Prometheus metrics (--metrics-listen), as live's.
	MetricsListen string `yaml:"metrics_listen"`
}

// DefaultFlow is the flow section given no file and no flags.
func DefaultFlow() Flow {
	return Flow{DefaultSamplingRate: 1, MaxExporters: flow.DefaultMaxExporters}
}

// Collector is the flow.Config of o.
func (o *Flow) Collector() flow.Config {
	return flow.Config{Exporters: o.Exporters, DefaultRate: o.DefaultSamplingRate, MaxExporters: o.MaxExporters}
}

// Listeners are the protocols received and their addresses, in flow.Protocols order: the
// ones set, or all three on their default ports when none is.
func (o *Flow) Listeners() []Listener {
	var ls []Listener
	for _, p := range flow.Protocols() {
		if a := *o.addr(p); a != "" {
			ls = append(ls, Listener{p, a})
		}
	}
	if len(ls) > 0 {
		return ls
	}
	for _, p := range flow.Protocols() {
		ls = append(ls, Listener{p, ":" + strconv.Itoa(int(flow.DefaultPort(p)))})
	}
	return ls
}

// Listener is a protocol received on an address.
type Listener struct {
	Protocol flow.Protocol
	Addr     string
}

// Ports says which protocol the datagrams of a capture are, by destination port: the ports
// of Listeners.
func (o *Flow) Ports() flow.Ports {
	ports := flow.Ports{}
	for _, l := range o.Listeners() {
		if _, port, err := net.SplitHostPort(l.Addr); err == nil {
			if n, err := strconv.ParseUint(port, 10, 16); err == nil {
				ports[uint16(n)] = l.Protocol
			}
		}
	}
	return ports
}

func (o *Flow) addr(p flow.Protocol) *string {
	return [...]*string{flow.SFlow: &o.SFlow, flow.NetFlow: &o.NetFlow, flow.IPFIX: &o.IPFIX}[p]
}

// Validate reports every problem of the section at once, each naming its key under flow.
func (o *Flow) Validate() error {
	var errs []error
	seen := map[string]flow.Protocol{}
	for _, l := range o.Listeners() {
		key := "flow." + l.Protocol.String()
		_, port, err := net.SplitHostPort(l.Addr)
		if err == nil {
			_, err = strconv.ParseUint(port, 10, 16)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %q is not a host:port UDP address (':6343', '127.0.0.1:6343')", key, l.Addr))
			continue
		}
		if other, ok := seen[port]; ok && port != "0" {
			errs = append(errs, fmt.Errorf("%s: port %s is flow.%s's too", key, port, other))
		}
		seen[port] = l.Protocol
	}
	if o.DefaultSamplingRate == 0 {
		errs = append(errs, errors.New("flow.default_sampling_rate: must be at least 1"))
	}
	c := o.Collector()
	errs = append(errs, c.Validate())
	return errors.Join(errs...)
}
