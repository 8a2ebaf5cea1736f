package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/ntpwatch/ntpwatch/internal/config"
	"github.com/ntpwatch/ntpwatch/internal/pipeline"
	"github.com/ntpwatch/ntpwatch/sinks"
	"github.com/ntpwatch/ntpwatch/sinks/report"
)

func aggregateFlags(fs *flag.FlagSet, cfg *config.Config) {
	fs.StringVar(&cfg.Fleet.GroupID, "group", cfg.Fleet.GroupID, "Kafka consumer group `id` of the aggregator members, who share the work")
}

func runAggregate(ctx context.Context, e env) error {
	cfg, p, err := parseConfig("aggregate", aggregateUsage, e.args, e.stderr, aggregateFlags)
	if err != nil {
		return err
	}
	switch {
	case len(p.pos) > 0 || len(p.rest) > 0:
		return usagef("unexpected argument %q; 'ntpwatch aggregate -h' for help", append(p.pos, p.rest...)[0])
	case cfg.Fleet.EvidenceTopic == "":
		return usagef("--evidence-topic TOPIC is required: the topic the sensors publish their evidence to")
	}
	out, err := openOutputs(ctx, cfg.Output, e)
	if err != nil {
		return err
	}
	consumer, err := sinks.OpenEvidenceConsumer(ctx, cfg.Fleet.Consumer(cfg.Output.Kafka))
	if err != nil {
		closeOutputs(ctx, out, e.stderr)
		return err
	}
	d := cfg.Detect
	d.Sensor, d.Source = cfg.Sensor, cfg.Fleet.EvidenceTopic
	say := sayer(cfg, e)
	say("ntpwatch aggregate: reading %s as a member of group %s\n", cfg.Fleet.EvidenceTopic, cfg.Fleet.GroupID)
	stopHangups := watchHangups(out, cfg.Output, e)
	res, err := pipeline.Aggregate(ctx, pipeline.AggregateConfig{Consumer: consumer, Fleet: cfg.Fleet.Aggregator(d), Outputs: out,
		Notice: func(s string) { fmt.Fprintf(e.stderr, "ntpwatch aggregate: %s\n", s) }})
	stopHangups()
	f := res.Fleet
	say("ntpwatch: %s and %s read, %s closed, %d late, %d replaced, %d not evidence; %s, %s; %s\n",
		report.Count(f.Records, "record"), report.Count(f.Heartbeats, "heartbeat"), report.Count(f.Windows, "window"),
		f.Late, f.Replaced, res.Undecodable, report.Count(f.Incidents, "fleet incident"), report.Count(res.Alerts, "alert"), res.Outputs)
	return err
}
