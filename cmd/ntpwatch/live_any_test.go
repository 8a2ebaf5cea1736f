package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ntpwatch/ntpwatch/decode"
)

// requireCapture skips when this process may not capture on iface, unless
// NTPWATCH_REQUIRE_LIVE=1 makes that a failure. Unlike requireLive it binds no port.
func requireCapture(t *testing.T, iface, engine string) {
	t.Helper()
	srcs, err := decode.OpenLive(decode.LiveConfig{Interface: iface, Engine: engine})
	if err == nil {
		for _, s := range srcs {
			s.Close()
		}
		return
	}
	if os.Getenv("NTPWATCH_REQUIRE_LIVE") == "1" {
		t.Fatalf("NTPWATCH_REQUIRE_LIVE=1 but cannot capture on %s: %v", iface, err)
	}
	t.Skipf("live test skipped (%v); run as root, NTPWATCH_REQUIRE_LIVE=1 makes this a failure", err)
}

// liveRun is `ntpwatch live` running in process.
type liveRun struct {
	cancel  context.CancelFunc
	stderr  *lines
	done    chan struct{} // closed when run returned
	code    int
	metrics string // the /metrics URL
}

func startLive(t *testing.T, args ...string) *liveRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	l := &liveRun{cancel: cancel, stderr: collect(r), done: make(chan struct{})}
	out := t.TempDir() + "/alerts.jsonl"
	go func() {
		l.code = run(ctx, append([]string{"live", "--sensor", "test", "--metrics-listen", "127.0.0.1:0",
			"--sink", "file", "--out", out}, args...), nil, os.Stdout, w)
		w.Close()
		close(l.done)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-l.done:
		case <-time.After(hangGuard):
		}
	})
	m := metricsAddr.FindStringSubmatch(l.stderr.wait(t, "metrics on").text)
	l.metrics = m[1] + "/metrics"
	l.stderr.wait(t, "capturing on")
	return l
}

// stop ends the run as SIGTERM does and returns its exit status and last line.
func (l *liveRun) stop(t *testing.T) (int, string) {
	t.Helper()
	l.cancel()
	select {
	case <-l.done:
		<-l.stderr.done
		all := l.stderr.snapshot()
		return l.code, all[len(all)-1].text
	case <-time.After(hangGuard):
		t.Fatalf("live did not stop within %s", hangGuard)
	}
	return 0, ""
}

// TestLiveAny captures with `-i any` (libpcap's pseudo-interface, Linux cooked frames), a
// capture filter given after -- on the port the test picked: the NTP client requests sent on
// the loopback interface must be decoded, every one and no frame twice.
func TestLiveAny(t *testing.T) {
	requireCapture(t, decode.AnyInterface, decode.EnginePcap)
	const n = 20
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	port := c.LocalAddr().(*net.UDPAddr).Port
	c.Close() // sendClientsFrom binds it again: the filter names the port before the capture starts
	l := startLive(t, "-i", "any", "--", "udp", "and", "src", "port", strconv.Itoa(port))
	sent := sendClientsFrom(t, port, n)
	page := waitMetric(t, l.metrics, `ntpwatch_ntp_messages_total{mode="3"}`, n)
	if v, _ := metricValue(page, `ntpwatch_decode_problems_total{reason="unsupported_link_type"}`); v != 0 {
		t.Errorf("%v frames of an unsupported link type", v)
	}
	code, last := l.stop(t)
	if want := fmt.Sprintf("ntpwatch: %d frames, %d messages, 0 alerts", sent, sent); code != exitOK || !strings.HasPrefix(last, want) {
		t.Errorf("exit %d, last line %q, want it to start with %q", code, last, want)
	}
}

// sendClientsFrom sends n 48-byte NTP client requests (mode 3) from the loopback port to port
// 123 of a loopback address nothing listens on; nothing answers them, and the capture filter
// on the port takes only them.
func sendClientsFrom(t *testing.T, port, n int) int {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	to := &net.UDPAddr{IP: net.IPv4(127, 77, byte(1+rand.IntN(250)), byte(1+rand.IntN(250))), Port: 123}
	req := append([]byte{0x23}, make([]byte, 47)...) // LI 0, version 4, mode 3
	for range n {
		if _, err := c.WriteToUDP(req, to); err != nil {
			t.Fatal(err)
		}
	}
	return n
}

// TestLiveAnyAFPacket: AF_PACKET cannot capture on any; the error says to use the pcap
// engine. It needs no privilege: the configuration is refused before anything is opened.
func TestLiveAnyAFPacket(t *testing.T) {
	var out, errb strings.Builder
	code := run(context.Background(), []string{"live", "-i", "any", "--engine", "afpacket"}, nil, &out, &errb)
	msg := strings.TrimSpace(errb.String())
	if code != exitUsage || strings.Contains(msg, "\n") || !strings.Contains(msg, "--engine afpacket") || !strings.Contains(msg, "pcap engine") {
		t.Errorf("exit %d, stderr %q: want 2 and one line naming --engine and the pcap engine", code, msg)
	}
}

// TestLiveAFPacketExitLine: the afpacket engine has no counter of the interface's drops, and
// its exit line does not print one.
func TestLiveAFPacketExitLine(t *testing.T) {
	requireCapture(t, "lo", decode.EngineAFPacket)
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	port := c.LocalAddr().(*net.UDPAddr).Port
	c.Close()
	l := startLive(t, "-i", "lo", "--engine", "afpacket", "--workers", "2", "--", "udp", "and", "src", "port", strconv.Itoa(port))
	sent := sendClientsFrom(t, port, 5)
	waitMetric(t, l.metrics, "ntpwatch_packets_total", float64(sent))
	code, last := l.stop(t)
	if code != exitOK || !strings.Contains(last, "kernel: ") || strings.Contains(last, "interface") {
		t.Errorf("exit %d, last line %q: want the kernel's counts and no interface drops", code, last)
	}
}
