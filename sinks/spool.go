package sinks

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/ntpwatch/ntpwatch/internal/setting"
)

const (
	// maxSpoolLine bounds one record of the spool. An alert is a few kilobytes at most; a
	// longer line is damage, skipped as unreadable rather than read into memory.
	maxSpoolLine = 1 << 20
	// spoolReadBuffer is the buffer the spool is read through: the spool is read as a
	// stream, whatever its size.
	spoolReadBuffer = 64 << 10
)

// spool is the Kafka sink's write-ahead log: a file of JSON lines
// {"key":"<subject>","ts":"<alert time>","headers":{...},"value":<the formatted alert>} in the
// order the alerts were sent (ts and headers, the message's timestamp and headers, are absent
// from the lines of versions before them). Every
// alert of a run with a spool is appended to it before it is written to Kafka, and leaves it
// once the brokers have acknowledged it, so that whatever the brokers do (refuse, vanish,
// freeze) an alert is in the topic or in the file: none waits in memory only. When every
// record is delivered the file is emptied; what is left at the end of a run stays for the
// next one, which delivers it before anything new. Two ntpwatch processes must not share one.
//
// Threading: the sink's intake goroutine appends, its shipper reads and consumes; mu guards
// the offsets and counts they share. Reads (ReadAt) and appends do not move a shared file
// offset, so they need no lock of their own.
type spool struct {
	path string
	f    *os.File // open for reading and appending

	mu   sync.Mutex
	head int64  // offset of the first record not yet delivered
	end  int64  // offset past the last whole record
	old  uint64 // records before end left by earlier runs and not yet delivered
	cur  uint64 // records before end added by this run and not yet delivered

	// bad counts the lines that could not be read back when the spool was opened (a line cut
	// short by a crash): they are skipped and reported as lost.
	bad uint64

	rd *bufio.Reader // the shipper's reader, reused between reads
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

// openSpool opens the spool at path, creating it and its folder if need be, and counts the
// records earlier runs left. A spool that cannot be written is an error now: its alerts
// could not be removed once delivered, and every run would send them again. Lines that
// cannot be read back (a last line cut short by a crash) are counted in bad and removed, so
// that they are reported once and never swallow the record appended after them.
func openSpool(path string) (*spool, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, &setting.Error{Key: "kafka.spool", Err: err}
	}
	s := &spool{path: path, rd: bufio.NewReaderSize(nil, spoolReadBuffer)}
	if err := s.open(); err != nil {
		return nil, &setting.Error{Key: "kafka.spool", Err: err}
	}
	if err := s.recover(); err != nil {
		s.f.Close()
		return nil, setting.Errorf("kafka.spool", path, "%v", err)
	}
	return s, nil
}

func (s *spool) open() error {
	f, err := os.OpenFile(s.path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	s.f = f
	return nil
}

// recover counts the records and the unreadable lines, and rewrites the file without the
// latter.
func (s *spool) recover() error {
	fi, err := s.f.Stat()
	if err != nil {
		return err
	}
	s.end = fi.Size()
	if s.end > 0 {
		// A last line without its newline would run into the next append.
		var last [1]byte
		if _, err := s.f.ReadAt(last[:], s.end-1); err != nil {
			return err
		}
		if last[0] != '\n' {
			if _, err := s.f.Write([]byte{'\n'}); err != nil {
				return err
			}
			s.end++
		}
	}
	if s.old, s.bad, err = s.count(s.end); err != nil || s.bad == 0 {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(s.path), filepath.Base(s.path)+".*")
	if err != nil {
		return err
	}
	w := bufio.NewWriter(tmp)
	s.rd.Reset(io.NewSectionReader(s.f, 0, s.end))
	for off := int64(0); off < s.end && err == nil; {
		var line []byte
		var n int
		line, n, err = readLine(s.rd)
		off += int64(n)
		if _, ok := parseRecord(line); ok && err == nil {
			w.Write(line)
			err = w.WriteByte('\n')
		}
	}
	err = errors.Join(err, w.Flush(), tmp.Sync(), tmp.Close())
	if err == nil {
		err = os.Rename(tmp.Name(), s.path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("remove its %d unreadable lines: %w", s.bad, err)
	}
	s.f.Close()
	if err := s.open(); err != nil {
		return err
	}
	fi, err = s.f.Stat()
	if err != nil {
		return err
	}
	s.end = fi.Size()
	return nil
}

// pending tells whether records wait for delivery.
func (s *spool) pending() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.head < s.end
}

// append adds msgs at the end of the file in one write. A write that fails part way is cut
// off again, so that a half record never precedes the next append.
func (s *spool) append(msgs []message) error {
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
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.f.Write(buf); err != nil {
		if terr := s.f.Truncate(s.end); terr != nil {
			err = errors.Join(err, terr)
		}
		return fmt.Errorf("write %s: %w", s.path, err)
	}
	s.end += int64(len(buf))
	s.cur += uint64(len(msgs))
	return nil
}

// next reads up to max records from the first one not delivered. ends[i] is the offset past
// msgs[i], for consume. Unreadable lines before the first record are skipped for good; one
// after it ends the batch, to be skipped by the next call once the batch is delivered.
func (s *spool) next(max int) (msgs []message, ends []int64, err error) {
	s.mu.Lock()
	off, end := s.head, s.end
	s.mu.Unlock()
	s.rd.Reset(io.NewSectionReader(s.f, off, end-off))
	for off < end && len(msgs) < max {
		line, n, err := readLine(s.rd)
		if err != nil {
			return msgs, ends, fmt.Errorf("read %s: %w", s.path, err)
		}
		m, ok := parseRecord(line)
		if !ok && len(msgs) > 0 {
			break
		}
		off += int64(n)
		if !ok {
			if err := s.skipTo(off); err != nil {
				return nil, nil, err
			}
			continue
		}
		msgs = append(msgs, m)
		ends = append(ends, off)
	}
	return msgs, ends, nil
}

// count counts the records and the unreadable lines of the first size bytes.
func (s *spool) count(size int64) (records, bad uint64, err error) {
	s.rd.Reset(io.NewSectionReader(s.f, 0, size))
	for off := int64(0); off < size; {
		line, n, err := readLine(s.rd)
		if err != nil {
			return records, bad, err
		}
		off += int64(n)
		if _, ok := parseRecord(line); ok {
			records++
		} else if line == nil || len(bytes.TrimSpace(line)) > 0 {
			bad++
		}
	}
	return records, bad, nil
}

// readLine reads one line and returns a copy of it without its newline, and the bytes it
// took. A line longer than maxSpoolLine is read past and returned as nil. The end of the data
// ends the last line, which a crash may have cut short.
func readLine(r *bufio.Reader) (line []byte, n int, err error) {
	long := false
	for {
		chunk, err := r.ReadSlice('\n')
		n += len(chunk)
		if err == nil {
			chunk = chunk[:len(chunk)-1]
		}
		if n > maxSpoolLine+1 {
			long, line = true, nil
		} else {
			line = append(line, chunk...)
		}
		switch {
		case err == nil || err == io.EOF && n > 0:
			if long {
				return nil, n, nil
			}
			if line == nil {
				line = []byte{}
			}
			return line, n, nil
		case errors.Is(err, bufio.ErrBufferFull):
		case err == io.EOF:
			return nil, n, io.ErrUnexpectedEOF
		default:
			return nil, n, err
		}
	}
}

// parseRecord reads one record; ok is false for a line that is not one.
func parseRecord(line []byte) (m message, ok bool) {
	var r spoolRecord
	if line == nil || json.Unmarshal(line, &r) != nil || len(r.Value) == 0 {
		return message{}, false
	}
	h := r.Headers
	m = message{value: r.Value, meta: messageMeta{schema: h.Schema, kind: h.Kind, state: h.State, severity: h.Severity, ts: r.TS}}
	if r.Key != nil {
		m.key = []byte(*r.Key)
	}
	return m, true
}

// consume marks the first n records of the last next as delivered (ends are next's) and
// returns how many of them came from earlier runs and how many from this one. When nothing
// is left to deliver the file is emptied; failing that is an error, for the delivered
// alerts would be sent again by the next run.
func (s *spool) consume(n int, ends []int64) (old, cur uint64, err error) {
	if n == 0 {
		return 0, 0, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old = min(uint64(n), s.old)
	cur = uint64(n) - old
	s.old -= old
	s.cur -= cur
	return old, cur, s.advance(ends[n-1])
}

// skipTo moves the first record to deliver past unreadable lines.
func (s *spool) skipTo(off int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.advance(off)
}

// advance moves the first record to deliver to off, and empties the file when that is its
// end. s.mu is held.
func (s *spool) advance(off int64) error {
	s.head = off
	if s.head < s.end {
		return nil
	}
	if err := s.f.Truncate(0); err != nil {
		return fmt.Errorf("empty %s after delivery: %w", s.path, err)
	}
	s.head, s.end = 0, 0
	return nil
}

// sync makes what the file holds survive a crash of the system.
func (s *spool) sync() error {
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", s.path, err)
	}
	return nil
}

// finish ends the run's use of the spool: an empty spool is removed; one whose first records
// were delivered is rewritten without them (into a new file renamed over the old, so a crash
// leaves one or the other whole); the rest is synced. Every failure is an error: delivered
// alerts left in the file would be sent again by the next run. The shipper must be done.
func (s *spool) finish() error {
	s.mu.Lock()
	head, end := s.head, s.end
	s.mu.Unlock()
	var err error
	switch {
	case head == end:
		err = errors.Join(s.f.Close(), os.Remove(s.path))
		if errors.Is(err, os.ErrNotExist) {
			err = nil
		}
	case head > 0:
		err = s.compact(head, end)
	default:
		err = errors.Join(s.sync(), s.f.Close())
	}
	if err != nil {
		return setting.Errorf("kafka.spool", s.path, "%v (its delivered alerts would be sent again)", err)
	}
	return nil
}

// compact rewrites the spool without its first head bytes, which were delivered.
func (s *spool) compact(head, end int64) error {
	defer s.f.Close()
	tmp, err := os.CreateTemp(filepath.Dir(s.path), filepath.Base(s.path)+".*")
	if err != nil {
		return err
	}
	_, err = io.Copy(tmp, io.NewSectionReader(s.f, head, end-head))
	err = errors.Join(err, tmp.Sync(), tmp.Close())
	if err == nil {
		err = os.Rename(tmp.Name(), s.path)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}
