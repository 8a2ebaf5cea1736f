package sinks

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzSpoolLoad feeds arbitrary files to the spool reader, which reads what a crashed run may
// have left: it must not panic, open must count every record that the shipper then reads, and
// what it reads must write back and read again unchanged.
func FuzzSpoolLoad(f *testing.F) {
	f.Add([]byte(`{"key":"198.51.100.10","value":{"schema":"ntpwatch.alert/v1"}}` + "\n"))
	f.Add([]byte(`{"key":null,"value":{}}` + "\n" + `{"key":"a","val`))
	f.Add([]byte("\n\n{}\n[1,2]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		path := filepath.Join(dir, "spool")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		s, err := openSpool(path)
		if err != nil {
			t.Fatal(err)
		}
		defer s.f.Close()
		counted := s.old
		msgs := readAll(t, s)
		if uint64(len(msgs)) != counted {
			t.Fatalf("open counted %d records, the shipper read %d", counted, len(msgs))
		}
		again, err := openSpool(filepath.Join(dir, "again"))
		if err != nil {
			t.Fatal(err)
		}
		defer again.f.Close()
		if err := again.append(msgs); err != nil {
			t.Fatal(err)
		}
		back := readAll(t, again)
		if len(back) != len(msgs) {
			t.Fatalf("%d records read back of %d written", len(back), len(msgs))
		}
		for i := range msgs {
			if !bytes.Equal(back[i].key, msgs[i].key) || (back[i].key == nil) != (msgs[i].key == nil) {
				t.Fatalf("record %d: key %q, want %q", i, back[i].key, msgs[i].key)
			}
		}
	})
}

// readAll reads and consumes every record of s as the shipper does.
func readAll(t *testing.T, s *spool) []message {
	t.Helper()
	var all []message
	for {
		msgs, ends, err := s.next(maxKafkaBatch)
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) == 0 {
			if s.pending() {
				t.Fatal("records pending, none read")
			}
			return all
		}
		if _, _, err := s.consume(len(msgs), ends); err != nil {
			t.Fatal(err)
		}
		all = append(all, msgs...)
	}
}
