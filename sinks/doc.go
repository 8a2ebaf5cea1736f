// Package sinks owns the outputs of ntpwatch: the formatters that turn a detect.Alert into
// bytes (the native JSON schema ntpwatch.alert/v1 and Suricata EVE alert records) and the sinks
// that carry those bytes to the world (stdout, an append-only file, Kafka). It knows nothing of
// packets.
//
// Threading: Output.Send is safe for concurrent use and never blocks; each sink runs its own
// goroutine behind a bounded queue, so a slow or failing sink never stalls the packet path nor
// the other sinks. What a sink cannot deliver is retried, spooled (Kafka) or counted as lost,
// and Close reports it.
package sinks
