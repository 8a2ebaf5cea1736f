package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/ntpwatch/ntpwatch/decode"
	"github.com/ntpwatch/ntpwatch/detect"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metricDesc is one metric of the live command: README "Live sensor" lists them all. No
// label ever holds an address: attackers choose addresses, and every one would be a series.
type metricDesc struct {
	name, help string
	labels     []string
	counter    bool
}

var (
	mPackets    = metricDesc{"ntpwatch_packets_total", "Frames captured and decoded.", nil, true}
	mBytes      = metricDesc{"ntpwatch_bytes_total", "Wire bytes of the frames captured.", nil, true}
	mDecoded    = metricDesc{"ntpwatch_decoded_packets_total", "Frames by what the decoder made of them: ntp, malformed (UDP/123 that is not NTP), fragment (attributed non-first fragments) or other.", []string{"kind"}, true}
	mNTP        = metricDesc{"ntpwatch_ntp_messages_total", "NTP messages by mode (1-7).", []string{"mode"}, true}
	mProblems   = metricDesc{"ntpwatch_decode_problems_total", "Frames whose decoding stopped, by reason.", []string{"reason"}, true}
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
)

// liveMetrics lists every metric, in the order of README "Live sensor".
var liveMetrics = []*metricDesc{
	&mPackets, &mBytes, &mDecoded, &mNTP, &mProblems, &mKernelRecv, &mKernelDrop, &mIfDrop,
	&mTableLen, &mTableCap, &mTableEvict, &mTableRefus, &mTableDefer, &mAlerts, &mIncidents,
	&mDelivered, &mFailures, &mSpooled, &mReplayed, &mDropped, &mSinkQueue, &mSinkCap,
	&mBatchQueue, &mBatchCap, &mLastPacket, &mWorkers,
}

// liveCollector reads the snapshots the live goroutines publish at scrape time: no metric is
// updated per packet.
type liveCollector struct {
	lv    *live
	descs map[*metricDesc]*prometheus.Desc
}

func newLiveCollector(lv *live) *liveCollector {
	c := &liveCollector{lv: lv, descs: make(map[*metricDesc]*prometheus.Desc)}
	for _, m := range liveMetrics {
		c.descs[m] = prometheus.NewDesc(m.name, m.help, m.labels, nil)
	}
	return c
}

func (c *liveCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

func (c *liveCollector) Collect(ch chan<- prometheus.Metric) {
	put := func(m *metricDesc, v float64, labels ...string) {
		t := prometheus.GaugeValue
		if m.counter {
			t = prometheus.CounterValue
		}
		ch <- prometheus.MustNewConstMetric(c.descs[m], t, v, labels...)
	}
	lv := c.lv
	ds, cs := lv.totals()
	put(&mPackets, float64(ds.Frames))
	put(&mBytes, float64(ds.WireBytes))
	for kind, n := range map[string]uint64{"ntp": ds.NTP, "malformed": ds.Malformed, "fragment": ds.Fragments, "other": ds.Other} {
		put(&mDecoded, float64(n), kind)
	}
	for mode := 1; mode < len(ds.Modes); mode++ {
		put(&mNTP, float64(ds.Modes[mode]), strconv.Itoa(mode))
	}
	for _, p := range decode.Problems() {
		put(&mProblems, float64(ds.Problems[p]), p.String())
	}
	put(&mKernelRecv, float64(cs.Received))
	put(&mKernelDrop, float64(cs.Dropped))
	put(&mIfDrop, float64(cs.IfDropped))

	lv.mu.Lock()
	es, lastPacket := lv.engine, lv.lastPacket
	lv.mu.Unlock()
	tables := append([]detect.TableStats{{
		Name: "fragments", Len: int(ds.FragmentsTracked), Cap: decode.DefaultFragmentCap * len(lv.readers),
		Evictions: ds.FragmentEvictions,
	}}, es.Tables...)
	for _, t := range tables {
		put(&mTableLen, float64(t.Len), t.Name)
		put(&mTableCap, float64(t.Cap), t.Name)
		put(&mTableEvict, float64(t.Evictions), t.Name)
		put(&mTableRefus, float64(t.Refusals), t.Name)
		put(&mTableDefer, float64(t.Deferred), t.Name)
	}
	for k, kind := range alertKinds {
		for s, state := range alertStates {
			put(&mAlerts, float64(lv.alerts[k][s].Load()), string(kind), string(state))
		}
	}
	incidents := make(map[detect.Kind]uint64)
	for _, kc := range es.Alerts {
		incidents[kc.Kind] = kc.Incidents
	}
	for _, kind := range alertKinds {
		put(&mIncidents, float64(incidents[kind]), string(kind))
	}

	for _, s := range lv.p.out.Stats().Sinks {
		put(&mDelivered, float64(s.Delivered), s.Name)
		put(&mFailures, float64(s.Failures), s.Name)
		put(&mSpooled, float64(s.Spooled), s.Name)
		put(&mReplayed, float64(s.Replayed), s.Name)
		put(&mDropped, float64(s.Dropped), s.Name)
		put(&mSinkQueue, float64(s.QueueDepth), s.Name)
		put(&mSinkCap, float64(s.QueueSize), s.Name)
	}
	put(&mBatchQueue, float64(len(lv.full)))
	put(&mBatchCap, float64(cap(lv.full)))
	last := 0.0 // no packet yet
	if !lastPacket.IsZero() {
		last = float64(lastPacket.UnixNano()) / 1e9
	}
	put(&mLastPacket, last)
	put(&mWorkers, float64(lv.running.Load()))
}

// serveMetrics serves /metrics from a private registry (the live collector plus the Go
// runtime's and the process's standard collectors) and /healthz on ln. The returned function
// shuts the server down.
func serveMetrics(ln net.Listener, lv *live) (stop func()) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		newLiveCollector(lv),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		if n, want := lv.running.Load(), len(lv.srcs); int(n) != want {
			http.Error(w, fmt.Sprintf("%d of %d capture workers running", n, want), http.StatusServiceUnavailable)
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
