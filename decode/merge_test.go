package decode

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
)

// fakeSource yields frames whose payload is their label, copied into one buffer that every
// Next overwrites, as a zero-copy file source does: a merge that read a member ahead of
// time would hand out a label that is not its own.
type fakeSource struct {
	name   string
	times  []int64 // seconds
	labels []string
	end    error // returned after the frames; io.EOF when nil
	buf    []byte
	i      int
	closed bool
}

func (f *fakeSource) Next(fr *Frame) error {
	if f.i >= len(f.times) {
		if f.end != nil {
			return f.end
		}
		return io.EOF
	}
	f.buf = append(f.buf[:0], f.labels[f.i]...)
	*fr = Frame{Data: f.buf, Time: time.Unix(f.times[f.i], 0), WireLen: len(f.buf), Link: LinkTypeEthernet}
	f.i++
	return nil
}

func (f *fakeSource) Name() string                  { return f.name }
func (f *fakeSource) Close() error                  { f.closed = true; return nil }
func (f *fakeSource) Progress() (done, total int64) { return int64(f.i), int64(len(f.times)) }

// newFake labels frame k of source name as "name@time".
func newFake(name string, end error, times ...int64) *fakeSource {
	f := &fakeSource{name: name, times: times, end: end}
	for _, t := range times {
		f.labels = append(f.labels, fmt.Sprintf("%s@%d", name, t))
	}
	return f
}

// drain reads m to its end and returns the labels in order, checking each frame's data
// against its timestamp.
func drain(t *testing.T, m Source) ([]string, error) {
	t.Helper()
	var got []string
	var fr Frame
	for {
		err := m.Next(&fr)
		data, ts := fr.Data, fr.Time
		if err != nil {
			if errors.Is(err, io.EOF) {
				return got, nil
			}
			return got, err
		}
		label := string(data)
		var name string
		var sec int64
		if _, err := fmt.Sscanf(label, "%1s@%d", &name, &sec); err != nil || sec != ts.Unix() {
			t.Fatalf("frame %q came with time %d: data overwritten before its turn", label, ts.Unix())
		}
		got = append(got, label)
	}
}

func TestMergeOrder(t *testing.T) {
	trunc := fmt.Errorf("read c.pcap: %w after 2 packets", ErrTruncated)
	cases := []struct {
		name  string
		srcs  func() []Source
		want  []string
		warns int
		err   bool
	}{
		{"interleaved, ties by argument order", func() []Source {
			return []Source{newFake("a", nil, 1, 3, 5), newFake("b", nil, 2, 3, 4, 6)}
		}, []string{"a@1", "b@2", "a@3", "b@3", "b@4", "a@5", "b@6"}, 0, false},
		{"equal times at a cut keep the order of the files' starts", func() []Source {
			return []Source{newFake("b", nil, 3, 4), newFake("a", nil, 1, 2, 3)}
		}, []string{"a@1", "a@2", "a@3", "b@3", "b@4"}, 0, false},
		{"same start: argument order", func() []Source {
			return []Source{newFake("b", nil, 1, 2), newFake("a", nil, 1, 2)}
		}, []string{"b@1", "a@1", "b@2", "a@2"}, 0, false},
		{"rotated files given out of order", func() []Source {
			return []Source{newFake("c", nil, 7, 8), newFake("a", nil, 1, 2, 3), newFake("b", nil, 4, 5, 6)}
		}, []string{"a@1", "a@2", "a@3", "b@4", "b@5", "b@6", "c@7", "c@8"}, 0, false},
		{"a file whose own times go backwards keeps its order", func() []Source {
			return []Source{newFake("a", nil, 5, 1), newFake("b", nil, 3)}
		}, []string{"b@3", "a@5", "a@1"}, 0, false},
		{"empty members", func() []Source {
			return []Source{newFake("a", nil), newFake("b", nil, 1), newFake("c", nil)}
		}, []string{"b@1"}, 0, false},
		{"a truncated member is a warning and the others go on", func() []Source {
			return []Source{newFake("c", trunc, 1, 4), newFake("a", nil, 2, 3, 5)}
		}, []string{"c@1", "a@2", "a@3", "c@4", "a@5"}, 1, false},
		{"a member failing at once is a warning and the others go on", func() []Source {
			return []Source{newFake("a", nil, 1), newFake("b", errors.New("read b: disk on fire"))}
		}, []string{"a@1"}, 1, false},
		{"a member failing later is a warning and the others go on", func() []Source {
			return []Source{newFake("a", nil, 1, 2, 3), newFake("b", errors.New("read b: disk on fire"), 1)}
		}, []string{"a@1", "b@1", "a@2", "a@3"}, 1, false},
		{"an interrupted member ends the merge", func() []Source {
			return []Source{newFake("a", nil, 1, 2, 3), newFake("b", fmt.Errorf("read stdin: %w", context.Canceled), 1)}
		}, []string{"a@1", "b@1"}, 0, true},
		{"no members", func() []Source { return nil }, nil, 0, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var warns []error
			m := Merge(tc.srcs(), func(err error) { warns = append(warns, err) })
			got, err := drain(t, m)
			if (err != nil) != tc.err {
				t.Fatalf("error %v, want error: %v", err, tc.err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("order %v, want %v", got, tc.want)
			}
			if len(warns) != tc.warns {
				t.Errorf("warnings %v, want %d", warns, tc.warns)
			}
			for _, w := range warns {
				if !errors.Is(w, ErrTruncated) && !strings.Contains(w.Error(), "disk on fire") {
					t.Errorf("warning %v is not the member's error", w)
				}
			}
		})
	}
}

func TestMergeProgressNameClose(t *testing.T) {
	a, b := newFake("a", nil, 1, 2), newFake("b", nil, 3)
	m := Merge([]Source{a, b}, func(error) {})
	if got := m.Name(); got != "a,b" {
		t.Errorf("Name %q, want a,b", got)
	}
	p, ok := m.(Progresser)
	if !ok {
		t.Fatal("merge is not a Progresser")
	}
	if done, total := p.Progress(); done != 0 || total != 3 {
		t.Errorf("Progress before = %d/%d, want 0/3", done, total)
	}
	drain(t, m)
	if done, total := p.Progress(); done != 3 || total != 3 {
		t.Errorf("Progress after = %d/%d, want 3/3", done, total)
	}
	m.Close()
	if !a.closed || !b.closed {
		t.Error("Close left a member open")
	}

	// A member that cannot tell its size makes the total unknown.
	var unknown struct{ Source }
	unknown.Source = newFake("u", nil)
	if _, total := Merge([]Source{a, unknown}, func(error) {}).(Progresser).Progress(); total != -1 {
		t.Errorf("total %d with an unsized member, want -1", total)
	}
}

// writeKPcap writes a pcap file in dir where frame k carries k as its 60 bytes and is
// stamped k seconds after the epoch, gzip-compressed when zip is set, and returns its path.
func writeKPcap(t *testing.T, dir, name string, zip bool, ks ...int) string {
	t.Helper()
	var buf bytes.Buffer
	w := pcapgo.NewWriter(&buf)
	w.WriteFileHeader(65535, layers.LinkTypeEthernet)
	for _, k := range ks {
		frame := bytes.Repeat([]byte{byte(k)}, 60)
		w.WritePacket(gopacket.CaptureInfo{Timestamp: time.Unix(int64(k), 0), CaptureLength: 60, Length: 60}, frame)
	}
	out := buf.Bytes()
	if zip {
		var z bytes.Buffer
		zw := gzip.NewWriter(&z)
		zw.Write(out)
		zw.Close()
		out = z.Bytes()
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// drainK reads m to its end and returns the k of each frame, checking that each frame holds
// its own bytes.
func drainK(t *testing.T, m Source) []int {
	t.Helper()
	var got []int
	var fr Frame
	for {
		err := m.Next(&fr)
		if err == io.EOF {
			return got
		}
		if err != nil {
			t.Fatal(err)
		}
		data := fr.Data
		if int64(data[0]) != fr.Time.Unix()%256 || data[59] != data[0] {
			t.Fatalf("frame stamped %d holds the bytes of frame %d", fr.Time.Unix(), data[0])
		}
		got = append(got, int(fr.Time.Unix()))
	}
}

// TestMergeFiles merges real pcap files, one of them gzip-compressed and one cut short, and
// checks the frames come out in time order with their own bytes, from open sources (Merge)
// and from names (OpenFiles, which opens them as the timeline reaches them).
func TestMergeFiles(t *testing.T) {
	dir := t.TempDir()
	a := writeKPcap(t, dir, "a.pcap", false, 1, 4, 7)
	b := writeKPcap(t, dir, "b.pcap", false, 2, 5, 8, 9)
	c := writeKPcap(t, dir, "c.pcap.gz", true, 3, 6)
	// Cut b in the middle of its last record.
	data, _ := os.ReadFile(b)
	os.WriteFile(b, data[:len(data)-10], 0o644)

	names := []string{c, b, a}
	open := map[string]func(warn func(error)) Source{
		"Merge": func(warn func(error)) Source {
			var srcs []Source
			for _, name := range names {
				s, err := Open(name)
				if err != nil {
					t.Fatal(err)
				}
				srcs = append(srcs, s)
			}
			return Merge(srcs, warn)
		},
		"OpenFiles": func(warn func(error)) Source {
			m, err := OpenFiles(context.Background(), names, warn)
			if err != nil {
				t.Fatal(err)
			}
			return m
		},
	}
	for name, open := range open {
		t.Run(name, func(t *testing.T) {
			var warns []error
			m := open(func(err error) { warns = append(warns, err) })
			defer m.Close()
			if got := drainK(t, m); fmt.Sprint(got) != "[1 2 3 4 5 6 7 8]" {
				t.Errorf("frames %v, want 1..8 (9 was cut off)", got)
			}
			if len(warns) != 1 || !errors.Is(warns[0], ErrTruncated) || !strings.Contains(warns[0].Error(), "b.pcap") {
				t.Errorf("warnings %v, want one naming b.pcap", warns)
			}
			if done, total := m.(Progresser).Progress(); done != total {
				t.Errorf("progress %d of %d at the end", done, total)
			}
		})
	}
}

// openFDs counts the process's open file descriptors, or skips the test without /proc.
func openFDs(t *testing.T) int {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("cannot count open files: %v", err)
	}
	return len(fds)
}

// TestOpenFilesRotatedSet reads a rotated set of 600 files given out of order, one of them
// corrupt in its middle and one that vanished after the start: the frames come out in time
// order, the corrupt file ends with a warning naming it and the count read, the others are
// read on, and no more than two files are ever open at once.
func TestOpenFilesRotatedSet(t *testing.T) {
	dir := t.TempDir()
	const files = 600
	var names []string
	for i := range files {
		k := 3 * i
		names = append(names, writeKPcap(t, dir, fmt.Sprintf("dump-%04d.pcap", i), i%2 == 1, k, k+1, k+2))
	}
	// File 100 gets a record of an impossible length after its first frame; file 200 is
	// removed once the set is open.
	data, _ := os.ReadFile(names[100])
	binary.LittleEndian.PutUint32(data[24+16+60+8:], maxSnaplen+1)
	os.WriteFile(names[100], data, 0o644)
	slices.Reverse(names)

	before := openFDs(t)
	var warns []error
	m, err := OpenFiles(context.Background(), names, func(err error) { warns = append(warns, err) })
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	os.Remove(filepath.Join(dir, "dump-0200.pcap"))
	var got []int
	most := 0
	var fr Frame
	for {
		err := m.Next(&fr)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, int(fr.Time.Unix()))
		most = max(most, openFDs(t)-before)
	}
	var want []int
	for k := range 3 * files {
		if i := k / 3; i == 200 || i == 100 && k%3 != 0 {
			continue
		}
		want = append(want, k)
	}
	if !slices.Equal(got, want) {
		t.Errorf("read %d frames out of order or missing some, want %d", len(got), len(want))
	}
	if most > 2 {
		t.Errorf("%d files open at once, want at most 2", most)
	}
	if len(warns) != 2 || !strings.Contains(fmt.Sprint(warns), "dump-0100.pcap: after 1 packets: capture length exceeds snap length") ||
		!strings.Contains(fmt.Sprint(warns), "dump-0200.pcap: no such file") {
		t.Errorf("warnings %v, want dump-0100.pcap after 1 packet and dump-0200.pcap gone", warns)
	}
}

// TestOpenFilesNotACapture checks that a file of the set that is not a capture is an error
// before anything is read, naming it, and that nothing is left open.
func TestOpenFilesNotACapture(t *testing.T) {
	dir := t.TempDir()
	a := writeKPcap(t, dir, "a.pcap", false, 1)
	txt := filepath.Join(dir, "notes.txt")
	os.WriteFile(txt, []byte("hello, world\n"), 0o644)
	before := openFDs(t)
	_, err := OpenFiles(context.Background(), []string{a, txt}, func(error) {})
	if err == nil || !strings.HasPrefix(err.Error(), "read "+txt+": text") {
		t.Errorf("err = %v, want one naming %s", err, txt)
	}
	if n := openFDs(t); n != before {
		t.Errorf("%d files left open", n-before)
	}
}
