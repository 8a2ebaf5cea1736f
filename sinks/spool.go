package sinks

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/ntpwatch/ntpwatch/internal/setting"
)

// spool keeps the alerts Kafka did not take, in a file of JSON lines
// {"key":"<subject>","ts":"<alert time>","headers":{...},"value":<the formatted alert>} in the
// order they were sent (ts and headers, the message's timestamp and headers, are absent from
// the lines of versions before them), so that the
// next attempt, in this run or the next, delivers them first and in order. The file stays in
// place between runs; two ntpwatch processes must not share one.
type spool struct {
	path string
	f    *os.File // open for appending while records of this run are added; nil otherwise
	old  uint64   // records in the file left by earlier runs
	cur  uint64   // records in the file added by this run
	// bad counts lines that could not be read back (a line cut short by a crash): they are
	// skipped and reported as lost.
	bad uint64
}

type spoolRecord struct {
	Key     *string         `json:"key"`
	TS      time.Time       `json:"ts"`
	Headers spoolHeaders    `json:"headers"`
	Value   json.RawMessage `json:"value"`
}

type spoolHeaders struct {
	Schema   string `json:"schema"`
	Kind     string `json:"kind"`
	State    string `json:"state"`
	Severity string `json:"severity"`
}

// open counts the records an earlier run left.
func (s *spool) open() error {
	msgs, err := s.load()
	if err != nil {
		return err
	}
	s.old = uint64(len(msgs))
	return nil
}

func (s *spool) pending() bool { return s != nil && s.old+s.cur > 0 }

// append adds msgs at the end of the file and syncs it: once append returns nil, the alerts
// survive a crash.
func (s *spool) append(msgs []message) error {
	if s.f == nil {
		if err := os.MkdirAll(filepath.Dir(s.path), 0o700); err != nil {
			return &setting.Error{Key: "kafka.spool", Err: err}
		}
		f, err := os.OpenFile(s.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			return &setting.Error{Key: "kafka.spool", Err: err}
		}
		s.f = f
	}
	var buf []byte
	for _, m := range msgs {
		buf = append(buf, `{"key":`...)
		if m.key == nil {
			buf = append(buf, "null"...)
		} else {
			buf = appendString(buf, string(m.key))
		}
		if !m.meta.ts.IsZero() {
			buf = append(buf, `,"ts":`...)
			buf = appendTime(buf, m.meta.ts)
		}
		buf = append(buf, `,"headers":{"schema":`...)
		buf = appendString(buf, m.meta.schema)
		buf = append(buf, `,"kind":`...)
		buf = appendString(buf, m.meta.kind)
		buf = append(buf, `,"state":`...)
		buf = appendString(buf, m.meta.state)
		buf = append(buf, `,"severity":`...)
		buf = appendString(buf, m.meta.severity)
		buf = append(buf, `},"value":`...)
		buf = append(buf, m.value...)
		buf = append(buf, "}\n"...)
	}
	if _, err := s.f.Write(buf); err != nil {
		return fmt.Errorf("write %s: %w", s.path, err)
	}
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", s.path, err)
	}
	s.cur += uint64(len(msgs))
	return nil
}

// load reads every record of the file; a missing file is an empty spool.
func (s *spool) load() ([]message, error) {
	data, err := os.ReadFile(s.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, &setting.Error{Key: "kafka.spool", Err: err}
	}
	var msgs []message
	s.bad = 0
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, len(data)+1)
	for sc.Scan() {
		line := sc.Bytes()
		var r spoolRecord
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if err := json.Unmarshal(line, &r); err != nil || len(r.Value) == 0 {
			s.bad++
			continue
		}
		h := r.Headers
		m := message{value: r.Value, meta: messageMeta{schema: h.Schema, kind: h.Kind, state: h.State, severity: h.Severity, ts: r.TS}}
		if r.Key != nil {
			m.key = []byte(*r.Key)
		}
		msgs = append(msgs, m)
	}
	return msgs, nil
}

// consume removes the first n records, which were delivered, and returns how many of them
// came from earlier runs and how many from this one. The rest is written to a new file renamed
// over the old one, so a crash leaves either the old spool or the new one, never half of each.
func (s *spool) consume(n int) (old, cur uint64, err error) {
	if n == 0 {
		return 0, 0, nil
	}
	old = min(uint64(n), s.old)
	cur = uint64(n) - old
	msgs, err := s.load()
	if err != nil {
		return 0, 0, err
	}
	s.closeFile()
	if n >= len(msgs) {
		s.old, s.cur = 0, 0
		if err := os.Remove(s.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return old, cur, &setting.Error{Key: "kafka.spool", Err: err}
		}
		return old, cur, nil
	}
	tmp, err := os.CreateTemp(filepath.Dir(s.path), filepath.Base(s.path)+".*")
	if err != nil {
		return 0, 0, &setting.Error{Key: "kafka.spool", Err: err}
	}
	rest := &spool{path: tmp.Name(), f: tmp}
	err = rest.append(msgs[n:])
	err = errors.Join(err, tmp.Close())
	if err == nil {
		err = os.Rename(tmp.Name(), s.path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return 0, 0, &setting.Error{Key: "kafka.spool", Value: s.path, Err: err}
	}
	s.old -= old
	s.cur -= cur
	return old, cur, nil
}

func (s *spool) closeFile() error {
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f = nil
	return err
}

func (s *spool) close() error {
	if err := s.closeFile(); err != nil {
		return fmt.Errorf("close %s: %w", s.path, err)
	}
	return nil
}
