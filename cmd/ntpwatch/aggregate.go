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

const aggregateUsage = `usage: ntpwatch aggregate --kafka-brokers HOST:PORT,... --evidence-topic TOPIC [--group ID] [flags]

Joins the evidence that sensors publish to a Kafka topic (ntpwatch read, live or flow with
--evidence-topic) into fleet incidents: a victim flooded through ten links at a tenth of the
thresholds each, a reflector answering through two. It runs as a member of a Kafka consumer
group until SIGINT or SIGTERM: members of one --group share the topic's partitions, and when
one stops or dies the others take its partitions over. Its alerts are a sensor's, with
scope "fleet" and the sensors that saw them, to the same sinks (docs/fleet.md).

examples:
  ntpwatch aggregate --kafka-brokers k1:9092 --evidence-topic ntpwatch.evidence
  ntpwatch aggregate --kafka-brokers k1:9092 --evidence-topic ntpwatch.evidence --group soc --config fleet.yaml --sink file --out fleet.jsonl

flags:
`

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
