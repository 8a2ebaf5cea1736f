package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
)

// benchTargets are the goals of `ntpgen bench` (issue 18, docs/performance.md), ratios of
// medians of interleaved runs.
const (
	targetRatio      = 1.5       // ntpwatch packets/s over tcpdump's on the mixed capture
	targetLimitRatio = 0.5       // ntpwatch packets/s over the limit loop's on the mixed capture
	targetAttackPS   = 3_000_000 // ntpwatch packets/s on every attack capture
	targetNewSource  = 0.5       // microseconds of wall time per packet when each is a new source
	targetRSSMiB     = 256       // ntpwatch peak RSS on any capture
)

// tcpdumpFilter is the filter of design.md's throughput budget: what a tcpdump-based NTP
// monitor would have to read.
const tcpdumpFilter = "udp port 123 or (vlan and udp port 123)"

// benchRow is one tool on one capture, run several times.
type benchRow struct {
	tool    string
	capture *benchCapture
	argv    []string // the command line, the capture's path included
	missing string   // why the row is skipped (a tool not installed)
	err     error

	walls []time.Duration
	rss   []int64         // peak RSS in bytes
	cpu   []time.Duration // user + system time
	size  int64           // capture file bytes
}

// newRow prepares a row: a tool that is not installed is skipped and said so in the table.
func newRow(tool string, bc *benchCapture, path string, argv ...string) *benchRow {
	r := &benchRow{tool: tool, capture: bc, argv: argv}
	if _, err := exec.LookPath(argv[0]); err != nil {
		r.missing = argv[0] + " not installed"
	}
	fi, err := os.Stat(path)
	if err != nil {
		r.err = err
		return r
	}
	r.size = fi.Size()
	return r
}

// benchResult is the median of a row's runs.
type benchResult struct {
	wall       time.Duration
	rssMiB     float64
	cpu        time.Duration // user + system time
	cores      float64       // CPU time over wall time: 2 means both cores busy throughout
	pps, mbps  float64
	packets    int
	tool, file string
}

func runBench(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	dir := fs.String("dir", "build/bench", "folder for the benchmark captures (written once, then reused)")
	seed := fs.Uint64("seed", 1, "random seed of the captures")
	runs := fs.Int("runs", 3, "runs of each tool on each capture; the table shows medians")
	ntpwatch := fs.String("ntpwatch", "bin/ntpwatch", "the ntpwatch binary to measure")
	before := fs.String("before", "", "an older ntpwatch `binary` to run beside it, interleaved (rows \"before\")")
	live := fs.Bool("live", true, "also measure ntpwatch live against tcpdump on a replay into a veth pair (root, tcpreplay)")
	only := fs.String("captures", "", "comma-separated capture `names` to measure (mixed, mixed-100k, attack-10k, ...); empty: all")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *runs < 1 {
		return fmt.Errorf("%w: -runs must be at least 1", errUsage)
	}
	if _, err := os.Stat(*ntpwatch); err != nil {
		return fmt.Errorf("%w: -ntpwatch: %v (make build writes bin/ntpwatch)", errUsage, err)
	}
	if *before != "" {
		if _, err := os.Stat(*before); err != nil {
			return fmt.Errorf("%w: -before: %v", errUsage, err)
		}
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	captures, err := selectCaptures(*only)
	if err != nil {
		return err
	}
	paths, err := ensureBenchPcaps(*dir, *seed, captures, stdout)
	if err != nil {
		return err
	}
	var rows []*benchRow
	for i, bc := range captures {
		path := paths[i]
		ntpwatchRows := func() {
			rows = append(rows, newRow("ntpwatch", bc, path, *ntpwatch, "read", path))
			if *before != "" {
				rows = append(rows, newRow("before", bc, path, *before, "read", path))
			}
		}
		switch {
		case bc == &benchSlice:
			ntpwatchRows()
			// tshark dissects every frame and prints the mode of each NTP message.
			rows = append(rows, newRow("tshark", bc, path, "tshark", "-n", "-r", path, "-Y", "ntp", "-T", "fields", "-e", "ntp.flags.mode"))
		default:
			ntpwatchRows()
			rows = append(rows, newRow("tcpdump", bc, path, "tcpdump", "-n", "-r", path, "-w", "/dev/null", tcpdumpFilter))
			if bc == &benchMixed {
				rows = append(rows, newRow("limit", bc, path, self, "walk", path))
			}
		}
	}
	for _, r := range rows {
		if r.err != nil {
			return r.err
		}
	}
	// One untimed read of each capture puts it in the page cache, so the first round does
	// not measure the disk.
	for _, p := range paths {
		if err := warm(p); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "\n%s\n", machine())
	// Runs are interleaved, one of each row per round, so that a change in the load of a
	// shared machine spreads over every tool instead of hitting one.
	for i := range *runs {
		fmt.Fprintf(stdout, "round %d/%d...\n", i+1, *runs)
		for _, r := range rows {
			if r.missing != "" {
				continue
			}
			if err := r.run(); err != nil {
				return err
			}
		}
	}
	res := make([]benchResult, len(rows))
	for i, r := range rows {
		res[i] = r.median()
	}
	fmt.Fprintln(stdout)
	printTable(stdout, rows, res)
	fmt.Fprintln(stdout)
	printTargets(stdout, res)
	if *live {
		return liveBench(stdout, *dir, *seed, *ntpwatch, *runs)
	}
	return nil
}

// run runs the row's command once, its output discarded, and records wall time, peak RSS
// and CPU time.
func (r *benchRow) run() error {
	var stderr bytes.Buffer
	cmd := exec.Command(r.argv[0], r.argv[1:]...)
	cmd.Stderr = &stderr // stdout stays nil: /dev/null
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if err != nil {
		return fmt.Errorf("%s: %v: %s", strings.Join(r.argv, " "), err, strings.TrimSpace(stderr.String()))
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return errors.New("no resource usage on this system")
	}
	r.walls = append(r.walls, wall)
	r.rss = append(r.rss, maxrssBytes(ru.Maxrss))
	r.cpu = append(r.cpu, time.Duration(ru.Utime.Nano()+ru.Stime.Nano()))
	return nil
}

// warm reads a file through once.
func warm(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(io.Discard, f)
	return err
}

// maxrssBytes converts getrusage's ru_maxrss: kilobytes on Linux, bytes on macOS.
func maxrssBytes(v int64) int64 {
	if runtime.GOOS == "darwin" {
		return v
	}
	return v * 1024
}

func median[T int64 | time.Duration](v []T) T {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

func (r *benchRow) median() benchResult {
	res := benchResult{tool: r.tool, file: r.capture.name, packets: r.capture.packets}
	if len(r.walls) == 0 {
		return res
	}
	res.wall = median(r.walls)
	res.rssMiB = float64(median(r.rss)) / (1 << 20)
	res.cpu = median(r.cpu)
	res.cores = res.cpu.Seconds() / res.wall.Seconds()
	res.pps = float64(r.capture.packets) / res.wall.Seconds()
	res.mbps = float64(r.size) / 1e6 / res.wall.Seconds()
	return res
}

func printTable(w io.Writer, rows []*benchRow, res []benchResult) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "tool\tcapture\tpackets\twall s\tpackets/s\tMB/s\tpeak RSS MiB\tCPU s\tCPU cores\t")
	for i, r := range rows {
		x := res[i]
		if r.missing != "" {
			fmt.Fprintf(tw, "%s\t%s\t%d\t-\t-\t-\t-\t-\t-\t(%s)\n", x.tool, x.file, x.packets, r.missing)
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%.2f\t%.0f\t%.0f\t%.0f\t%.2f\t%.2f\t\n",
			x.tool, x.file, x.packets, x.wall.Seconds(), x.pps, x.mbps, x.rssMiB, x.cpu.Seconds(), x.cores)
	}
	tw.Flush()
	fmt.Fprintf(w, "(medians of %d runs; wall time of the whole process, start-up included; CPU s = user+system; cores = CPU s/wall)\n", len(rows[0].walls))
}

// printTargets checks the goals. A missed goal is printed, not an error: the numbers depend
// on the machine and its load.
func printTargets(w io.Writer, res []benchResult) {
	get := func(tool, file string) *benchResult {
		for i := range res {
			if res[i].tool == tool && res[i].file == file && res[i].wall > 0 {
				return &res[i]
			}
		}
		return nil
	}
	check := func(name string, ok bool, got string) {
		verdict := "PASS"
		if !ok {
			verdict = "FAIL"
		}
		fmt.Fprintf(w, "%-4s  %-62s %s\n", verdict, name, got)
	}
	nm := get("ntpwatch", benchMixed.name)
	if tm := get("tcpdump", benchMixed.name); nm != nil && tm != nil {
		ratio := nm.pps / tm.pps
		check(fmt.Sprintf("ntpwatch/tcpdump packets/s on %s >= %.1f", benchMixed.name, targetRatio), ratio >= targetRatio, fmt.Sprintf("%.2f", ratio))
	}
	if lm := get("limit", benchMixed.name); nm != nil && lm != nil {
		ratio := nm.pps / lm.pps
		check(fmt.Sprintf("ntpwatch/limit (record walk, port test) on %s >= %.1f", benchMixed.name, targetLimitRatio), ratio >= targetLimitRatio,
			fmt.Sprintf("%.2f (the limit: %.0f packets/s)", ratio, lm.pps))
	}
	if nm != nil {
		check(fmt.Sprintf("ntpwatch peak RSS on %s <= %d MiB", nm.file, targetRSSMiB), nm.rssMiB <= targetRSSMiB, fmt.Sprintf("%.0f MiB", nm.rssMiB))
	}
	for _, bc := range benchAttacks {
		na := get("ntpwatch", bc.name)
		if na == nil {
			continue
		}
		check(fmt.Sprintf("ntpwatch packets/s on %s >= %d", bc.name, targetAttackPS), na.pps >= targetAttackPS, fmt.Sprintf("%.0f", na.pps))
		check(fmt.Sprintf("ntpwatch peak RSS on %s <= %d MiB", bc.name, targetRSSMiB), na.rssMiB <= targetRSSMiB, fmt.Sprintf("%.0f MiB", na.rssMiB))
		if bc.sources >= 4*attackRequests/5 {
			// Past the first 100,000 every request is a new source: the capture's time per
			// packet is what one more new source costs once the tables are full.
			us := na.wall.Seconds() / float64(na.packets) * 1e6
			check(fmt.Sprintf("us per packet on %s (each a new source) <= %.1f", bc.name, targetNewSource), us <= targetNewSource,
				fmt.Sprintf("%.3f (CPU %.3f)", us, na.cpu.Seconds()/float64(na.packets)*1e6))
		}
	}
	// Beside an older binary, the speed-up on each capture.
	for i := range res {
		n := &res[i]
		if b := get("before", n.file); n.tool == "ntpwatch" && n.wall > 0 && b != nil {
			fmt.Fprintf(w, "      ntpwatch/before on %-38s wall %.2f, CPU %.2f\n", n.file, b.wall.Seconds()/n.wall.Seconds(), b.cpu.Seconds()/n.cpu.Seconds())
		}
	}
}

// machine describes where the numbers come from: cores, CPU model, Go version and the load
// when the benchmark started (the machine may be shared).
func machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	load := "unknown"
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		load = strings.Join(strings.Fields(string(b))[:3], " ")
	}
	return fmt.Sprintf("machine: %d cores (%s), %s %s/%s, load average %s",
		runtime.NumCPU(), model, runtime.Version(), runtime.GOOS, runtime.GOARCH, load)
}
