package sinks

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
)

// TestStdoutSharedLinesWhole sends alerts through the stdout sink and, at the same time, a
// stream of long lines through a LineWriter under a small bufio.Writer, whose flushes cut
// lines anywhere, as the NTP log's does: every line on stdout must be whole, and all of them
// there. The stdout is a pipe, read as a shell pipeline reads it.
func TestStdoutSharedLinesWhole(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan []byte)
	go func() {
		var b bytes.Buffer
		b.ReadFrom(r)
		got <- b.Bytes()
	}()
	stdout := NewStdout(w)
	o, err := Open(context.Background(), Config{}, stdout)
	if err != nil {
		t.Fatal(err)
	}
	const logLines, rounds = 3000, 50
	done := make(chan error)
	go func() {
		lw := stdout.Lines()
		bw := bufio.NewWriterSize(lw, 1000)
		for i := range logLines {
			fmt.Fprintf(bw, `{"log":%d,"pad":"%s"}`+"\n", i, strings.Repeat("x", i%300))
		}
		err := bw.Flush()
		if cerr := lw.Close(); err == nil {
			err = cerr
		}
		done <- err
	}()
	for range rounds {
		sendAll(o)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	rep := o.Close(closeCtx(t))
	w.Close()
	out := <-got
	alerts, logs := 0, 0
	for i, line := range bytes.Split(bytes.TrimSuffix(out, []byte("\n")), []byte("\n")) {
		var v map[string]any
		if err := json.Unmarshal(line, &v); err != nil {
			t.Fatalf("line %d is not whole: %v: %.200s", i+1, err, line)
		}
		if _, ok := v["log"]; ok {
			logs++
		} else {
			alerts++
		}
	}
	if want := rounds * len(sampleAlerts()); alerts != want || logs != logLines || rep.Delivered != uint64(want) {
		t.Errorf("%d alerts and %d log lines on stdout, %d delivered; want %d and %d", alerts, logs, rep.Delivered, want, logLines)
	}
}

// TestLineWriterTail checks that a line without its newline waits, and that Close writes it.
func TestLineWriterTail(t *testing.T) {
	var b bytes.Buffer
	lw := NewStdout(&b).Lines()
	lw.Write([]byte("one\ntw"))
	if b.String() != "one\n" {
		t.Errorf("after a partial line: %q", b.String())
	}
	lw.Write([]byte("o\nthr"))
	lw.Write([]byte("ee"))
	if b.String() != "one\ntwo\n" {
		t.Errorf("after the second line: %q", b.String())
	}
	lw.Close()
	if b.String() != "one\ntwo\nthree" {
		t.Errorf("after Close: %q", b.String())
	}
}

// TestFileSinkDash checks that --out - writes to stdout, and that it may not double the
// stdout sink.
func TestFileSinkDash(t *testing.T) {
	var out lockedBuffer
	o, err := Open(context.Background(), Config{Sinks: []string{SinkFile}, File: "-"}, &out)
	if err != nil {
		t.Fatal(err)
	}
	sendAll(o)
	if r := o.Close(closeCtx(t)); r.Failed() || !bytes.Equal(out.Bytes(), formatAll(AppendJSON)) {
		t.Errorf("file sink on -: report %+v, stdout:\n%s", r, out.Bytes())
	}
	if _, err := os.Stat("-"); err == nil {
		t.Error("a file named - was created")
	}
	_, err = Open(context.Background(), Config{Sinks: []string{SinkStdout, SinkFile}, File: "/dev/stdout"}, &out)
	if err == nil || !strings.Contains(err.Error(), "stdout sink") {
		t.Errorf("stdout and file on /dev/stdout: %v, want an error", err)
	}
}
