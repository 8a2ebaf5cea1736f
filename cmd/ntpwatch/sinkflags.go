package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"syscall"

	"github.com/ntpwatch/ntpwatch/internal/config"
	"github.com/ntpwatch/ntpwatch/internal/pipeline"
	"github.com/ntpwatch/ntpwatch/sinks"
)

// sinkFlags adds the output flags: where alerts go and how (docs/alerts.md).
func sinkFlags(fs *flag.FlagSet, cfg *config.Config) {
	o := &cfg.Output
	k := &o.Kafka
	fs.Var(config.List{P: &o.Sinks}, "sink", "where alerts go: `stdout|file|kafka`, several with commas (default stdout)")
	fs.StringVar(&o.Format, "format", o.Format, "alert format: `json` (ntpwatch.alert/v1, the default), eve (Suricata EVE) or ecs (Elastic Common Schema)")
	fs.StringVar(&o.File, "out", o.File, "`file` of the file sink: appended to, reopened on SIGHUP (- for stdout)")
	fs.Var(config.List{P: &k.Brokers}, "kafka-brokers", "Kafka bootstrap brokers, `host:port,...`")
	fs.StringVar(&k.Topic, "kafka-topic", k.Topic, "Kafka `topic` (default "+sinks.DefaultKafkaTopic+")")
	fs.StringVar(&k.ClientID, "kafka-client-id", k.ClientID, "Kafka client `id` (default "+sinks.DefaultKafkaClientID+")")
	fs.BoolVar(&k.TLS.Enable, "kafka-tls", k.TLS.Enable, "TLS to the brokers, verified against the system's roots")
	fs.StringVar(&k.TLS.CA, "kafka-tls-ca", k.TLS.CA, "PEM `file` of the CA of the brokers' certificates (implies --kafka-tls)")
	fs.StringVar(&k.TLS.Cert, "kafka-tls-cert", k.TLS.Cert, "PEM client certificate `file` for mutual TLS")
	fs.StringVar(&k.TLS.Key, "kafka-tls-key", k.TLS.Key, "PEM `file` of the client certificate's key")
	fs.BoolVar(&k.TLS.Insecure, "kafka-tls-insecure", k.TLS.Insecure, "TLS without verifying the brokers' certificates")
	fs.StringVar(&k.SASL.Mechanism, "kafka-sasl-mechanism", k.SASL.Mechanism, "SASL `mechanism`: plain, scram-sha-256 or scram-sha-512")
	fs.StringVar(&k.SASL.User, "kafka-sasl-user", k.SASL.User, "SASL user `name`")
	fs.StringVar(&k.SASL.Password, "kafka-sasl-password", k.SASL.Password, "SASL `password` (better: the environment variable NTPWATCH_KAFKA_PASSWORD)")
	fs.StringVar(&k.Compression, "kafka-compression", k.Compression, "`codec`: none, gzip, snappy, lz4 or zstd (default none)")
	fs.StringVar(&k.Acks, "kafka-acks", k.Acks, "acknowledgements to wait for: `all`, one or none (default all)")
	fs.StringVar(&k.Spool, "spool", k.Spool, "`file` keeping the alerts Kafka did not take; the next run delivers them first (\"\" for none)")
	fs.StringVar(&cfg.Fleet.EvidenceTopic, "evidence-topic", cfg.Fleet.EvidenceTopic, "Kafka `topic` of the fleet's evidence (docs/fleet.md): sensors publish there, aggregate reads it")
}

// outputFlagOf names the flag of each sinks.Config key, for its errors.
var outputFlagOf = map[string]string{
	"sinks": "--sink", "format": "--format", "file": "--out", "kafka.brokers": "--kafka-brokers",
	"kafka.topic": "--kafka-topic", "kafka.client_id": "--kafka-client-id", "kafka.compression": "--kafka-compression",
	"kafka.acks": "--kafka-acks", "kafka.sasl.mechanism": "--kafka-sasl-mechanism", "kafka.sasl.user": "--kafka-sasl-user",
	"kafka.sasl.password": "--kafka-sasl-password", "kafka.tls.ca": "--kafka-tls-ca", "kafka.tls.cert": "--kafka-tls-cert",
	"kafka.tls.key": "--kafka-tls-key", "kafka.spool": "--spool", "summary_json": "--summary-json", "report": "--report",
	"fleet.evidence_topic": "--evidence-topic", "fleet.group_id": "--group",
}

// openOutputs opens the sinks. A file named by a flag that cannot be used is exit status 2.
func openOutputs(ctx context.Context, cfg sinks.Config, e env) (*sinks.Output, error) {
	out, err := sinks.Open(ctx, cfg, e.out)
	if errors.Is(err, sinks.ErrSetting) {
		return nil, usageError{err}
	}
	return out, err
}

// watchHangups reopens the file sink's file on SIGHUP (log rotation) until the returned
// function is called. A reopen that fails is reported on stderr and the old file kept.
// Without a file sink it does nothing.
func watchHangups(out *sinks.Output, cfg sinks.Config, e env) (stop func()) {
	if !slices.Contains(cfg.Sinks, sinks.SinkFile) {
		return func() {}
	}
	hup := make(chan os.Signal, 1)
	done := make(chan struct{})
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		for {
			select {
			case <-hup:
				if err := out.Reopen(); err != nil {
					fmt.Fprintf(e.stderr, "ntpwatch: SIGHUP: %v (still writing to the old file)\n", err)
				}
			case <-done:
				return
			}
		}
	}()
	return func() { signal.Stop(hup); close(done) }
}

// closeOutputs drains the sinks of a run that could not start, within the time a stop allows.
func closeOutputs(ctx context.Context, out *sinks.Output, stderr io.Writer) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), pipeline.CloseTimeout)
	defer cancel()
	if rep := out.Close(ctx); rep.Failed() || rep.Spooled > 0 {
		fmt.Fprintf(stderr, "ntpwatch: %s\n", rep)
	}
}
