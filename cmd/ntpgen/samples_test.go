package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestSamplesUpToDate checks that every capture in pcaps/ is exactly what the generator
// writes today, so the goldens describe the code's own scenarios (`make pcaps` rewrites them).
func TestSamplesUpToDate(t *testing.T) {
	for i := range scenarios {
		s := &scenarios[i]
		t.Run(s.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), s.name+".pcap")
			if err := generate(s, 1).write(output{Path: path, Snaplen: s.snaplen}); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(filepath.Join("..", "..", "pcaps", s.name+".pcap"))
			if err != nil {
				t.Fatalf("%v: run make pcaps", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("pcaps/%s.pcap differs from what ntpgen writes now: run make pcaps and review the goldens", s.name)
			}
		})
	}
}

// TestDeterministic checks that a seed gives the same bytes twice and another seed others.
func TestDeterministic(t *testing.T) {
	s, err := findScenario("reflection")
	if err != nil {
		t.Fatal(err)
	}
	write := func(seed uint64) []byte {
		p := filepath.Join(t.TempDir(), "x.pcap")
		if err := generate(s, seed).write(output{Path: p}); err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(p)
		return b
	}
	if a, b := write(7), write(7); !bytes.Equal(a, b) {
		t.Error("the same seed wrote different captures")
	}
	if a, b := write(7), write(8); bytes.Equal(a, b) {
		t.Error("different seeds wrote the same capture")
	}
}
