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

func printHelp(w io.Writer) { fmt.Fprint(w, ntpwatchUsage) }

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
