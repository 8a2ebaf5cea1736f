package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os/signal"
	"syscall"

	"github.com/twmb/franz-go/pkg/kfake"
)

// runKafka runs an in-memory Kafka-protocol broker (franz-go's kfake) until SIGINT or SIGTERM,
// so the kafka sink can be tried without a cluster (`make kafka-dev`):
//
//	ntpgen kafka [-listen 127.0.0.1:9092] [-partitions 4] [-data DIR]
func runKafka(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("kafka", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:9092", "`host:port` to listen on; clients are told this address, so it must be one they reach")
	partitions := fs.Int("partitions", 4, "partitions of each topic created on first use")
	data := fs.String("data", "", "keep topics in `DIR` across restarts (default: in memory only)")
	if err := parse(fs, args); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	c, err := startKafka(*listen, *partitions, *data)
	if err != nil {
		return err
	}
	defer c.Close()
	fmt.Fprintf(stdout, "kafka: broker listening on %s, topics created on first use with %d partitions; Ctrl-C stops it\n",
		c.ListenAddrs()[0], *partitions)
	<-ctx.Done()
	return nil
}

// startKafka starts a one-broker kfake cluster on listen. kfake always listens on 127.0.0.1
// and advertises its listener's address; ListenFn substitutes ours. An unspecified host
// (0.0.0.0, ::) is refused because clients would be sent to it after the bootstrap.
func startKafka(listen string, partitions int, dataDir string) (*kfake.Cluster, error) {
	ap, err := netip.ParseAddrPort(listen)
	if err != nil || ap.Addr().IsUnspecified() || partitions < 1 {
		return nil, fmt.Errorf("%w: -listen %q -partitions %d: want an IP:port clients can reach (such as 127.0.0.1:9092) and at least one partition",
			errUsage, listen, partitions)
	}
	opts := []kfake.Opt{
		kfake.NumBrokers(1), kfake.AllowAutoTopicCreation(), kfake.DefaultNumPartitions(partitions),
		kfake.ListenFn(func(network, _ string) (net.Listener, error) { return net.Listen(network, ap.String()) }),
	}
	if dataDir != "" {
		opts = append(opts, kfake.DataDir(dataDir))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		return nil, fmt.Errorf("kafka broker on %s: %w", listen, err)
	}
	return c, nil
}
