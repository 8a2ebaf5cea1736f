package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"

	"github.com/ntpwatch/ntpwatch/internal/scenario"
	"github.com/ntpwatch/ntpwatch/internal/testutil"
)

// The sampled-flow tests turn the sample captures into what real exporters send: Debian's
// pmacct (pmacctd reading a capture file with its sfprobe plugin emits sFlow v5 at a chosen
// sampling rate, with nfprobe NetFlow v9 and IPFIX) sends to a UDP socket of the test on
// 127.0.0.1, a port the system chose, and the datagrams become a capture that `ntpwatch read
// --flows` reads. pmacct's sampling is a pseudo-random sequence that starts the same on
// every run, so the same capture gives the same samples. CI (NTPWATCH_REQUIRE_LIVE=1)
// installs pmacct; elsewhere the tests skip without it.

// requireTool returns the path of a flow producer, or skips the test without it.
func requireTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv("NTPWATCH_REQUIRE_LIVE") == "1" {
		t.Fatalf("NTPWATCH_REQUIRE_LIVE=1 but %s is not installed (Debian: apt-get install pmacct softflowd)", name)
	}
	t.Skipf("%s is not installed (Debian: apt-get install pmacct softflowd)", name)
	return ""
}

// exported is one datagram received from an exporter, and when.
type exported struct {
	at   time.Time
	data []byte
}

// receive listens on 127.0.0.1 (a port the system chooses) and collects the datagrams that
// arrive until stop is called, which returns them: by then the producer has exited, and a
// loopback sendto queues its datagram in this socket's buffer before it returns, so what is
// left is read without waiting.
func receive(t *testing.T) (port int, stop func() []exported) {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	conn.SetReadBuffer(8 << 20)
	var mu sync.Mutex
	var got []exported
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		buf := make([]byte, 1<<16)
		for {
			select {
			case <-done:
				conn.SetReadDeadline(time.Now()) // what is queued, and no more
			default:
				conn.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
			}
			n, err := conn.Read(buf)
			if errors.Is(err, os.ErrDeadlineExceeded) {
				select {
				case <-done:
					return
				default:
					continue
				}
			}
			if err != nil {
				return
			}
			mu.Lock()
			got = append(got, exported{time.Now(), append([]byte(nil), buf[:n]...)})
			mu.Unlock()
		}
	}()
	return conn.LocalAddr().(*net.UDPAddr).Port, func() []exported {
		close(done)
		<-finished
		conn.Close()
		mu.Lock()
		defer mu.Unlock()
		return got
	}
}

// writeExports writes datagrams as a capture of their arrival on 127.0.0.1, UDP port dport,
// gzip-compressed when path ends in .gz.
func writeExports(t *testing.T, path string, dport uint16, dgs []exported) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out io.Writer = f
	if strings.HasSuffix(path, ".gz") {
		zw := gzip.NewWriter(f)
		defer zw.Close()
		out = zw
	}
	w := pcapgo.NewWriter(out)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	lo := netip.MustParseAddr("127.0.0.1")
	for _, d := range dgs {
		frame := testutil.Ethernet(testutil.UDP(lo, lo, 40000, dport, d.data))
		ci := gopacket.CaptureInfo{Timestamp: d.at, CaptureLength: len(frame), Length: len(frame)}
		if err := w.WritePacket(ci, frame); err != nil {
			t.Fatal(err)
		}
	}
}

// pmacct runs pmacctd over the capture in with the plugin configuration conf, whose
// receiver is 127.0.0.1:PORT (PORT replaced), and writes what it exported as a capture of
// datagrams to dport at out (a temporary file when empty). It returns the capture's path.
func pmacct(t *testing.T, in, conf string, dport uint16, out string) string {
	t.Helper()
	bin := requireTool(t, "pmacctd")
	dir := t.TempDir()
	if out == "" {
		out = filepath.Join(dir, "exports.pcap")
	}
	port, stop := receive(t)
	cfgPath := filepath.Join(dir, "pmacctd.conf")
	text := fmt.Sprintf("daemonize: false\npcap_savefile: %s\n%s\n", in, strings.ReplaceAll(conf, "PORT", fmt.Sprint(port)))
	if err := os.WriteFile(cfgPath, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-f", cfgPath)
	log, err := cmd.CombinedOutput()
	dgs := stop()
	// At the end of the file the core stops its plugin, which says "Shutting down on user
	// request" once it has exported everything; the core may then find the plugin's pipe
	// closed first and exit with status 1. That is the end of a complete run.
	if err != nil && !bytes.Contains(log, []byte("Shutting down on user request")) {
		t.Fatalf("pmacctd: %v\n%s", err, log)
	}
	if len(dgs) == 0 {
		t.Fatalf("pmacctd exported nothing:\n%s", log)
	}
	writeExports(t, out, dport, dgs)
	return out
}

// sflowConf is pmacctd's sfprobe at 1 in rate.
func sflowConf(rate int) string {
	return fmt.Sprintf("plugins: sfprobe\nsfprobe_receiver: 127.0.0.1:PORT\nsfprobe_agentip: 192.0.2.250\nsampling_rate: %d", rate)
}

// nfprobeConf is pmacctd's nfprobe exporting NetFlow version (9, or 10 for IPFIX) of every
// packet.
func nfprobeConf(version int) string {
	return fmt.Sprintf("plugins: nfprobe\nnfprobe_receiver: 127.0.0.1:PORT\nnfprobe_version: %d", version)
}

// flowAlert is the part of an alert the sampled-flow tests compare.
type flowAlert struct {
	ID, Kind, State, Vector    string
	TS                         time.Time
	Reflector, Victim, Scanner netip.Addr
	Requests, Responses        scenario.Traffic
	WireBytes                  uint64 `json:"wire_bytes"`
	Victims                    struct {
		Count int
		Top   []struct{ Addr netip.Addr }
	}
	Reflectors struct{ Count int }
	Targets    struct{ Count int }
	Sampling   *struct {
		Rate, Samples  uint64
		ErrorPct       float64 `json:"error_pct"`
		DistinctCounts string  `json:"distinct_counts"`
	}
	arrived time.Time
}

// key is what must be the same from samples as from full packets: kind, subject and victim.
// The victim of request_flood is the forged source with the most request bytes, which the
// sample captures' six sources tie for: its victims are compared as a set.
func (a *flowAlert) key() string {
	victim := a.Victim.String()
	if a.Kind == "request_flood" {
		var vs []string
		for _, v := range a.Victims.Top {
			vs = append(vs, v.Addr.String())
		}
		slices.Sort(vs)
		victim = "{" + strings.Join(vs, " ") + "}"
	}
	return fmt.Sprintf("%s reflector=%v victim=%s scanner=%v", a.Kind, a.Reflector, victim, a.Scanner)
}

// flowAlerts parses alert lines.
func flowAlerts(t *testing.T, out []byte) []flowAlert {
	t.Helper()
	var as []flowAlert
	for _, line := range bytes.Split(bytes.TrimSpace(out), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var a flowAlert
		if err := json.Unmarshal(line, &a); err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		as = append(as, a)
	}
	return as
}

// ends returns the end event of every incident, by key.
func ends(as []flowAlert) map[string]flowAlert {
	m := map[string]flowAlert{}
	for _, a := range as {
		if a.State == "end" {
			m[a.key()] = a
		}
	}
	return m
}

// keys lists a map's keys in order.
func keys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// within reports whether est is within pct percent of truth.
func within(est, truth uint64, pct float64) bool {
	d := float64(est) - float64(truth)
	return d*d <= (pct/100*float64(truth))*(pct/100*float64(truth))
}

// readFlows runs `ntpwatch read --flows` on a capture of export datagrams, with args.
func readFlows(t *testing.T, capture string, args ...string) []flowAlert {
	t.Helper()
	out, stderr, code := readAlerts(t, append(append([]string{"--flows"}, args...), capture)...)
	if code != exitOK {
		t.Fatalf("read --flows: exit %d\n%s", code, stderr)
	}
	return flowAlerts(t, out)
}
