// Command ntpgen writes deterministic NTP scenario captures (the samples in pcaps/ and the
// benchmark captures) and plays test traffic on the loopback interface.
//
//	ntpgen pcaps [-dir pcaps]                    write every sample capture
//	ntpgen scenario -name NAME -o FILE [...]     write one scenario (pcap, pcap-ns or pcapng; .gz)
//	ntpgen list                                  list the scenarios
//	ntpgen spread [-dir .] [-links 10] [-reflectors 90] [-minutes 1] [-shift 0]  a victim flood over links
//	ntpgen bench-pcaps [-dir build/bench]        write the big benchmark captures (once)
//	ntpgen bench [-runs 3] [-ntpwatch bin/ntpwatch]  measure ntpwatch, tcpdump and tshark on them
//	ntpgen amplifier [-listen 127.0.0.1:123]      answer monlist on loopback (live tests)
//	ntpgen sender -from 127.0.0.2 -count N ...   send monlist requests from a loopback victim
//	ntpgen exposed [-n 6000] [-rate B/S] -o FILE|-  many exposed amplifiers (docs/reliability.md)
//	ntpgen peakrss [-nofile N] -- COMMAND ...    run a command, report its peak RSS
//	ntpgen walk FILE                             count the frames on UDP port 123: the bench's limit
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
)

// command is one ntpgen subcommand.
type command struct {
	about string
	run   func(args []string, stdout io.Writer) error
}

// commands holds every subcommand; each lives in a file of its own and adds itself here.
var commands = map[string]command{
	"pcaps":       {"write every sample capture into a folder", runPcaps},
	"scenario":    {"write one scenario capture", runScenario},
	"list":        {"list the scenarios", runList},
	"spread":      {"write a victim flood spread over border links, a capture a link (the fleet)", runSpread},
	"kafka":       {"run an in-memory Kafka broker for trying the kafka sink", runKafka},
	"bench-pcaps": {"write the benchmark captures (once; cached)", runBenchPcaps},
	"bench":       {"measure ntpwatch against tcpdump and tshark on the benchmark captures", runBench},
	"amplifier":   {"answer monlist on a loopback address (live test traffic)", runAmplifier},
	"sender":      {"send monlist requests from a loopback address, the victim (live test traffic)", runSender},
	"exposed":     {"write a capture of many exposed amplifiers, paced (docs/reliability.md)", runExposed},
	"peakrss":     {"run a command and report its peak RSS (docs/reliability.md)", runPeakRSS},
	"walk":        {"count the frames of a pcap on UDP port 123, nothing else: the limit of ntpgen bench", runWalk},
}

// errUsage marks a bad command line: exit status 2.
var errUsage = errors.New("usage")

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "help" || args[0] == "--help" {
		usage(stderr)
		return 2
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "ntpgen: unknown command %q (ntpgen help lists them)\n", args[0])
		return 2
	}
	if err := cmd.run(args[1:], stdout); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(stderr, "ntpgen %s: %v\n", args[0], err)
		if errors.Is(err, errUsage) {
			return 2
		}
		return 1
	}
	return 0
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: ntpgen COMMAND [flags]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].about)
	}
}

// parse parses a subcommand's flags; a bad flag is a usage error.
func parse(fs *flag.FlagSet, args []string) error {
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(os.Stderr)
			fs.PrintDefaults()
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	return nil
}
