package decode

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
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
		{"a member failing at once ends the merge", func() []Source {
			return []Source{newFake("a", nil, 1), newFake("b", errors.New("read b: disk on fire"))}
		}, nil, 0, true},
		{"a member failing later ends the merge", func() []Source {
			return []Source{newFake("a", nil, 1, 2, 3), newFake("b", errors.New("read b: disk on fire"), 1)}
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
				if !errors.Is(w, ErrTruncated) {
					t.Errorf("warning %v is not ErrTruncated", w)
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

// TestMergeFiles merges real pcap files, one of them gzip-compressed and one cut short, and
// checks the frames come out in time order with their own bytes.
func TestMergeFiles(t *testing.T) {
	dir := t.TempDir()
	// Frame k carries k as its single byte and is stamped k seconds after the epoch.
	write := func(name string, zip bool, ks ...int) string {
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
	a := write("a.pcap", false, 1, 4, 7)
	b := write("b.pcap", false, 2, 5, 8, 9)
	c := write("c.pcap.gz", true, 3, 6)
	// Cut b in the middle of its last record.
	data, _ := os.ReadFile(b)
	os.WriteFile(b, data[:len(data)-10], 0o644)

	var srcs []Source
	for _, name := range []string{c, b, a} {
		s, err := Open(name)
		if err != nil {
			t.Fatal(err)
		}
		srcs = append(srcs, s)
	}
	var warns []error
	m := Merge(srcs, func(err error) { warns = append(warns, err) })
	defer m.Close()
	var got []int
	var fr Frame
	for {
		err := m.Next(&fr)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		data := fr.Data
		if int64(data[0]) != fr.Time.Unix() || data[59] != data[0] {
			t.Fatalf("frame stamped %d holds the bytes of frame %d", fr.Time.Unix(), data[0])
		}
		got = append(got, int(data[0]))
	}
	if fmt.Sprint(got) != "[1 2 3 4 5 6 7 8]" {
		t.Errorf("frames %v, want 1..8 (9 was cut off)", got)
	}
	if len(warns) != 1 || !bytes.Contains([]byte(warns[0].Error()), []byte("b.pcap")) {
		t.Errorf("warnings %v, want one naming b.pcap", warns)
	}
}
