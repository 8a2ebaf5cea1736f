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

// TestPcapCapturedAboveWire reads a record whose captured length (100) exceeds its original
// length (60), a writer's bug: tshark 4 reads such a record (frame.len 60, frame.cap_len
// 100) and tcpdump prints "[Invalid header: len(60) < caplen(100)]" and reads on. Both records
// are read, their wire length at least their captured bytes.
func TestPcapCapturedAboveWire(t *testing.T) {
	var buf bytes.Buffer
	w := pcapgo.NewWriter(&buf)
	w.WriteFileHeader(65535, layers.LinkTypeEthernet)
	for range 2 {
		rec := make([]byte, 16)
		binary.LittleEndian.PutUint32(rec[8:], 100)
		binary.LittleEndian.PutUint32(rec[12:], 60)
		buf.Write(rec)
		buf.Write(make([]byte, 100))
	}
	for _, data := range [][]byte{buf.Bytes(), pcapngCapAboveWire(t)} {
		src, err := openReader("x", bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		var n int
		var fr Frame
		for ; src.Next(&fr) == nil; n++ {
			if len(fr.Data) != 100 || fr.WireLen != 100 {
				t.Errorf("frame of %d bytes, wire length %d, want 100 and 100", len(fr.Data), fr.WireLen)
			}
		}
		if n != 2 {
			t.Errorf("read %d frames, want 2", n)
		}
	}
}

// ngFile builds a little-endian pcapng file block by block, from its section header on.
type ngFile []byte

func newNgFile() *ngFile {
	le := binary.LittleEndian
	shb := le.AppendUint32(nil, ngByteOrderMagic)
	shb = le.AppendUint16(le.AppendUint16(shb, 1), 0) // version 1.0
	var f ngFile
	f.block(ngSectionHeader, le.AppendUint64(shb, ^uint64(0))) // section length unknown
	return &f
}

// block appends a block of type typ around body.
func (f *ngFile) block(typ uint32, body []byte) {
	le := binary.LittleEndian
	*f = le.AppendUint32(*f, typ)
	*f = le.AppendUint32(*f, uint32(12+len(body)))
	*f = append(*f, body...)
	*f = le.AppendUint32(*f, uint32(12+len(body)))
}

// iface appends an interface description block of Ethernet frames.
func (f *ngFile) iface() {
	f.block(ngInterface, binary.LittleEndian.AppendUint32([]byte{1, 0, 0, 0}, 0))
}

// pcapngCapAboveWire is a pcapng file of two enhanced packet blocks claiming 100 bytes
// captured of a 60-byte frame.
func pcapngCapAboveWire(t *testing.T) []byte {
	t.Helper()
	le := binary.LittleEndian
	f := newNgFile()
	f.iface()
	for range 2 {
		epb := le.AppendUint32(nil, 0) // interface 0
		epb = le.AppendUint64(epb, 0)  // timestamp
		epb = le.AppendUint32(le.AppendUint32(epb, 100), 60)
		f.block(ngEnhancedPacket, append(epb, make([]byte, 100)...))
	}
	return *f
}

// TestPcapRecordTooLong: a record longer than maxSnaplen is an error naming both lengths,
// never an allocation of its claimed size.
func TestPcapRecordTooLong(t *testing.T) {
	for _, tt := range []struct {
		incl, orig uint32
		want       string
	}{
		{maxSnaplen + 1, maxSnaplen + 1, "exceeds snap length"},
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

// TestPcapngInterfaceCap: a section declaring more interfaces than ngMaxInterfaces is an
// error naming the cap, read after the interfaces it allowed, never a table of the size the
// file asks for (20 million interface blocks fit in a 1 MB gzip).
func TestPcapngInterfaceCap(t *testing.T) {
	f := newNgFile()
	for range ngMaxInterfaces + 1 {
		f.iface()
	}
	src, err := openReader("many.pcapng", bytes.NewReader(*f))
	if err != nil {
		t.Fatal(err)
	}
	err = src.Next(new(Frame))
	if err == nil || !strings.Contains(err.Error(), "many.pcapng: after 0 packets: pcapng section with more than 65536 interfaces") {
		t.Errorf("err = %v, want the cap named", err)
	}
}

// TestPcapChunks reads a capture of several chunks, records of every size straddling their
// boundaries, through each way a file is read: read ahead (a regular file), as it comes (a
// reader of unknown size, as stdin), gzip-compressed and cut short. Every frame must be the
// one pcapgo reads, and a cut anywhere a truncation after the frames before it.
func TestPcapChunks(t *testing.T) {
	var buf bytes.Buffer
	w := pcapgo.NewWriter(&buf)
	if err := w.WriteFileHeader(maxSnaplen, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	sizes := []int{60, 1514, 7, 0, 482, 9000, 1, 65535, 90}
	t0 := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	var ends []int // where each record ends in the file
	for i := 0; buf.Len() < 3*chunkSize+100_000; i++ {
		n := sizes[i%len(sizes)]
		if i == 40 {
			n = maxSnaplen // larger than a chunk's share of the buffer
		}
		data := bytes.Repeat([]byte{byte(i)}, n)
		ci := gopacket.CaptureInfo{Timestamp: t0.Add(time.Duration(i) * time.Microsecond), CaptureLength: n, Length: n}
		if err := w.WritePacket(ci, data); err != nil {
			t.Fatal(err)
		}
		ends = append(ends, buf.Len())
	}
	file := buf.Bytes()
	check := func(name string, src Source, frames int, wantErr error) {
		t.Helper()
		defer src.Close()
		var fr Frame
		for i := range frames {
			if err := src.Next(&fr); err != nil {
				t.Fatalf("%s: frame %d: %v", name, i, err)
			}
			n := sizes[i%len(sizes)]
			if i == 40 {
				n = maxSnaplen
			}
			if len(fr.Data) != n || bytes.Count(fr.Data, []byte{byte(i)}) != n || !fr.Time.Equal(t0.Add(time.Duration(i)*time.Microsecond)) {
				t.Fatalf("%s: frame %d: %d bytes at %v, not its own", name, i, len(fr.Data), fr.Time)
			}
		}
		if err := src.Next(&fr); !errors.Is(err, wantErr) {
			t.Errorf("%s: after %d frames: %v, want %v", name, frames, err, wantErr)
		}
	}
	open := func(name string, data []byte, sized bool) Source {
		t.Helper()
		var src Source
		var err error
		if sized {
			src, err = Open(testutil.WriteTemp(t, name, data))
		} else {
			src, err = openReader(name, bytes.NewReader(data))
		}
		if err != nil {
			t.Fatal(err)
		}
		return src
	}
	for _, sized := range []bool{true, false} {
		check("whole", open("whole.pcap", file, sized), len(ends), io.EOF)
		check("gzip", open("whole.pcap.gz", testutil.Gzip(file), sized), len(ends), io.EOF)
		for _, k := range []int{1, 40, len(ends) / 2, len(ends) - 1} {
			for _, in := range []int{1, 16} {
				cut := ends[k-1] + in // inside record k's header or data
				check("cut", open("cut.pcap", file[:cut], sized), k, ErrTruncated)
			}
		}
	}
}
