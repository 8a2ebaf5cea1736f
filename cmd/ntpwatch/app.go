package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"

	"github.com/ntpwatch/ntpwatch/internal/buildinfo"
	"github.com/ntpwatch/ntpwatch/internal/setting"
	"github.com/ntpwatch/ntpwatch/sinks"
)

// Exit statuses (docs/exit-status.md).
const (
	exitOK      = 0
	exitFailure = 1 // a runtime failure: an alert that could not be delivered or spooled
	exitUsage   = 2 // bad usage or unreadable input
)

// usageError is a bad command line or unreadable input: exit status 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// usagef returns a usageError.
func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// env is what a command gets from the process: streams and the arguments after its name.
type env struct {
	args   []string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	// out is the one writer of stdout for the outputs of a run (alerts, the NTP log, the
	// summary JSON, the report), so that their lines never interleave.
	out *sinks.Stdout
}

// command is one ntpwatch subcommand.
type command struct {
	summary string
	run     func(ctx context.Context, e env) error
}

// commands returns the subcommands; each lives in a file of its own.
func commands() map[string]command {
	return map[string]command{
		"read":      {"analyse capture files (pcap, pcapng, gzip) or stdin", runRead},
		"live":      {"capture on a network interface until SIGINT/SIGTERM", runLive},
		"flow":      {"collect sFlow, IPFIX and NetFlow from routers until SIGINT/SIGTERM", runFlow},
		"aggregate": {"join the evidence of many sensors into fleet incidents, through Kafka", runAggregate},
		"version":   {"print the version", runVersion},
	}
}

// run is the whole program but for the process exit: it returns the exit status.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		printHelp(stderr)
		return exitUsage
	}
	name := args[0]
	switch name {
	case "help", "-h", "--help", "-help":
		// "ntpwatch help read" is "ntpwatch read -h", on stdout since it was asked for.
		if len(args) > 1 && name == "help" {
			if _, ok := commands()[args[1]]; !ok || args[1] == "version" {
				fmt.Fprintf(stderr, "ntpwatch help: no help on %q; the commands are read, live, flow and aggregate\n", args[1])
				return exitUsage
			}
			return run(ctx, []string{args[1], "-h"}, stdin, stdout, stdout)
		}
		printHelp(stdout)
		return exitOK
	case "-V", "--version", "-version":
		name = "version"
	}
	cmd, ok := commands()[name]
	if !ok {
		fmt.Fprintf(stderr, "ntpwatch: unknown command %q; 'ntpwatch help' lists the commands\n", name)
		return exitUsage
	}
	err := cmd.run(ctx, env{args: args[1:], stdin: stdin, stdout: stdout, stderr: stderr, out: sinks.NewStdout(stdout)})
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	}
	// Libraries name the settings by their keys; the user reads the flags that set them.
	fmt.Fprintf(stderr, "ntpwatch %s: %v\n", name, setting.Rename(err, flagOf()))
	var ue usageError
	if errors.As(err, &ue) {
		return exitUsage
	}
	return exitFailure
}

func printHelp(w io.Writer) {
	fmt.Fprint(w, `ntpwatch finds UDP reflection and amplification attacks (NTP's monlist abuse of
CVE-2013-5211 and its relatives, DNS, memcached, CharGEN, SSDP, CLDAP and a dozen more, and
floods from any well-known port) in packet captures, and writes one JSON alert per incident
event for a SIEM, with a summary for the analyst.

usage:
  ntpwatch read [flags] FILE|- ... [-- FILTER]   analyse captures: pcap, pcapng, gzip; - for stdin
  ntpwatch read [flags] -r FILE [FILTER]         the same, with tcpdump's command line
  ntpwatch live -i IFACE [flags] [-- FILTER]     capture on an interface until SIGINT/SIGTERM
  ntpwatch flow [--sflow ADDR] [--ipfix ADDR] [--netflow ADDR] [flags]
                                                 collect sFlow, IPFIX and NetFlow from routers
  ntpwatch read --flows [flags] FILE ...         analyse captures of sFlow, IPFIX and NetFlow
  ntpwatch aggregate --kafka-brokers B --evidence-topic T [--group ID] [flags]
                                                 join many sensors' evidence into fleet incidents
  ntpwatch version, ntpwatch -V                  print the version
  ntpwatch help [COMMAND]                        this text, or a command's flags and examples

examples:
  ntpwatch read capture.pcap > alerts.jsonl
  ntpwatch read -r capture.pcap -c 10000 host 198.51.100.10
  ntpwatch read --home-net 198.51.100.0/24 dump-*.pcap.gz
  ntpwatch read --report incident.html capture.pcapng
  tcpdump -i eth0 -w - 'udp port 123' | ntpwatch read -
  ntpwatch live -i eth1 --promisc --metrics-listen 127.0.0.1:9123
  ntpwatch flow --sflow :6343 --home-net 198.51.100.0/24

exit status:
  0  success
  1  a runtime failure: an alert that could be neither delivered nor spooled
  2  bad usage or unreadable input (a missing file, a file that is not a capture, a bad flag)
`)
}

func runVersion(ctx context.Context, e env) error {
	fmt.Fprintf(e.stdout, "ntpwatch %s\n", buildinfo.Read())
	return nil
}

// flagOf maps the keys that library errors name (setting.Error) to the flags that set them.
func flagOf() map[string]string {
	m := maps.Clone(outputFlagOf)
	maps.Copy(m, liveFlagOf)
	maps.Copy(m, readFlagOf)
	maps.Copy(m, flowFlagOf)
	return m
}
