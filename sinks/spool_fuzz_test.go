package sinks

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzSpoolLoad feeds arbitrary files to the spool reader, which reads what a crashed run may
// have left: it must not panic, and what it reads must write back and read again unchanged.
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
		s := &spool{path: path}
		msgs, err := s.load()
		if err != nil {
			return
		}
		again := &spool{path: filepath.Join(dir, "again")}
		if err := again.append(msgs); err != nil {
			t.Fatal(err)
		}
		again.closeFile()
		back, err := again.load()
		if err != nil {
			t.Fatal(err)
		}
		if len(back) != len(msgs) || again.bad != 0 {
			t.Fatalf("%d records read back of %d written, %d bad", len(back), len(msgs), again.bad)
		}
		for i := range msgs {
			if !bytes.Equal(back[i].key, msgs[i].key) || (back[i].key == nil) != (msgs[i].key == nil) {
				t.Fatalf("record %d: key %q, want %q", i, back[i].key, msgs[i].key)
			}
		}
	})
}
