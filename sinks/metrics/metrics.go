// Package metrics serves a run's counters to Prometheus: a collector that reads the snapshot
// the pipeline publishes (nothing is updated per packet), on a private registry with the Go
// runtime's and the process's collectors, at /metrics, with /healthz beside it.
//
// Threading: the collector runs on the HTTP server's goroutines and only calls the snapshot
// function, which must be safe for concurrent use.
package metrics

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/ntpwatch/ntpwatch/decode"
	"github.com/ntpwatch/ntpwatch/decode/flow"
	"github.com/ntpwatch/ntpwatch/decode/proto"
	"github.com/ntpwatch/ntpwatch/detect"
	"github.com/ntpwatch/ntpwatch/internal/buildinfo"
	"github.com/ntpwatch/ntpwatch/internal/pipeline"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metricDesc is one metric: docs/live.md lists them all. No label ever holds an address:
// attackers choose addresses, and every one would be a series.
type metricDesc struct {
	name, help string
	labels     []string
	counter    bool
}

var (
	mPackets    = metricDesc{"ntpwatch_packets_total", "Frames captured and decoded.", nil, true}
	mBytes      = metricDesc{"ntpwatch_bytes_total", "Wire bytes of the frames captured.", nil, true}
	mDecoded    = metricDesc{"ntpwatch_decoded_packets_total", "Frames by what the decoder made of them: message (of a protocol of the table), malformed (on a protocol's port but not its message), fragment (attributed non-first fragments) or other.", []string{"kind"}, true}
	mMessages   = metricDesc{"ntpwatch_protocol_messages_total", "Messages by protocol and by what they are: request or response of a vector, or other (no part in amplification).", []string{"protocol", "direction", "vector"}, true}
	mNTP        = metricDesc{"ntpwatch_ntp_messages_total", "NTP messages by mode (1-7).", []string{"mode"}, true}
	mProblems   = metricDesc{"ntpwatch_decode_problems_total", "Frames whose decoding stopped, by reason.", []string{"reason"}, true}
	mEncaps     = metricDesc{"ntpwatch_encapsulated_packets_total", "Frames by the VLAN tags, tunnels and mirror encapsulations they went through, each counted once per frame.", []string{"encapsulation"}, true}
	mKernelRecv = metricDesc{"ntpwatch_kernel_received_packets_total", "Frames the capture filter passed, as the kernel counts them (dropped ones included).", nil, true}
	mKernelDrop = metricDesc{"ntpwatch_kernel_dropped_packets_total", "Frames the kernel dropped because the capture ring was full.", nil, true}
	mIfDrop     = metricDesc{"ntpwatch_interface_dropped_packets_total", "Frames the interface or its driver dropped (pcap engine only).", nil, true}
	mTableLen   = metricDesc{"ntpwatch_table_entries", "Entries in each capped table now.", []string{"table"}, false}
	mTableCap   = metricDesc{"ntpwatch_table_capacity_entries", "The cap of each table.", []string{"table"}, false}
	mTableEvict = metricDesc{"ntpwatch_table_evictions_total", "Entries dropped from a full table to make room.", []string{"table"}, true}
	mTableRefus = metricDesc{"ntpwatch_table_refusals_total", "Entries not created because nothing could be evicted.", []string{"table"}, true}
	mTableDefer = metricDesc{"ntpwatch_table_deferred_total", "First packets of new hosts turned away by the full host table's doorkeeper.", []string{"table"}, true}
	mAlerts     = metricDesc{"ntpwatch_alerts_total", "Alert events emitted, by kind and state (start, update, end).", []string{"kind", "state"}, true}
	mIncidents  = metricDesc{"ntpwatch_incidents_total", "Incidents started, by kind.", []string{"kind"}, true}
	mDelivered  = metricDesc{"ntpwatch_sink_delivered_alerts_total", "Alerts of this run a sink delivered.", []string{"sink"}, true}
	mFailures   = metricDesc{"ntpwatch_sink_failures_total", "Failed write attempts of a sink, retried or not.", []string{"sink"}, true}
	mSpooled    = metricDesc{"ntpwatch_sink_spooled_alerts", "Alerts of this run waiting in a sink's spool file now.", []string{"sink"}, false}
	mReplayed   = metricDesc{"ntpwatch_sink_replayed_alerts_total", "Alerts of earlier runs delivered from the spool.", []string{"sink"}, true}
	mDropped    = metricDesc{"ntpwatch_sink_dropped_alerts_total", "Alerts a sink refused because its queue was full.", []string{"sink"}, true}
	mSinkQueue  = metricDesc{"ntpwatch_sink_queue_alerts", "Alerts waiting in a sink's queue now.", []string{"sink"}, false}
	mSinkCap    = metricDesc{"ntpwatch_sink_queue_capacity_alerts", "The capacity of a sink's queue.", []string{"sink"}, false}
	mBatchQueue = metricDesc{"ntpwatch_analysis_queue_batches", "Batches of decoded packets waiting for the detection engine now.", nil, false}
	mBatchCap   = metricDesc{"ntpwatch_analysis_queue_capacity_batches", "The capacity of the queue in front of the detection engine.", nil, false}
	mLastPacket = metricDesc{"ntpwatch_last_packet_timestamp_seconds", "Packet time of the latest packet the engine saw (Unix seconds); against the wall clock it shows how far analysis lags.", nil, false}
	mWorkers    = metricDesc{"ntpwatch_capture_workers", "Capture goroutines still running; fewer than started means a source failed.", nil, false}
	mBuildInfo  = metricDesc{"ntpwatch_build_info", "Always 1: the version, commit and Go version of the running ntpwatch, in its labels.", []string{"version", "revision", "goversion"}, false}
)

// The metrics of a sampled-flow run (ntpwatch flow, docs/flows.md), served only there. An
// exporter is labelled by its configured name or "exporter-N" (the order it was first heard
// from), never its address, and the exporters past flow.max_exporters share "other".
var (
	mFlowDatagrams = metricDesc{"ntpwatch_flow_datagrams_total", "Export datagrams decoded, by exporter.", []string{"exporter", "protocol"}, true}
	mFlowSamples   = metricDesc{"ntpwatch_flow_samples_total", "Sampled packet headers (sFlow flow samples, IPFIX packet samples), by exporter.", []string{"exporter", "protocol"}, true}
	mFlowRecords   = metricDesc{"ntpwatch_flow_records_total", "Flow records (NetFlow v9, IPFIX), by exporter.", []string{"exporter", "protocol"}, true}
	mFlowLost      = metricDesc{"ntpwatch_flow_lost_total", "What the sequence numbers say never arrived: datagrams (sFlow, NetFlow v9) or flow records (IPFIX), by exporter.", []string{"exporter", "protocol"}, true}
	mFlowDrops     = metricDesc{"ntpwatch_flow_agent_drops_total", "Samples the agent dropped for want of resources (sFlow's drops), by exporter.", []string{"exporter", "protocol"}, true}
	mFlowUnread    = metricDesc{"ntpwatch_flow_unread_total", "Samples of a header protocol not read and data sets without their template, by exporter.", []string{"exporter", "protocol"}, true}
	mFlowRate      = metricDesc{"ntpwatch_flow_sampling_rate", "The latest sampling rate of the exporter's samples and records, 1 in this.", []string{"exporter", "protocol"}, false}
	mFlowInvalid   = metricDesc{"ntpwatch_flow_invalid_datagrams_total", "Datagrams received on a collector's port that are none of its protocol's.", []string{"protocol"}, true}
)

// flowMetrics lists the metrics of a sampled-flow run, in the order of docs/flows.md.
var flowMetrics = []*metricDesc{&mFlowDatagrams, &mFlowSamples, &mFlowRecords, &mFlowLost, &mFlowDrops, &mFlowUnread,
	&mFlowRate, &mFlowInvalid}

// FlowNames lists the metric names served in a sampled-flow run besides Names.
func FlowNames() []string {
	names := make([]string, len(flowMetrics))
	for i, m := range flowMetrics {
		names[i] = m.name
	}
	return names
}

// all lists every metric, in the order of docs/live.md.
var all = []*metricDesc{
	&mPackets, &mBytes, &mDecoded, &mMessages, &mNTP, &mProblems, &mEncaps, &mKernelRecv, &mKernelDrop,
	&mIfDrop,
	&mTableLen, &mTableCap, &mTableEvict, &mTableRefus, &mTableDefer, &mAlerts, &mIncidents,
	&mDelivered, &mFailures, &mSpooled, &mReplayed, &mDropped, &mSinkQueue, &mSinkCap,
	&mBatchQueue, &mBatchCap, &mLastPacket, &mWorkers, &mBuildInfo,
}

// Names lists every metric name of the collector, in the documented order.
func Names() []string {
	names := make([]string, len(all))
	for i, m := range all {
		names[i] = m.name
	}
	return names
}

// collector reads a snapshot at scrape time.
type collector struct {
	snap  func() pipeline.Snapshot
	table *proto.Table
	build buildinfo.Info
	descs map[*metricDesc]*prometheus.Desc
}

// NewCollector returns the collector of the run whose snapshot snap takes, with the protocol
// names of table (proto.Default when nil).
func NewCollector(snap func() pipeline.Snapshot, table *proto.Table) prometheus.Collector {
	if table == nil {
		table = proto.Default
	}
	c := &collector{snap: snap, table: table, build: buildinfo.Read(), descs: make(map[*metricDesc]*prometheus.Desc)}
	for _, m := range append(all[:len(all):len(all)], flowMetrics...) {
		c.descs[m] = prometheus.NewDesc(m.name, m.help, m.labels, nil)
	}
	return c
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, m := range c.descs {
		ch <- m
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	put := func(m *metricDesc, v float64, labels ...string) {
		t := prometheus.GaugeValue
		if m.counter {
			t = prometheus.CounterValue
		}
		ch <- prometheus.MustNewConstMetric(c.descs[m], t, v, labels...)
	}
	s := c.snap()
	ds, cs := &s.Decode, &s.Capture
	put(&mPackets, float64(ds.Frames))
	put(&mBytes, float64(ds.WireBytes))
	for _, k := range []struct {
		name string
		n    uint64
	}{{"message", ds.Messages}, {"malformed", ds.Malformed}, {"fragment", ds.Fragments}, {"other", ds.Other}} {
		put(&mDecoded, float64(k.n), k.name)
	}
	for _, p := range c.table.Protocols() {
		ps := &ds.Protocols[p.ID]
		amplifying := uint64(0)
		for v, vec := range p.Vectors {
			put(&mMessages, float64(ps.Requests[v]), p.Name, "request", vec.Name)
			put(&mMessages, float64(ps.Responses[v]), p.Name, "response", vec.Name)
			amplifying += ps.Requests[v] + ps.Responses[v]
		}
		if s.Flows != nil {
			// Flow records, which carry no payload, tell no vector.
			u := proto.VectorUnknown
			put(&mMessages, float64(ps.Requests[u]), p.Name, "request", proto.VectorUnknownName)
			put(&mMessages, float64(ps.Responses[u]), p.Name, "response", proto.VectorUnknownName)
			amplifying += ps.Requests[u] + ps.Responses[u]
		}
		put(&mMessages, float64(ps.Messages-amplifying), p.Name, "other", "")
	}
	for mode := 1; mode < len(ds.NTPModes); mode++ {
		put(&mNTP, float64(ds.NTPModes[mode]), strconv.Itoa(mode))
	}
	for _, p := range decode.Problems() {
		put(&mProblems, float64(ds.Problems[p]), p.String())
	}
	for _, k := range decode.EncapKinds() {
		put(&mEncaps, float64(ds.Encaps[k]), k.String())
	}
	put(&mKernelRecv, float64(cs.Received))
	put(&mKernelDrop, float64(cs.Dropped))
	put(&mIfDrop, float64(cs.IfDropped))

	tables := append([]detect.TableStats{{
		Name: "fragments", Len: int(ds.FragmentsTracked), Cap: s.FragmentCap, Evictions: ds.FragmentEvictions,
	}}, s.Engine.Tables[:]...)
	for _, t := range tables {
		put(&mTableLen, float64(t.Len), t.Name)
		put(&mTableCap, float64(t.Cap), t.Name)
		put(&mTableEvict, float64(t.Evictions), t.Name)
		put(&mTableRefus, float64(t.Refusals), t.Name)
		put(&mTableDefer, float64(t.Deferred), t.Name)
	}
	states := []detect.State{detect.StateStart, detect.StateUpdate, detect.StateEnd}
	for k, kind := range detect.Kinds() {
		for st, state := range states {
			put(&mAlerts, float64(s.Alerts[k][st]), string(kind), string(state))
		}
		put(&mIncidents, float64(s.Engine.Kinds[k].Incidents), string(kind))
	}
	for _, o := range s.Outputs.Sinks {
		put(&mDelivered, float64(o.Delivered), o.Name)
		put(&mFailures, float64(o.Failures), o.Name)
		put(&mSpooled, float64(o.Spooled), o.Name)
		put(&mReplayed, float64(o.Replayed), o.Name)
		put(&mDropped, float64(o.Dropped), o.Name)
		put(&mSinkQueue, float64(o.QueueDepth), o.Name)
		put(&mSinkCap, float64(o.QueueSize), o.Name)
	}
	put(&mBatchQueue, float64(s.Queue))
	put(&mBatchCap, float64(s.QueueCap))
	last := 0.0 // no packet yet
	if !s.LastPacket.IsZero() {
		last = float64(s.LastPacket.UnixNano()) / 1e9
	}
	put(&mLastPacket, last)
	put(&mWorkers, float64(s.Running))
	put(&mBuildInfo, 1, c.build.Short(), c.build.Revision, c.build.GoVersion)
	if f := s.Flows; f != nil {
		for _, e := range f.Exporters {
			p := e.Protocol.String()
			put(&mFlowDatagrams, float64(e.Datagrams), e.Name, p)
			put(&mFlowSamples, float64(e.Samples), e.Name, p)
			put(&mFlowRecords, float64(e.Records), e.Name, p)
			put(&mFlowLost, float64(e.Lost), e.Name, p)
			put(&mFlowDrops, float64(e.Drops), e.Name, p)
			put(&mFlowUnread, float64(e.Unread), e.Name, p)
			put(&mFlowRate, float64(e.Rate), e.Name, p)
		}
		for _, p := range flow.Protocols() {
			put(&mFlowInvalid, float64(f.Invalid[p]), p.String())
		}
	}
}

// Registry is the private registry /metrics serves: the run's collector, the Go runtime's and
// the process's.
func Registry(snap func() pipeline.Snapshot, table *proto.Table) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		NewCollector(snap, table),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return reg
}

// Serve serves /metrics from a private registry (the run's collector, the Go runtime's and the
// process's) and /healthz on ln: healthy while every source is still being read. The returned
// function shuts the server down.
func Serve(ln net.Listener, snap func() pipeline.Snapshot, table *proto.Table) (stop func()) {
	reg := Registry(snap, table)
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		s := snap()
		if s.Running != s.Readers {
			http.Error(w, fmt.Sprintf("%d of %d capture workers running", s.Running, s.Readers), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		// Serve returns http.ErrServerClosed after Shutdown; another error means the
		// listener failed, and there is then nothing left to serve.
		srv.Serve(ln)
	}()
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		<-done
	}
}
