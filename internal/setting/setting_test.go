package setting

import (
	"errors"
	"fmt"
	"testing"
)

func TestRename(t *testing.T) {
	names := map[string]string{"kafka.topic": "--kafka-topic", "kafka.sasl.user": "--kafka-sasl-user",
		"kafka.sasl.mechanism": "--kafka-sasl-mechanism", "workers": "--workers"}
	err := errors.Join(
		Errorf("kafka.topic", `"a b"`, "not a Kafka topic name"),
		Errorf("kafka.sasl.user", "", "needs kafka.sasl.mechanism"),
		fmt.Errorf("capture on lo: %w", Errorf("workers", "3", "the pcap engine has one")),
		errors.New("plain"),
		Errorf("unnamed", "x", "kafka.topic.suffix is not kafka.topic"),
	)
	got := Rename(transparent{err}, names)
	want := "--kafka-topic \"a b\": not a Kafka topic name\n--kafka-sasl-user: needs --kafka-sasl-mechanism\n" +
		"capture on lo: --workers 3: the pcap engine has one\nplain\nunnamed x: kafka.topic.suffix is not --kafka-topic"
	if got.Error() != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	var se *Error
	if !errors.As(got, &se) || se.Key != "kafka.topic" {
		t.Errorf("the renamed error hides its Errors: %v", se)
	}
	if Rename(nil, names) != nil {
		t.Error("Rename(nil) is not nil")
	}
}

// transparent wraps an error without adding text, as a command's usage error does.
type transparent struct{ err error }

func (t transparent) Error() string { return t.err.Error() }
func (t transparent) Unwrap() error { return t.err }
