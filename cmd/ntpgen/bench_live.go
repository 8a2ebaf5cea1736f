package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
)

// The live part of `ntpgen bench`: ntpwatch live and tcpdump capture the same replay of a
// storm, played by tcpreplay into one end of a veth pair in a network namespace the benchmark
// creates and deletes, so that no other interface sees the traffic (the live tests of other
// work on the machine capture on loopback). Figures: CPU time per replayed packet, peak RSS
// (the capture ring counts in it) and, with no traffic, ntpwatch's CPU when idle.
const (
	liveRate     = 250_000 // packets/s of the replay: below both tools' limits, so neither drops
	liveSettle   = time.Second
	liveIdleTime = 5 * time.Second
	targetLiveX  = 2.0 // ntpwatch's CPU per packet over tcpdump's
	targetIdle   = 0.5 // ntpwatch live's idle CPU, percent of a core
)

// benchLiveReplay is the replay: the first million frames of the 4M-source storm, so that the
// host table fills and stays full.
var benchLiveReplay = func() *benchCapture {
	c := *benchAttacks[4]
	c.name, c.packets = "live-1m.pcap", 1_000_000
	c.about = "the first 1,000,000 frames of attack-4m.pcap, replayed for the live benchmark"
	return &c
}()

// liveRow is one capture tool on the replay.
type liveRow struct {
	tool string
	argv []string // the command, "-i IFACE" appended
	cpu  []time.Duration
	rss  []int64
	drop []string // the tool's own report of drops
}

// liveBench runs the live part, or says why it cannot.
func liveBench(w io.Writer, dir string, seed uint64, ntpwatch string, runs int) error {
	if why := liveMissing(); why != "" {
		fmt.Fprintf(w, "\nlive: skipped (%s)\n", why)
		return nil
	}
	paths, err := ensureBenchPcaps(dir, seed, []*benchCapture{benchLiveReplay}, w)
	if err != nil {
		return err
	}
	replay := paths[0]
	if err := warm(replay); err != nil {
		return err
	}
	abs, err := filepath.Abs(ntpwatch)
	if err != nil {
		return err
	}
	ns := fmt.Sprintf("ntpgen-bench-%d", os.Getpid())
	if err := vethPair(ns); err != nil {
		return err
	}
	defer exec.Command("ip", "netns", "del", ns).Run()
	rows := []*liveRow{
		{tool: "ntpwatch live", argv: []string{abs, "live"}},
		{tool: "ntpwatch live --engine afpacket", argv: []string{abs, "live", "--engine", "afpacket"}},
		{tool: "tcpdump", argv: []string{"tcpdump", "-n", "-w", "/dev/null", tcpdumpFilter}},
	}
	fmt.Fprintf(w, "\nlive: %d frames of %s replayed at %d packets/s into a veth pair in network namespace %s\n",
		benchLiveReplay.packets, filepath.Base(replay), liveRate, ns)
	for i := range runs {
		fmt.Fprintf(w, "live round %d/%d...\n", i+1, runs)
		for _, r := range rows {
			if err := r.run(ns, replay); err != nil {
				return err
			}
		}
	}
	var idle [2]float64
	for i, engine := range []string{"pcap", "afpacket"} {
		if idle[i], err = idleCPU(ns, abs, engine); err != nil {
			return err
		}
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "tool\tCPU s\tus CPU per packet\tpeak RSS MiB\tdrops (the tool's report, last run)\t")
	per := make([]float64, len(rows))
	for i, r := range rows {
		cpu := median(r.cpu)
		per[i] = cpu.Seconds() / float64(benchLiveReplay.packets) * 1e6
		fmt.Fprintf(tw, "%s\t%.2f\t%.3f\t%.0f\t%s\t\n", r.tool, cpu.Seconds(), per[i], float64(median(r.rss))/(1<<20), r.drop[len(r.drop)-1])
	}
	tw.Flush()
	fmt.Fprintf(w, "(medians of %d runs)\n", runs)
	verdict := func(ok bool) string {
		if ok {
			return "PASS"
		}
		return "FAIL"
	}
	td := per[len(per)-1]
	fmt.Fprintf(w, "%-4s  %-62s %.2f\n", verdict(per[0]/td <= targetLiveX), fmt.Sprintf("live CPU per packet, ntpwatch/tcpdump <= %.1f", targetLiveX), per[0]/td)
	fmt.Fprintf(w, "%-4s  %-62s %.2f\n", verdict(per[1]/td <= targetLiveX), fmt.Sprintf("the same with --engine afpacket <= %.1f", targetLiveX), per[1]/td)
	fmt.Fprintf(w, "%-4s  %-62s %.0f MiB\n", verdict(float64(median(rows[0].rss))/(1<<20) <= targetRSSMiB),
		fmt.Sprintf("live peak RSS (capture ring and tables) <= %d MiB", targetRSSMiB), float64(median(rows[0].rss))/(1<<20))
	fmt.Fprintf(w, "%-4s  %-62s %.2f%%\n", verdict(idle[0] < targetIdle), fmt.Sprintf("ntpwatch live idle CPU < %.1f%% of a core", targetIdle), idle[0])
	fmt.Fprintf(w, "%-4s  %-62s %.2f%%\n", verdict(idle[1] < targetIdle), "the same with --engine afpacket", idle[1])
	return nil
}

// liveMissing says why the live part cannot run here; "" when it can.
func liveMissing() string {
	if runtime.GOOS != "linux" {
		return "network namespaces are Linux's"
	}
	if os.Geteuid() != 0 {
		return "it needs root for a network namespace and capture"
	}
	for _, tool := range []string{"ip", "tcpreplay", "tcpdump"} {
		if _, err := exec.LookPath(tool); err != nil {
			return tool + " not installed"
		}
	}
	return ""
}

// vethPair creates network namespace ns holding a veth pair, nb0 (the replay's side) and nb1
// (the capture's), both up.
func vethPair(ns string) error {
	for _, args := range [][]string{
		{"netns", "add", ns},
		{"-n", ns, "link", "add", "nb0", "type", "veth", "peer", "name", "nb1"},
		{"-n", ns, "link", "set", "nb0", "up"},
		{"-n", ns, "link", "set", "nb1", "up"},
	} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			exec.Command("ip", "netns", "del", ns).Run()
			return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
		}
	}
	return nil
}

// dropRe finds the drop counts in the last lines of ntpwatch and tcpdump.
var dropRe = regexp.MustCompile(`(\d[\d,]*) (?:packets )?dropped(?: by kernel)?`)

// run captures one replay with the row's tool and records its CPU time and peak RSS.
func (r *liveRow) run(ns, replay string) error {
	var stderr bytes.Buffer
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns}, append(r.argv, "-i", "nb1")...)...)
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	time.Sleep(liveSettle) // the capture opens its socket; nothing to wait on but time
	out, err := exec.Command("ip", "netns", "exec", ns, "tcpreplay", "-q", "-i", "nb0", "--pps", strconv.Itoa(liveRate), replay).CombinedOutput()
	time.Sleep(liveSettle) // the last frames leave the ring
	cmd.Process.Signal(os.Interrupt)
	werr := cmd.Wait()
	if err != nil {
		return fmt.Errorf("tcpreplay: %v: %s", err, bytes.TrimSpace(out))
	}
	if werr != nil {
		return fmt.Errorf("%s: %v: %s", r.tool, werr, bytes.TrimSpace(stderr.Bytes()))
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return errors.New("no resource usage on this system")
	}
	r.cpu = append(r.cpu, time.Duration(ru.Utime.Nano()+ru.Stime.Nano()))
	r.rss = append(r.rss, maxrssBytes(ru.Maxrss))
	drops := strings.Join(dropRe.FindAllString(stderr.String(), -1), ", ")
	r.drop = append(r.drop, drops)
	return nil
}

// idleCPU runs ntpwatch live with engine on the quiet interface and returns its CPU, in
// percent of a core, over liveIdleTime after it settled: the sum over its threads of the
// nanoseconds they ran (/proc/PID/task/*/schedstat, finer than the ticks of /proc/PID/stat).
func idleCPU(ns, ntpwatch, engine string) (float64, error) {
	cmd := exec.Command("ip", "netns", "exec", ns, ntpwatch, "live", "-i", "nb1", "--engine", engine)
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	defer cmd.Wait()
	defer cmd.Process.Signal(os.Interrupt)
	time.Sleep(liveSettle)
	a := threadsCPU(cmd.Process.Pid)
	time.Sleep(liveIdleTime)
	b := threadsCPU(cmd.Process.Pid)
	return 100 * (b - a).Seconds() / liveIdleTime.Seconds(), nil
}

// threadsCPU sums the CPU time of the threads of pid, those still running.
func threadsCPU(pid int) time.Duration {
	files, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
	var sum time.Duration
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if ns, err := strconv.ParseInt(strings.Fields(string(b))[0], 10, 64); err == nil {
			sum += time.Duration(ns)
		}
	}
	return sum
}
