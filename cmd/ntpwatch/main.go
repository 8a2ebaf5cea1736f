// Command ntpwatch finds UDP reflection and amplification attacks (NTP's monlist and its
// relatives, and every protocol of the table in decode/proto) in packet captures, on a live
// interface or in the sampled flows routers export, and publishes them as alerts.
//
//	ntpwatch read [flags] FILE|- ...   analyse captures (pcap, pcapng, gzip, stdin)
//	ntpwatch read --flows FILE ...     analyse captures of sFlow, IPFIX and NetFlow datagrams
//	ntpwatch live -i IFACE [flags]     capture on an interface until SIGINT/SIGTERM
//	ntpwatch flow [flags]              collect sFlow, IPFIX and NetFlow until SIGINT/SIGTERM
//	ntpwatch aggregate [flags]         join many sensors' evidence (Kafka) into fleet incidents
//	ntpwatch version
//
// Exit status: 0 success, 1 runtime failure (an alert neither delivered nor spooled),
// 2 bad usage or unreadable input.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	limitMemory()
	// A closed stdout (`ntpwatch read ... | head -1`) must be the stdout sink's failure,
	// counted and reported, not the death of the process with the Kafka sink's alerts:
	// with SIGPIPE ignored a write to it fails with EPIPE instead.
	signal.Ignore(syscall.SIGPIPE)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
