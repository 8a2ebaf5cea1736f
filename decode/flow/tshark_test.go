package flow

import (
	"compress/gzip"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestSFlowAgainstTshark: every raw header sample of pmacct's sFlow is decoded as tshark
// dissects it: in order, the sampled packet's addresses and ports, its frame length less the
// FCS that sFlow counts (tshark's frame_length) and the sampling rate as weight.
func TestSFlowAgainstTshark(t *testing.T) {
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark is not installed")
	}
	// tshark reads the capture uncompressed, as Wireshark would after gunzip.
	plain := filepath.Join(t.TempDir(), "sflow.pcap")
	in, err := os.Open(fixtureSFlow)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	zr, err := gzip.NewReader(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := os.Create(plain)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, zr); err != nil {
		t.Fatal(err)
	}
	out.Close()
	fields := []string{"sflow_245.header.frame_length", "sflow_245.header.payload_stripped", "sflow.flow_sample.sampling_rate",
		"ip.src", "ip.dst", "udp.srcport", "udp.dstport"}
	args := []string{"-r", plain, "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=,"}
	for _, f := range fields {
		args = append(args, "-e", f)
	}
	tsv, err := exec.Command("tshark", args...).Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	type sample struct{ wire, rate, src, dst, sport, dport string }
	var want []sample
	for _, line := range strings.Split(strings.TrimSpace(string(tsv)), "\n") {
		cols := strings.Split(line, "\t")
		col := func(i int) []string { return strings.Split(cols[i], ",") }
		lens, stripped, rates := col(0), col(1), col(2)
		// The first address and ports are the export datagram's own.
		srcs, dsts, sports, dports := col(3)[1:], col(4)[1:], col(5)[1:], col(6)[1:]
		for i := range lens {
			n, _ := strconv.Atoi(lens[i])
			if s, _ := strconv.Atoi(stripped[i]); s >= 4 {
				n -= 4
			}
			want = append(want, sample{strconv.Itoa(n), rates[i], srcs[i], dsts[i], sports[i], dports[i]})
		}
	}
	_, ps, _ := openFixture(t, Config{}, fixtureSFlow)
	if len(ps) != len(want) {
		t.Fatalf("%d samples, tshark %d", len(ps), len(want))
	}
	for i, p := range ps {
		got := sample{strconv.Itoa(int(p.WireLen)), strconv.Itoa(int(p.Weight)), p.Src.String(), p.Dst.String(),
			strconv.Itoa(int(p.SrcPort)), strconv.Itoa(int(p.DstPort))}
		if got != want[i] {
			t.Errorf("sample %d: %+v, tshark %+v", i, got, want[i])
		}
	}
}
