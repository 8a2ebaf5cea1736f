package pipeline

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/ntpwatch/ntpwatch/detect"
	"github.com/ntpwatch/ntpwatch/detect/fleet"
	"github.com/ntpwatch/ntpwatch/sinks"
)

// AggregateConfig is what a run of an aggregator member is made of: `ntpwatch aggregate`.
type AggregateConfig struct {
	// Consumer reads the evidence topic as a member of the aggregators' consumer group.
	Consumer *sinks.EvidenceConsumer
	// Fleet configures the aggregator; its Notice is set by Aggregate to Notice.
	Fleet fleet.Config
	// Outputs receive the fleet alerts; Aggregate closes them.
	Outputs *sinks.Output
	// Notice receives the aggregator's notices (a sensor silent, records refused); nil
	// drops them.
	Notice func(string)
}

// AggregateResult is the account of a finished aggregator run.
type AggregateResult struct {
	Fleet       fleet.Stats
	Undecodable uint64 // records of the topic that are no evidence
	Alerts      uint64
	Outputs     sinks.Report
}

// Aggregate runs an aggregator member until ctx ends: the consumer hands the evidence of the
// partitions this member owns to a fleet.Aggregator, whose alerts go to the outputs; the
// progress is committed once the alerts before it are out (sinks.Output.Settle), so that a
// member that dies loses none. At the end it leaves the group without ending the open
// incidents, which the member taking its partitions over goes on with, and drains the
// outputs within CloseTimeout.
func Aggregate(ctx context.Context, cfg AggregateConfig) (AggregateResult, error) {
	h := &aggregation{out: cfg.Outputs, notice: cfg.Notice, pending: map[int]fleet.Commit{}}
	cfg.Fleet.Notice = h.say
	h.agg = fleet.New(cfg.Fleet, h.emit)
	err := cfg.Consumer.Run(ctx, h)

	closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), CloseTimeout)
	defer cancel()
	var res AggregateResult
	h.mu.Lock()
	res.Fleet, res.Undecodable, res.Alerts = h.agg.Stats(), h.undecodable, h.alerts
	h.mu.Unlock()
	res.Outputs = cfg.Outputs.Close(closeCtx)
	if res.Outputs.Failed() {
		err = errors.Join(err, errors.New(res.Outputs.String()))
	}
	return res, err
}

// aggregation is the consumer's handler: the aggregator and the commits waiting for the
// alerts before them to be out.
type aggregation struct {
	agg     *fleet.Aggregator
	out     *sinks.Output
	notice  func(string)
	pending map[int]fleet.Commit

	mu          sync.Mutex // guards what Stats reads from another goroutine
	undecodable uint64
	alerts      uint64
}

func (h *aggregation) emit(a *detect.Alert) {
	h.alerts++
	h.out.Send(a)
}

func (h *aggregation) say(s string) {
	if h.notice != nil {
		h.notice(s)
	}
}

func (h *aggregation) Assigned(p int, metadata string) { h.agg.Assign(p, metadata) }

func (h *aggregation) Revoked(p int) {
	h.agg.Revoke(p)
	delete(h.pending, p)
}

func (h *aggregation) Evidence(p int, off int64, ev *detect.Evidence) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.agg.Add(p, off, ev, time.Now())
}

// Undecodable says the first record of the topic that is no evidence, and counts them all.
func (h *aggregation) Undecodable(p int, off int64, err error) {
	h.mu.Lock()
	h.undecodable++
	first := h.undecodable == 1
	h.mu.Unlock()
	if first {
		h.say(fmt.Sprintf("partition %d offset %d: not evidence, skipped (and so are the next ones, counted): %v", p, off, err))
	}
}

// settleWait bounds how long a commit waits for the alerts before it to be out; a commit that
// cannot wait goes at the next tick.
const settleWait = time.Second

func (h *aggregation) Tick(now time.Time) []sinks.EvidenceCommit {
	h.mu.Lock()
	h.agg.Tick(now)
	for _, c := range h.agg.Commits() {
		h.pending[c.Partition] = c
	}
	h.mu.Unlock()
	if len(h.pending) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), settleWait)
	defer cancel()
	if !h.out.Settle(ctx) {
		return nil
	}
	var cs []sinks.EvidenceCommit
	for _, p := range slices.Sorted(maps.Keys(h.pending)) {
		c := h.pending[p]
		cs = append(cs, sinks.EvidenceCommit{Partition: c.Partition, Offset: c.Offset, Metadata: c.Metadata})
	}
	clear(h.pending)
	return cs
}
