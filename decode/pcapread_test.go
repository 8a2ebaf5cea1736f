package decode

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
	"github.com/ntpwatch/ntpwatch/internal/testutil"
)

// TestPcapRecordsInPlace reads records of every size class through a file source: small ones
// handed out in place in the read buffer, one of the largest accepted length (maxSnaplen,
// more than the buffer holds, so copied), and small ones after it. Each frame's bytes must
// be its own even though the next read reuses the buffer; a cut inside the large record is a
// truncation after the records before it.
func TestPcapRecordsInPlace(t *testing.T) {
	sizes := []int{60, 1514, maxSnaplen, 90, readBufferSize - 16, 60}
	var buf bytes.Buffer
	w := pcapgo.NewWriterNanos(&buf)
	if err := w.WriteFileHeader(maxSnaplen, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2024, 3, 1, 12, 0, 0, 123456789, time.UTC)
	for i, n := range sizes {
		data := bytes.Repeat([]byte{byte(i + 1)}, n)
		ci := gopacket.CaptureInfo{Timestamp: t0.Add(time.Duration(i) * time.Second), CaptureLength: n, Length: n + 4}
		if err := w.WritePacket(ci, data); err != nil {
			t.Fatal(err)
		}
	}
	file := buf.Bytes()
	src, err := Open(testutil.WriteTemp(t, "sizes.pcap", file))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var fr Frame
	for i, n := range sizes {
		err := src.Next(&fr)
		data := fr.Data
		if err != nil {
			t.Fatalf("frame %d: %v", i+1, err)
		}
		if len(data) != n || bytes.Count(data, []byte{byte(i + 1)}) != n {
			t.Errorf("frame %d: %d bytes, not its own %d", i+1, len(data), n)
		}
		if want := t0.Add(time.Duration(i) * time.Second); !fr.Time.Equal(want) || fr.Time.Location() != time.UTC || fr.WireLen != n+4 {
			t.Errorf("frame %d: %v, length %d", i+1, fr.Time, fr.WireLen)
		}
	}
	if err := src.Next(&fr); err != io.EOF {
		t.Errorf("after the last frame: %v, want io.EOF", err)
	}

	// Cut in the middle of the large record: two frames, then a truncation.
	cut := file[:24+2*16+60+1514+16+1000]
	src, err = Open(testutil.WriteTemp(t, "cut.pcap", cut))
	if err != nil {
		t.Fatal(err)
	}
	r := readAll(t, src)
	if len(r.kinds) != 2 || !errors.Is(r.err, ErrTruncated) || !strings.Contains(r.err.Error(), "after 2 packets") {
		t.Errorf("cut file: %d frames, error %v", len(r.kinds), r.err)
	}
}

// TestPcapRecordTooLong: a record longer than maxSnaplen, or than its original length, is
// an error naming both lengths, never an allocation of its claimed size.
func TestPcapRecordTooLong(t *testing.T) {
	for _, tt := range []struct {
		incl, orig uint32
		want       string
	}{
		{maxSnaplen + 1, maxSnaplen + 1, "exceeds snap length"},
		{100, 60, "exceeds original packet length"},
	} {
		var buf bytes.Buffer
		w := pcapgo.NewWriter(&buf)
		w.WriteFileHeader(65535, layers.LinkTypeEthernet)
		rec := make([]byte, 16)
		binary.LittleEndian.PutUint32(rec[8:], tt.incl)
		binary.LittleEndian.PutUint32(rec[12:], tt.orig)
		buf.Write(rec)
		buf.Write(make([]byte, 100))
		src, err := Open(testutil.WriteTemp(t, "long.pcap", buf.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		err = src.Next(new(Frame))
		src.Close()
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "long.pcap") {
			t.Errorf("incl %d orig %d: %v", tt.incl, tt.orig, err)
		}
	}
}
