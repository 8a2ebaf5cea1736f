package main

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ntpwatch/ntpwatch/detect"
	"github.com/ntpwatch/ntpwatch/internal/testutil/kafkatest"
	"github.com/ntpwatch/ntpwatch/sinks"
)

// TestKafkaDevBroker runs the dev broker on an ephemeral loopback port, sends an alert
// through the kafka sink to it, as `make kafka-dev` and `--sink kafka` would, and reads it
// back from the topic the sink writes by default, which the broker must create on first use.
func TestKafkaDevBroker(t *testing.T) {
	c, err := startKafka("127.0.0.1:0", 2, "")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second) // hang guard
	defer cancel()
	o, err := sinks.Open(ctx, sinks.Config{Sinks: []string{"kafka"},
		Kafka: sinks.KafkaConfig{Brokers: c.ListenAddrs()}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	o.Send(&detect.Alert{ID: "x", Kind: detect.KindScan})
	if r := o.Close(ctx); r.Failed() || r.Delivered != 1 {
		t.Fatalf("report %+v", r)
	}
	recs := kafkatest.Consume(t, c.ListenAddrs(), sinks.DefaultKafkaTopic, 1)
	if !strings.Contains(string(recs[0].Value), `"id":"x"`) {
		t.Errorf("record %s, want the alert sent", recs[0].Value)
	}
}

func TestKafkaDevBrokerBadListen(t *testing.T) {
	for _, l := range []string{"0.0.0.0:9092", "localhost:9092", "127.0.0.1"} {
		if _, err := startKafka(l, 1, ""); !errors.Is(err, errUsage) {
			t.Errorf("%s: err = %v, want a usage error", l, err)
		}
	}
}
