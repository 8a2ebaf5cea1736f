// Command ntpwatch finds UDP reflection and amplification attacks (NTP's monlist and its
// relatives, and every protocol of the table in decode/proto) in packet captures or on a live
// interface, and publishes them as alerts.
//
//	ntpwatch read [flags] FILE|- ...   analyse captures (pcap, pcapng, gzip, stdin)
//	ntpwatch live -i IFACE [flags]     capture on an interface until SIGINT/SIGTERM
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
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
