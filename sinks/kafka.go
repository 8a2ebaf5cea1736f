package sinks

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/segmentio/kafka-go"
)

// compressionCodec maps --kafka-compression to kafka-go's codec; 0 is none.
func compressionCodec(name string) (kafka.Compression, error) {
	switch strings.ToLower(name) {
	case "", "none":
		return 0, nil
	case "gzip":
		return kafka.Gzip, nil
	case "snappy":
		return kafka.Snappy, nil
	case "lz4":
		return kafka.Lz4, nil
	case "zstd":
		return kafka.Zstd, nil
	}
	return 0, fmt.Errorf("unknown compression %q (want none, gzip, snappy, lz4 or zstd)", name)
}

// requiredAcks maps --kafka-acks to kafka-go's setting. The default is all: kafka-go's own
// zero value, RequireNone, would report success for alerts no broker stored.
func requiredAcks(name string) (kafka.RequiredAcks, error) {
	switch strings.ToLower(name) {
	case "", "all", "-1":
		return kafka.RequireAll, nil
	case "one", "1":
		return kafka.RequireOne, nil
	case "none", "0":
		return kafka.RequireNone, nil
	}
	return 0, fmt.Errorf("unknown acks %q (want all, one or none)", name)
}

func openKafka(ctx context.Context, k KafkaConfig) (destination, error) {
	return nil, errors.New("--sink kafka: not implemented yet")
}
