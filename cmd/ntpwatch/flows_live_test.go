package main

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

var receivingSFlow = regexp.MustCompile(`receiving sflow (127\.0\.0\.1:\d+)`)

// flowRun is `ntpwatch flow` running in process, its stdout and stderr collected.
type flowRun struct {
	stdout, stderr *lines
	cancel         context.CancelFunc
	exit           chan int
	addr           string // where it receives sFlow
}

// startFlow runs `ntpwatch flow --sflow 127.0.0.1:0` with args, and waits until it receives.
func startFlow(t *testing.T, args ...string) *flowRun {
	t.Helper()
	outR, outW := io.Pipe()
	errR, errW := io.Pipe()
	f := &flowRun{stdout: collect(outR), stderr: collect(errR), exit: make(chan int, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	f.cancel = cancel
	t.Cleanup(cancel)
	go func() {
		code := run(ctx, append([]string{"flow", "--sflow", "127.0.0.1:0", "--sensor", "test"}, args...), nil, outW, errW)
		outW.Close()
		errW.Close()
		f.exit <- code
	}()
	f.addr = receivingSFlow.FindStringSubmatch(f.stderr.wait(t, "receiving sflow").text)[1]
	return f
}

// stop ends the run as SIGINT does and returns its exit status.
func (f *flowRun) stop(t *testing.T) int {
	t.Helper()
	f.cancel()
	select {
	case code := <-f.exit:
		<-f.stdout.done
		<-f.stderr.done
		return code
	case <-time.After(hangGuard):
		t.Fatal("ntpwatch flow did not stop after its context was cancelled")
	}
	return 0
}

// pmacctTo writes a pmacctd configuration of sfprobe at 1 in rate to addr, with the extra
// lines given, and returns its path.
func pmacctTo(t *testing.T, addr string, rate int, extra string) string {
	t.Helper()
	conf := strings.ReplaceAll(sflowConf(rate), "127.0.0.1:PORT", addr)
	path := filepath.Join(t.TempDir(), "pmacctd.conf")
	if err := os.WriteFile(path, []byte("daemonize: false\n"+extra+"\n"+conf+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// reportFlowLatency prints the time from each kind's threshold crossing (crossed, by kind,
// when known) to its start alert's arrival, and from the datagram that crossed it (the
// alert's ts, its arrival time) to the alert: measured and shown, not asserted (the budget
// is 2 s).
func reportFlowLatency(t *testing.T, what string, crossed map[string]time.Time, alerts []flowAlert) {
	t.Helper()
	var parts []string
	for _, a := range alerts {
		if a.State != "start" {
			continue
		}
		part := fmt.Sprintf("%s: datagram to alert %.1f ms", a.Kind, float64(a.arrived.Sub(a.TS).Microseconds())/1000)
		if c, ok := crossed[a.Kind]; ok {
			d := a.arrived.Sub(c)
			part += fmt.Sprintf(", threshold crossed to alert %.1f ms", float64(d.Microseconds())/1000)
			if d > 2*time.Second {
				t.Logf("%s: %s alert %s after the threshold, over the 2 s budget", what, a.Kind, d)
			}
		}
		parts = append(parts, part)
	}
	line := fmt.Sprintf("flow %s: %s", what, strings.Join(parts, "; "))
	t.Log(line)
	fmt.Println(line)
}

// arrivedAlerts parses the alert lines with their arrival times.
func arrivedAlerts(t *testing.T, ls []timedLine) []flowAlert {
	t.Helper()
	var as []flowAlert
	for _, l := range ls {
		a := flowAlerts(t, []byte(l.text))
		a[0].arrived = l.at
		as = append(as, a[0])
	}
	return as
}

// TestFlowLive runs `ntpwatch flow` on 127.0.0.1 while pmacct sends it sFlow live: pmacctd
// reading the reflection sample (as fast as it reads), and, as root, pmacctd capturing a
// monlist attack on the loopback interface, between random 127/8 addresses, as a router's
// agent samples its traffic. Both must give the reflection; the time from the threshold to
// the alert is measured and printed.
func TestFlowLive(t *testing.T) {
	pmacctd := requireTool(t, "pmacctd")
	t.Run("savefile", func(t *testing.T) {
		repoRoot(t)
		f := startFlow(t, "--metrics-listen", "127.0.0.1:0")
		url := metricsAddr.FindStringSubmatch(f.stderr.wait(t, "metrics on").text)[1]
		in, _ := filepath.Abs(samplePath(t, "reflection"))
		cmd := exec.Command(pmacctd, "-f", pmacctTo(t, f.addr, 10, "pcap_savefile: "+in))
		if out, err := cmd.CombinedOutput(); err != nil && !strings.Contains(string(out), "Shutting down on user request") {
			t.Fatalf("pmacctd: %v\n%s", err, out)
		}
		f.stdout.wait(t, `"kind":"reflection","state":"start"`)
		page := waitMetricAtLeast(t, url+"/metrics", `ntpwatch_flow_samples_total{exporter="exporter-1",protocol="sflow"}`, 1)
		for _, series := range []string{`ntpwatch_flow_sampling_rate{exporter="exporter-1",protocol="sflow"} 10`,
			`ntpwatch_flow_lost_total{exporter="exporter-1",protocol="sflow"} 0`} {
			if !strings.Contains(page, series+"\n") {
				t.Errorf("metrics lack %s", series)
			}
		}
		if code := f.stop(t); code != exitOK {
			t.Fatalf("exit %d\n%s", code, f.stderr)
		}
		alerts := arrivedAlerts(t, f.stdout.snapshot())
		got := ends(alerts)
		if _, ok := got["reflection reflector=198.51.100.10 victim=203.0.113.7 scanner=invalid IP"]; !ok {
			t.Errorf("no reflection 198.51.100.10 -> 203.0.113.7: %v", keys(got))
		}
		if !strings.Contains(f.stderr.String(), "exporter-1  sflow     192.0.2.250") {
			t.Errorf("the exporters' list is missing from stderr:\n%s", f.stderr)
		}
		reportFlowLatency(t, "pmacctd reading pcaps/reflection.pcap at 1:10", nil, alerts)
	})
	t.Run("capture", func(t *testing.T) {
		// Addresses of their own, so that other loopback tests' port 123 is theirs.
		l := newLoopback()
		requireLive(t, l)
		ntpgen := buildTool(t, t.TempDir(), "ntpgen")
		server, victim := l.amp.String(), l.victim.String()
		f := startFlow(t)
		amp := startNtpgen(t, ntpgen, "amplifier", "-listen", server+":123", "-duration", "2m")
		amp.out.wait(t, "listening")
		// Killed at the end of the test, as ntpgen's processes are.
		capture := startNtpgen(t, pmacctd, "-f", pmacctTo(t, f.addr, 10, "pcap_interface: lo\npcap_filter: udp and host "+server))
		capture.out.wait(t, "Sampling at")
		// The attack: 100 requests at 500 a second, each answered with 100 replies of 440
		// bytes. Reflection's 1,000,000 bytes pass with the 23rd request's replies, 44 ms
		// after the first (at 500 a second, request i goes at i*2 ms); started is taken
		// before the sender's process starts, which overstates the times measured.
		started := time.Now()
		sent := startNtpgen(t, ntpgen, "sender", "-from", victim, "-to", server+":123",
			"-count", strconv.Itoa(attackRequests), "-rate", strconv.Itoa(attackRate)).wait(t)
		t.Log(strings.TrimSpace(sent))
		f.stdout.wait(t, `"kind":"reflection","state":"start"`)
		if code := f.stop(t); code != exitOK {
			t.Fatalf("exit %d\n%s", code, f.stderr)
		}
		amp.stop(t)
		alerts := arrivedAlerts(t, f.stdout.snapshot())
		key := fmt.Sprintf("reflection reflector=%s victim=%s scanner=invalid IP", server, victim)
		if _, ok := ends(alerts)[key]; !ok {
			t.Errorf("no %s: %v", key, keys(ends(alerts)))
		}
		if a := netip.MustParseAddr(server); !a.IsLoopback() {
			t.Fatalf("test traffic to %s", a)
		}
		// exposed_amplifier's evidence is the first replies (4 samples of them pass the
		// gate): the attack's start is the earliest it could be, which overstates the time.
		crossed := map[string]time.Time{"exposed_amplifier": started, "reflection": started.Add(22 * time.Second / attackRate)}
		reportFlowLatency(t, "pmacctd capturing a 500 request/s attack on lo at 1:10", crossed, alerts)
	})
}
