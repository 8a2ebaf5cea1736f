package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ntpwatch/ntpwatch/decode"
	"github.com/ntpwatch/ntpwatch/sinks/metrics"
)

// The live tests play a monlist attack on the loopback interface: `ntpgen amplifier` answers
// on port 123 of a loopback address chosen at random for the test, `ntpgen sender` plays the
// victim from another, and `ntpwatch live -i lo`, its capture filter narrowed to the
// amplifier's address, must report both with exact counts. Random addresses in 127.0.0.0/8
// keep the tests apart from each other and from other processes on the machine, whatever
// they bind or send. They need root (capture, and port 123); CI sets NTPWATCH_REQUIRE_LIVE=1
// so that they fail there instead of skipping.

// hangGuard bounds every wait of these tests. It is not a timing assertion: a healthy run
// takes a fraction of it, and only a hang reaches it.
const hangGuard = 30 * time.Second

// attack is the moderate attack of the in-process test: 100 requests at 500/s. With the
// default thresholds (detect.DefaultConfig) the reflection starts at the 23rd request, when
// the replies pass 1,000,000 bytes in a minute, and exposed_amplifier at the second reply.
const (
	attackRequests = 100
	attackRate     = 500
	requestBytes   = 8   // the 8-byte MON_GETLIST_1 request of attack tools
	repliesPerReq  = 100 // 600 monitor entries, six per reply
	replyBytes     = 440 // 8-byte mode 7 header and six 72-byte items
)

// loopback is the pair of addresses of one live test: the amplifier and the victim.
type loopback struct {
	amp, victim netip.Addr
}

// newLoopback picks two addresses in 127.0.0.0/8 at random, away from 127.0.0.0/16 where
// services and other tools usually bind.
func newLoopback() loopback {
	a := [4]byte{127, byte(1 + rand.IntN(254)), byte(rand.IntN(256)), byte(1 + rand.IntN(253))}
	v := a
	v[3]++
	return loopback{netip.AddrFrom4(a), netip.AddrFrom4(v)}
}

// ampAddr is the amplifier's address and port, for ntpgen.
func (l loopback) ampAddr() string { return netip.AddrPortFrom(l.amp, 123).String() }

// bpf is the capture filter that keeps the test's own traffic only.
func (l loopback) bpf() string { return "udp and host " + l.amp.String() }

// requireLive skips when this process may not capture on lo or bind port 123 of the test's
// amplifier address, unless NTPWATCH_REQUIRE_LIVE=1 makes that a failure.
func requireLive(t *testing.T, l loopback) {
	t.Helper()
	why := ""
	if srcs, err := decode.OpenLive(decode.LiveConfig{Interface: "lo"}); err != nil {
		why = err.Error()
	} else {
		srcs[0].Close()
		if c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort(l.ampAddr()))); err != nil {
			why = "cannot bind " + l.ampAddr() + ": " + err.Error()
		} else {
			c.Close()
		}
	}
	if why == "" {
		return
	}
	if os.Getenv("NTPWATCH_REQUIRE_LIVE") == "1" {
		t.Fatalf("NTPWATCH_REQUIRE_LIVE=1 but the live test cannot run: %s", why)
	}
	t.Skipf("live loopback test skipped (%s); run as root, NTPWATCH_REQUIRE_LIVE=1 makes this a failure", why)
}

// buildTool builds a command of this module into dir.
func buildTool(t *testing.T, dir, name string) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the live tests build cmd/%s and need the go command: %v", name, err)
	}
	out := filepath.Join(dir, name)
	cmd := exec.Command(goBin, "build", "-o", out, "github.com/ntpwatch/ntpwatch/cmd/"+name)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build cmd/%s: %v\n%s", name, err, msg)
	}
	return out
}

// lines collects the lines of a stream with the time each arrived.
type lines struct {
	mu   sync.Mutex
	all  []timedLine
	done chan struct{}
}

type timedLine struct {
	at   time.Time
	text string
}

func collect(r io.Reader) *lines {
	l := &lines{done: make(chan struct{})}
	go func() {
		defer close(l.done)
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			at := time.Now()
			l.mu.Lock()
			l.all = append(l.all, timedLine{at, sc.Text()})
			l.mu.Unlock()
		}
		io.Copy(io.Discard, r)
	}()
	return l
}

func (l *lines) snapshot() []timedLine {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]timedLine(nil), l.all...)
}

// wait returns the first line containing s, waiting for it up to the hang guard.
func (l *lines) wait(t *testing.T, s string) timedLine {
	t.Helper()
	deadline := time.Now().Add(hangGuard)
	for time.Now().Before(deadline) {
		for _, ln := range l.snapshot() {
			if strings.Contains(ln.text, s) {
				return ln
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no line with %q within %s; got:\n%s", s, hangGuard, l.String())
	return timedLine{}
}

func (l *lines) String() string {
	var b strings.Builder
	for _, ln := range l.snapshot() {
		b.WriteString(ln.text)
		b.WriteByte('\n')
	}
	return b.String()
}

// startCollected starts cmd with its stdout and stderr on pipes of the test's own, which
// cmd.Wait does not close (it closes those of StdoutPipe, possibly before their last lines
// were read): the collectors read every line, and end when the process and its children
// have closed their ends. With merged, stderr goes to the stdout collector.
func startCollected(t *testing.T, cmd *exec.Cmd, merged bool) (stdout, stderr *lines) {
	t.Helper()
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = outW, outW
	var errR, errW *os.File
	if !merged {
		if errR, errW, err = os.Pipe(); err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = errW
	}
	err = cmd.Start()
	outW.Close() // the child holds its own copies
	if errW != nil {
		errW.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	killAtCleanup(t, cmd)
	stdout = collect(outR)
	t.Cleanup(func() { outR.Close() })
	if errR != nil {
		stderr = collect(errR)
		t.Cleanup(func() { errR.Close() })
	}
	return stdout, stderr
}

// killAtCleanup kills the started cmd when the test ends, unless it was waited for.
func killAtCleanup(t *testing.T, cmd *exec.Cmd) {
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
}

// terminate sends SIGTERM to the started cmd and waits for it to exit with status 0, up to
// the hang guard; it returns the time from the signal to the exit.
func terminate(t *testing.T, cmd *exec.Cmd, stderr fmt.Stringer) time.Duration {
	t.Helper()
	term := time.Now()
	cmd.Process.Signal(syscall.SIGTERM)
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v; stderr:\n%s", err, stderr)
		}
	case <-time.After(hangGuard):
		t.Fatalf("%s did not exit after SIGTERM; stderr:\n%s", filepath.Base(cmd.Path), stderr)
	}
	return time.Since(term)
}

// ntpgenProc is a running ntpgen subcommand.
type ntpgenProc struct {
	cmd *exec.Cmd
	out *lines
}

func startNtpgen(t *testing.T, bin string, args ...string) *ntpgenProc {
	t.Helper()
	cmd := exec.Command(bin, args...)
	out, _ := startCollected(t, cmd, true)
	return &ntpgenProc{cmd: cmd, out: out}
}

// stop ends an ntpgen process with SIGINT and returns its output.
func (p *ntpgenProc) stop(t *testing.T) string {
	t.Helper()
	p.cmd.Process.Signal(os.Interrupt)
	return p.wait(t)
}

// wait waits for the process to exit and for its output to be read to the end.
func (p *ntpgenProc) wait(t *testing.T) string {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		<-p.out.done
		if err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(p.cmd.Args, " "), err, p.out)
		}
	case <-time.After(hangGuard):
		p.cmd.Process.Kill()
		t.Fatalf("%s did not finish within %s", strings.Join(p.cmd.Args, " "), hangGuard)
	}
	return p.out.String()
}

// amplifierReport parses the amplifier's last line.
var amplifierReport = regexp.MustCompile(`amplifier: (\d+) requests answered with (\d+) replies \((\d+) payload bytes\) in [0-9.]+s \((\d+) replies/s\)`)

func parseAmplifier(t *testing.T, out string) (answered, replies, pps int) {
	t.Helper()
	m := amplifierReport.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no amplifier report in:\n%s", out)
	}
	answered, _ = strconv.Atoi(m[1])
	replies, _ = strconv.Atoi(m[2])
	pps, _ = strconv.Atoi(m[4])
	return answered, replies, pps
}

var senderReport = regexp.MustCompile(`sender: (\d+) requests .* \((\d+)/s\)`)

// liveAlert is the part of an alert these tests read.
type liveAlert struct {
	ID        string    `json:"id"`
	Kind      string    `json:"kind"`
	State     string    `json:"state"`
	TS        time.Time `json:"ts"`
	Reflector *string   `json:"reflector"`
	Victim    *string   `json:"victim"`
	Victims   struct {
		Top []struct {
			Addr string `json:"addr"`
		} `json:"top"`
	} `json:"victims"`
	Requests  struct{ Packets, Bytes uint64 } `json:"requests"`
	Responses struct{ Packets, Bytes uint64 } `json:"responses"`
	Source    string                          `json:"source"`
	arrived   time.Time
}

func parseAlerts(t *testing.T, ls []timedLine) []liveAlert {
	t.Helper()
	var out []liveAlert
	for _, ln := range ls {
		var a liveAlert
		if err := json.Unmarshal([]byte(ln.text), &a); err != nil {
			t.Fatalf("alert line %q: %v", ln.text, err)
		}
		a.arrived = ln.at
		out = append(out, a)
	}
	return out
}

func findAlert(alerts []liveAlert, kind, state string) *liveAlert {
	for i := range alerts {
		if alerts[i].Kind == kind && alerts[i].State == state {
			return &alerts[i]
		}
	}
	return nil
}

// checkAttack checks the alerts of an attack from l.victim reflected by l.amp: a start and
// an end of exposed_amplifier and of reflection, the end events carrying exactly the
// requests and replies sent. It returns the start events.
func checkAttack(t *testing.T, l loopback, alerts []liveAlert, requests uint64) (exposed, reflection *liveAlert) {
	t.Helper()
	amp, victim := l.amp.String(), l.victim.String()
	for _, kind := range []string{"exposed_amplifier", "reflection"} {
		start, end := findAlert(alerts, kind, "start"), findAlert(alerts, kind, "end")
		if start == nil || end == nil {
			t.Fatalf("%s: start %v, end %v; alerts: %+v", kind, start != nil, end != nil, alerts)
		}
		if end.ID != start.ID {
			t.Errorf("%s: end id %s, start id %s", kind, end.ID, start.ID)
		}
		if end.Reflector == nil || *end.Reflector != amp {
			t.Errorf("%s: reflector %v, want %s", kind, end.Reflector, amp)
		}
		if len(end.Victims.Top) != 1 || end.Victims.Top[0].Addr != victim {
			t.Errorf("%s: victims %+v, want %s", kind, end.Victims.Top, victim)
		}
		if end.Source != "lo" {
			t.Errorf("%s: source %q, want lo", kind, end.Source)
		}
		wantReq := struct{ Packets, Bytes uint64 }{requests, requests * requestBytes}
		wantResp := struct{ Packets, Bytes uint64 }{requests * repliesPerReq, requests * repliesPerReq * replyBytes}
		if end.Requests != wantReq || end.Responses != wantResp {
			t.Errorf("%s end: requests %+v responses %+v, want %+v and %+v", kind, end.Requests, end.Responses, wantReq, wantResp)
		}
		if kind == "reflection" {
			exposed, reflection = findAlert(alerts, "exposed_amplifier", "start"), start
			if start.Victim == nil || *start.Victim != victim {
				t.Errorf("reflection: victim %v, want %s", start.Victim, victim)
			}
		}
	}
	return exposed, reflection
}

// reportLatency prints the time from the packet that crossed each threshold (the start
// event's ts, a kernel timestamp) to the alert's arrival on the test's side of the sink.
// The budget is 1 s (docs/performance.md); it is measured and shown, not asserted.
func reportLatency(t *testing.T, what string, starts ...*liveAlert) {
	t.Helper()
	var parts []string
	for _, a := range starts {
		d := a.arrived.Sub(a.TS)
		parts = append(parts, fmt.Sprintf("%s %.1f ms", a.Kind, float64(d.Microseconds())/1000))
		if d > time.Second {
			t.Logf("%s: %s alert took %s, over the 1 s budget", what, a.Kind, d)
		}
	}
	line := fmt.Sprintf("live %s: threshold-crossing packet to alert: %s", what, strings.Join(parts, ", "))
	t.Log(line)
	fmt.Println(line)
}

var summaryDrops = regexp.MustCompile(`kernel: (\d+) received, (\d+) dropped(?:, (\d+) dropped by the interface)?`)

func kernelDrops(t *testing.T, stderr string) (received, dropped uint64) {
	t.Helper()
	m := summaryDrops.FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("no kernel counters in the summary:\n%s", stderr)
	}
	received, _ = strconv.ParseUint(m[1], 10, 64)
	dropped, _ = strconv.ParseUint(m[2], 10, 64)
	ifd, _ := strconv.ParseUint(m[3], 10, 64)
	return received, dropped + ifd
}

// scrape returns the metrics page.
func scrape(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s\n%s", url, resp.Status, body)
	}
	return string(body)
}

// metricValue returns the value of one series ("name" or `name{labels}`) on a metrics page.
func metricValue(page, series string) (float64, bool) {
	for _, ln := range strings.Split(page, "\n") {
		if v, ok := strings.CutPrefix(ln, series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			return f, err == nil
		}
	}
	return 0, false
}

// waitMetric scrapes until series is want: the snapshots behind the metrics are published a
// few times a second.
func waitMetric(t *testing.T, url, series string, want float64) string {
	t.Helper()
	return waitMetricFunc(t, url, series, want, func(v float64) bool { return v == want })
}

// waitMetricAtLeast scrapes until series is at least want.
func waitMetricAtLeast(t *testing.T, url, series string, want float64) string {
	t.Helper()
	return waitMetricFunc(t, url, series, want, func(v float64) bool { return v >= want })
}

func waitMetricFunc(t *testing.T, url, series string, want float64, ok func(float64) bool) string {
	t.Helper()
	deadline := time.Now().Add(hangGuard)
	for {
		page := scrape(t, url)
		v, _ := metricValue(page, series)
		if ok(v) {
			return page
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s is %v, want %v, after %s", series, v, want, hangGuard)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// checkMetricNames checks that the page serves every metric docs/live.md documents, and
// never an address of the test's traffic.
func checkMetricNames(t *testing.T, l loopback, page string) {
	t.Helper()
	for _, name := range metrics.Names() {
		if !regexp.MustCompile(`(?m)^` + name + `[{ ]`).MatchString(page) {
			t.Errorf("metric %s is not served", name)
		}
		if strings.Contains(page, name+`{addr`) || strings.Contains(page, l.amp.String()) || strings.Contains(page, l.victim.String()) {
			t.Errorf("an address appears in the metrics")
		}
	}
}

var metricsAddr = regexp.MustCompile(`metrics on (http://\S+)/metrics`)

// TestLiveLoopback runs `ntpwatch live -i lo` in process with each engine during a monlist
// attack and checks the alerts' exact counts, the metrics while it runs, and that a
// cancelled context (what SIGINT and SIGTERM do through main) ends the open incidents.
func TestLiveLoopback(t *testing.T) {
	requireLive(t, newLoopback())
	ntpgen := buildTool(t, t.TempDir(), "ntpgen")
	for _, engine := range []string{decode.EnginePcap, decode.EngineAFPacket} {
		t.Run(engine, func(t *testing.T) {
			l := newLoopback()
			amp := startNtpgen(t, ntpgen, "amplifier", "-listen", l.ampAddr(), "-duration", "2m")
			amp.out.wait(t, "listening")

			args := []string{"live", "-i", "lo", "--engine", engine, "--sensor", "test", "--metrics-listen", "127.0.0.1:0",
				"--bpf", l.bpf()}
			if engine == decode.EngineAFPacket {
				args = append(args, "--workers", "2")
			}
			outR, outW := io.Pipe()
			errR, errW := io.Pipe()
			stdout, stderr := collect(outR), collect(errR)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			exit := make(chan int, 1)
			go func() {
				code := run(ctx, args, nil, outW, errW)
				outW.Close()
				errW.Close()
				exit <- code
			}()
			stderr.wait(t, "capturing on lo")
			url := metricsAddr.FindStringSubmatch(stderr.String())[1]

			sent := startNtpgen(t, ntpgen, "sender", "-from", l.victim.String(), "-to", l.ampAddr(),
				"-count", strconv.Itoa(attackRequests), "-rate", strconv.Itoa(attackRate)).wait(t)
			t.Log(strings.TrimSpace(sent))
			stdout.wait(t, `"kind":"reflection","state":"start"`)

			// Every frame of the attack counted, and every documented metric served.
			frames := float64(attackRequests * (1 + repliesPerReq))
			page := waitMetric(t, url+"/metrics", `ntpwatch_ntp_messages_total{mode="7"}`, frames)
			checkMetricNames(t, l, page)
			waitMetric(t, url+"/metrics", `ntpwatch_sink_delivered_alerts_total{sink="stdout"}`, 2)
			for series, want := range map[string]float64{
				"ntpwatch_packets_total":                                        frames,
				`ntpwatch_decoded_packets_total{kind="message"}`:                frames,
				`ntpwatch_alerts_total{kind="reflection",state="start"}`:        1,
				`ntpwatch_alerts_total{kind="exposed_amplifier",state="start"}`: 1,
				"ntpwatch_kernel_dropped_packets_total":                         0,
				`ntpwatch_decode_problems_total{reason="truncated"}`:            0,
				"ntpwatch_capture_workers":                                      float64(map[string]int{"pcap": 1, "afpacket": 2}[engine]),
			} {
				if v, ok := metricValue(page, series); !ok || v != want {
					t.Errorf("%s = %v (served %v), want %v", series, v, ok, want)
				}
			}
			if resp, err := http.Get(url + "/healthz"); err != nil || resp.StatusCode != http.StatusOK {
				t.Errorf("/healthz: %v %v", resp, err)
			}

			cancel() // SIGINT or SIGTERM
			select {
			case code := <-exit:
				if code != exitOK {
					t.Errorf("exit %d, want 0; stderr:\n%s", code, stderr)
				}
			case <-time.After(hangGuard):
				t.Fatal("live did not stop after its context was cancelled")
			}
			<-stdout.done
			<-stderr.done
			answered, replies, _ := parseAmplifier(t, amp.stop(t))
			if answered != attackRequests || replies != attackRequests*repliesPerReq {
				t.Fatalf("the amplifier answered %d requests with %d replies, want %d and %d: the test traffic itself fell short",
					answered, replies, attackRequests, attackRequests*repliesPerReq)
			}
			exposed, reflection := checkAttack(t, l, parseAlerts(t, stdout.snapshot()), attackRequests)
			reportLatency(t, engine+" (in-process, race detector if on)", exposed, reflection)
			if _, drops := kernelDrops(t, stderr.String()); drops != 0 {
				t.Errorf("the kernel dropped %d frames", drops)
			}
		})
	}
}

// TestLiveService runs the built ntpwatch binary as a service would: the sender's top rate
// with no kernel drops, SIGHUP reopening the alert file after a rotation, and SIGTERM during
// an attack ending the incidents with end events and exit status 0.
func TestLiveService(t *testing.T) {
	requireLive(t, newLoopback())
	dir := t.TempDir()
	ntpgen, ntpwatch := buildTool(t, dir, "ntpgen"), buildTool(t, dir, "ntpwatch")
	for _, engine := range []string{decode.EnginePcap, decode.EngineAFPacket} {
		t.Run(engine, func(t *testing.T) {
			l := newLoopback()
			alertFile := filepath.Join(t.TempDir(), "alerts.jsonl")
			cmd := exec.Command(ntpwatch, "live", "-i", "lo", "--engine", engine, "--sensor", "test",
				"--sink", "stdout,file", "--out", alertFile, "--metrics-listen", "127.0.0.1:0", "--bpf", l.bpf())
			stdout, stderr := startCollected(t, cmd, false)
			stderr.wait(t, "capturing on lo")
			url := metricsAddr.FindStringSubmatch(stderr.String())[1]

			// The top rate: a burst of 3000 requests that the amplifier answers as fast
			// as it can, 300,000 replies of 482 wire bytes.
			const burst = 3000
			amp := startNtpgen(t, ntpgen, "amplifier", "-listen", l.ampAddr(), "-duration", "2m")
			amp.out.wait(t, "listening")
			sent := startNtpgen(t, ntpgen, "sender", "-from", l.victim.String(), "-to", l.ampAddr(),
				"-count", strconv.Itoa(burst), "-rate", "0").wait(t)
			answered, replies, pps := parseAmplifier(t, amp.stop(t))
			page := waitMetric(t, url+"/metrics", `ntpwatch_ntp_messages_total{mode="7"}`, float64(answered+replies))
			drops, _ := metricValue(page, "ntpwatch_kernel_dropped_packets_total")
			reqRate := senderReport.FindStringSubmatch(sent)
			line := fmt.Sprintf("live %s top rate: sender %s requests/s, amplifier %d replies/s (%d of %d requests answered), kernel drops %v",
				engine, reqRate[2], pps, answered, burst, drops)
			t.Log(line)
			fmt.Println(line)
			if drops != 0 {
				t.Errorf("the kernel dropped %v frames at the top rate", drops)
			}
			exposed := stdout.wait(t, `"kind":"exposed_amplifier","state":"start"`)
			reflection := stdout.wait(t, `"kind":"reflection","state":"start"`)
			starts := parseAlerts(t, []timedLine{exposed, reflection})
			reportLatency(t, engine+" (built binary, top rate)", &starts[0], &starts[1])

			// Log rotation: the alerts so far move to alerts.jsonl.1, SIGHUP, and the
			// rest go to a new alerts.jsonl.
			if err := os.Rename(alertFile, alertFile+".1"); err != nil {
				t.Fatal(err)
			}
			cmd.Process.Signal(syscall.SIGHUP)
			// The reopen creates the file anew.
			for deadline := time.Now().Add(hangGuard); ; time.Sleep(10 * time.Millisecond) {
				if _, err := os.Stat(alertFile); err == nil {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%s was not created again after SIGHUP", alertFile)
				}
			}

			// An attack still going on when SIGTERM comes.
			amp = startNtpgen(t, ntpgen, "amplifier", "-listen", l.ampAddr(), "-duration", "2m")
			amp.out.wait(t, "listening")
			slow := startNtpgen(t, ntpgen, "sender", "-from", l.victim.String(), "-to", l.ampAddr(), "-count", "2000", "-rate", "100")
			waitMetricAtLeast(t, url+"/metrics", `ntpwatch_ntp_messages_total{mode="7"}`, float64(answered+replies+101))
			took := terminate(t, cmd, stderr)
			t.Logf("SIGTERM to exit: %s (budget 5 s)", took)
			fmt.Printf("live %s: SIGTERM during an attack to exit 0: %s\n", engine, took.Round(time.Millisecond))
			slow.stop(t)
			amp.stop(t)
			<-stdout.done
			<-stderr.done

			rotated, _ := os.ReadFile(alertFile + ".1")
			current, _ := os.ReadFile(alertFile)
			for _, c := range []struct {
				file, content string
				want          []string
			}{
				{"alerts.jsonl.1", string(rotated), []string{`"kind":"exposed_amplifier","state":"start"`, `"kind":"reflection","state":"start"`}},
				{"alerts.jsonl", string(current), []string{`"kind":"exposed_amplifier","state":"end"`, `"kind":"reflection","state":"end"`}},
			} {
				for _, w := range c.want {
					if !strings.Contains(c.content, w) {
						t.Errorf("%s lacks %s:\n%s", c.file, w, c.content)
					}
				}
			}
			ends := parseAlerts(t, stdout.snapshot())
			for _, kind := range []string{"exposed_amplifier", "reflection"} {
				end := findAlert(ends, kind, "end")
				if end == nil {
					t.Errorf("no %s end event after SIGTERM", kind)
					continue
				}
				// The slow attack was cut short, so only bounds are known: the burst and
				// at least one request of the slow attack.
				if end.Requests.Packets <= uint64(answered) || end.Responses.Packets <= uint64(replies) {
					t.Errorf("%s end: %+v %+v, want more than the burst's %d and %d", kind, end.Requests, end.Responses, answered, replies)
				}
			}
			if _, d := kernelDrops(t, stderr.String()); d != 0 {
				t.Errorf("the kernel dropped %d frames", d)
			}
		})
	}
}

// TestLiveBadUsage checks the errors of `live` that need no capture: exit status 2 and one
// line naming the flag or the interface.
func TestLiveBadUsage(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"no interface", []string{"live"}, "-i IFACE"},
		{"unknown interface", []string{"live", "-i", "nosuch0"}, "nosuch0"},
		{"bad engine", []string{"live", "-i", "lo", "--engine", "dpdk"}, "--engine"},
		{"pcap workers", []string{"live", "-i", "lo", "--workers", "3"}, "--workers 3"},
		{"bad metrics address", []string{"live", "-i", "lo", "--metrics-listen", "nowhere"}, "--metrics-listen"},
		{"stray argument", []string{"live", "-i", "lo", "extra"}, `"extra"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb strings.Builder
			code := run(context.Background(), tc.args, nil, &out, &errb)
			if code != exitUsage {
				t.Errorf("exit %d, want %d; stderr: %s", code, exitUsage, errb.String())
			}
			msg := strings.TrimSpace(errb.String())
			if !strings.Contains(msg, tc.want) || strings.Contains(msg, "\n") {
				t.Errorf("stderr %q: want one line naming %q", msg, tc.want)
			}
		})
	}
}

// TestLivePermission runs the binary as nobody: without capabilities it must stop with one
// line naming the interface and the missing privilege (exit status 2); with CAP_NET_RAW alone,
// as the systemd unit of docs/live.md grants it, both engines must capture, promiscuous mode included.
func TestLivePermission(t *testing.T) {
	setpriv, err := exec.LookPath("setpriv")
	if err != nil || os.Geteuid() != 0 {
		t.Skip("needs root and setpriv (util-linux) to drop privileges")
	}
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	ntpwatch := buildTool(t, dir, "ntpwatch")
	asNobody := func(caps string, args ...string) *exec.Cmd {
		return exec.Command(setpriv, append([]string{"--reuid=65534", "--regid=65534", "--clear-groups",
			"--inh-caps=-all" + caps, "--ambient-caps=-all" + caps, "--bounding-set=-all" + caps, ntpwatch}, args...)...)
	}
	t.Run("no capability", func(t *testing.T) {
		cmd := asNobody("", "live", "-i", "lo")
		out, err := cmd.CombinedOutput()
		msg := strings.TrimSpace(string(out))
		if code := cmd.ProcessState.ExitCode(); code != exitUsage {
			t.Fatalf("exit %d (%v), want %d; output: %s", code, err, exitUsage, msg)
		}
		if !strings.Contains(msg, "capture on lo") || !strings.Contains(msg, "CAP_NET_RAW") || strings.Contains(msg, "CAP_NET_ADMIN") || strings.Contains(msg, "\n") {
			t.Errorf("output %q: want one line naming lo and CAP_NET_RAW alone", msg)
		}
	})
	for _, engine := range []string{decode.EnginePcap, decode.EngineAFPacket} {
		t.Run("CAP_NET_RAW "+engine, func(t *testing.T) {
			cmd := asNobody(",+net_raw", "live", "-i", "lo", "--engine", engine, "--promisc")
			errPipe, _ := cmd.StderrPipe()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			killAtCleanup(t, cmd)
			stderr := collect(errPipe)
			stderr.wait(t, "capturing on lo")
			cmd.Process.Signal(syscall.SIGTERM)
			<-stderr.done
			if err := cmd.Wait(); err != nil {
				t.Errorf("exit: %v\n%s", err, stderr)
			}
		})
	}
}
