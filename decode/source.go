package decode

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/gopacket/pcapgo"
)

// Frame is one captured frame as a Source hands it over.
type Frame struct {
	// Data holds the captured bytes. It is only valid until the source's next Next call
	// (zero-copy).
	Data []byte
	// Time is the capture timestamp.
	Time time.Time
	// WireLen is the frame's length on the wire; at least len(Data).
	WireLen int
	// Link is the link-layer header type of Data.
	Link LinkType
	// Weight is the real frames this one stands for: 1 for a tap or a capture file, the
	// sampling rate for a sampled frame. Sources leave 0 for 1.
	Weight uint32
}

// Source yields captured frames one at a time. A Source belongs to one goroutine.
type Source interface {
	// Next fills f with the next frame; f.Data is only valid until the next call
	// (zero-copy). At the end it returns io.EOF. A file cut in the middle of a record returns
	// an error matching errors.Is(err, ErrTruncated) whose message names the file and the
	// count of packets read; the caller warns and goes on.
	Next(f *Frame) error
	// Name is the file name, "-" shown as "stdin", or the interface.
	Name() string
	Close() error
}

// PacketSource yields observations rather than frames: a sampled-flow collector, whose
// sampled headers (sFlow, IPFIX packet samples) are frames it decodes with the Decoder it is
// given, and whose flow records (NetFlow v9, IPFIX), which count packets and bytes without
// carrying them, it turns into Packets itself, counted with Decoder.Record. It ends and fails
// as a Source does: io.EOF at the end, an error matching ErrTruncated for a capture cut
// short, ErrTimeout from a live one when nothing came within its timeout. A PacketSource
// belongs to one goroutine.
type PacketSource interface {
	// NextPacket fills p with the next observation and returns p.Kind. p holds values only:
	// nothing of it refers to the source's buffers.
	NextPacket(d *Decoder, p *Packet) (Kind, error)
	// Name is the file or the address listened on.
	Name() string
	Close() error
}

// Progresser is implemented by sources that know how far they are, for a progress bar.
type Progresser interface {
	// Progress returns the bytes of the underlying file consumed so far and its size; total is
	// -1 when unknown (stdin, pipes).
	Progress() (done, total int64)
}

// ErrTruncated is matched (errors.Is) by the error of a capture file that ends in the middle of
// a record. Everything before it was read.
var ErrTruncated = errors.New("capture cut short in the middle of a record")

// readBufferSize is the read buffer of a file source: large enough that reads from the file
// cost little against decoding.
const readBufferSize = 256 << 10

// readBuffers recycles the read buffers of closed file sources: a set of thousands of files,
// each opened to look at its first frame and later again to be read, would otherwise leave
// a quarter of a megabyte of garbage per open.
var readBuffers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, readBufferSize) }}

// maxSnaplen is the largest record the classic pcap reader accepts: libpcap's
// MAXIMUM_SNAPLEN. It keeps a corrupt record length from allocating gigabytes.
const maxSnaplen = 262144

// fileSource reads a classic pcap or pcapng file, plain or gzip-compressed.
type fileSource struct {
	name    string
	ctx     context.Context
	file    *os.File // nil for stdin, which Close leaves open
	counter *countingReader
	size    int64
	bufs    []*bufio.Reader // from readBuffers, returned by Close
	pcap    *pcapReader
	ng      *ngReader
	link    LinkType
	packets int64
	// stopInterrupt ends the watch of ctx over reads of stdin; nil for files, whose reads
	// do not wait on anyone.
	stopInterrupt func() bool
}

// Open opens a capture file: classic pcap (micro- or nanosecond timestamps, either byte
// order) or pcapng (several interfaces with different link types), optionally
// gzip-compressed (told by its magic bytes, not its name), or "-" for stdin. Errors read
// "read NAME: ..." on one line and say what the file is when it is not a capture.
func Open(name string) (Source, error) {
	return OpenContext(context.Background(), name)
}

// OpenContext is Open, with ctx interrupting a read of stdin that waits on a quiet pipe:
// Open and Next then return an error matching ctx.Err() (errors.Is), so that a signal ends
// `tcpdump ... | ntpwatch read -` at once rather than when the writer next writes or closes.
func OpenContext(ctx context.Context, name string) (Source, error) {
	if name == "-" {
		in, stop := interruptible(ctx, os.Stdin)
		return newFileSource(ctx, "stdin", in, nil, -1, stop)
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, unwrapPath(err))
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("read %s: %w", name, unwrapPath(err))
	}
	if fi.IsDir() {
		f.Close()
		return nil, fmt.Errorf("read %s: is a directory", name)
	}
	size := int64(-1)
	if fi.Mode().IsRegular() {
		size = fi.Size()
	}
	return newFileSource(ctx, name, f, f, size, nil)
}

// openReader reads the capture held in r, named name in errors: the in-memory path of the
// fuzz target, which would spend its time on temporary files otherwise.
func openReader(name string, r io.Reader) (Source, error) {
	return newFileSource(context.Background(), name, r, nil, -1, nil)
}

// newFileSource reads the capture in r, named name in errors. file, when not nil, is closed
// by Close. size is r's length, -1 when unknown.
func newFileSource(ctx context.Context, name string, r io.Reader, file *os.File, size int64, stop func() bool) (*fileSource, error) {
	s := &fileSource{name: name, ctx: ctx, file: file, size: size, counter: &countingReader{r: r}, stopInterrupt: stop}
	if err := s.openFormat(); err != nil {
		s.Close()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("read %s: %w", s.name, ctx.Err())
		}
		return nil, fmt.Errorf("read %s: %w", s.name, err)
	}
	return s, nil
}

// buffer returns a recycled read buffer reading r.
func (s *fileSource) buffer(r io.Reader) *bufio.Reader {
	br := readBuffers.Get().(*bufio.Reader)
	br.Reset(r)
	s.bufs = append(s.bufs, br)
	return br
}

// openFormat sniffs the first bytes, unwraps gzip and starts the right reader.
func (s *fileSource) openFormat() error {
	br := s.buffer(s.counter)
	head, err := peekHead(br)
	if err != nil {
		return unwrapPath(err)
	}
	compressed := false
	if len(head) >= 2 && head[0] == 0x1f && head[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return fmt.Errorf("gzip: %w", err)
		}
		compressed = true
		br = s.buffer(zr)
		if head, err = peekHead(br); err != nil {
			return fmt.Errorf("gzip: %w", err)
		}
	}
	format, what := sniff(head)
	switch format {
	case formatPcap:
		hdr, err := br.Peek(24)
		if err != nil {
			return fmt.Errorf("pcap header: %w", readErr(err))
		}
		magic := [4]byte(hdr[0:4])
		// pcapgo cuts the header's 32-bit link type to 8 bits; take it from the header.
		if binary.LittleEndian.Uint32(magic[:])>>16 == 0xa1b2 {
			s.link = linkTypeOfHeader(binary.LittleEndian.Uint32(hdr[20:24]))
		} else {
			s.link = linkTypeOfHeader(binary.BigEndian.Uint32(hdr[20:24]))
		}
		// pcapgo checks the file header and reads it off br (it reuses br, a bufio.Reader of
		// at least 4096 bytes); pcapReader reads the records in place, in chunks read ahead
		// of it from a regular file, and as they come from anything else.
		if _, err := pcapgo.NewReader(br); err != nil {
			return fmt.Errorf("pcap header: %w", readErr(err))
		}
		var in chunkReader = newSyncChunks(br)
		if s.size >= 0 {
			in = newAheadChunks(br)
		}
		s.pcap = newPcapReader(in, magic[:], maxSnaplen)
	case formatPcapng:
		s.ng = newNgReader(br)
	default:
		if compressed {
			return fmt.Errorf("gzip-compressed, but not a capture: %s", what)
		}
		return errors.New(what)
	}
	return nil
}

// peekHead returns the first bytes of br for sniff: at least 4 unless the stream is shorter,
// and up to 64 of those already buffered. It never waits for more than 4, so that a pipe
// that has carried only a capture's file header (tcpdump on a quiet link) opens at once.
func peekHead(br *bufio.Reader) ([]byte, error) {
	head, err := br.Peek(4)
	if err != nil {
		if err == io.EOF {
			err = nil
		}
		return head, err
	}
	return br.Peek(min(64, br.Buffered()))
}

// Next returns the next frame. See Source.
func (s *fileSource) Next(f *Frame) error {
	var err error
	if s.pcap != nil {
		err = s.pcap.next(f)
		f.Link = s.link
	} else {
		err = s.ng.next(f)
	}
	if err != nil {
		return s.wrap(err)
	}
	s.packets++
	return nil
}

// wrap turns a reader error into the Source contract: io.EOF at a record boundary,
// ErrTruncated inside a record, ctx's error when it interrupted a read, and otherwise an
// error naming the file.
func (s *fileSource) wrap(err error) error {
	switch {
	case err == io.EOF:
		return io.EOF
	case s.ctx.Err() != nil:
		return fmt.Errorf("read %s: %w after %d packets", s.name, s.ctx.Err(), s.packets)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("read %s: %w after %d packets", s.name, ErrTruncated, s.packets)
	default:
		return fmt.Errorf("read %s: after %d packets: %w", s.name, s.packets, err)
	}
}

// Name is the file name, or "stdin" for "-".
func (s *fileSource) Name() string { return s.name }

// Progress returns the bytes read from the file (compressed bytes for gzip) and its size,
// -1 when it is not a regular file.
func (s *fileSource) Progress() (done, total int64) {
	return s.counter.n.Load(), s.size
}

// Close closes the file; stdin stays open. The last frame's data is invalid after it.
func (s *fileSource) Close() error {
	if s.stopInterrupt != nil {
		s.stopInterrupt()
		s.stopInterrupt = nil
	}
	if s.pcap != nil {
		// Nothing may read the file or the buffers once they are closed and recycled.
		s.pcap.in.stop()
	}
	for _, br := range s.bufs {
		br.Reset(nil)
		readBuffers.Put(br)
	}
	s.bufs = nil
	if s.file == nil {
		return nil
	}
	err := s.file.Close()
	s.file = nil
	return err
}

// countingReader counts the bytes read through it. The count is atomic because a progress
// bar reads it from another goroutine.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

type format int

const (
	formatUnknown format = iota
	formatPcap
	formatPcapng
)

// sniff tells the format from the first bytes, and for what is not a capture says what it is.
// Magic numbers: pcap and pcapng from draft-ietf-opsawg-pcap and -pcapng, NetMon from
// Wireshark's wiretap/netmon.c, snoop from RFC 1761, the compressors from their formats.
func sniff(h []byte) (format, string) {
	if len(h) == 0 {
		return formatUnknown, "empty file"
	}
	if len(h) >= 4 {
		le, be := binary.LittleEndian.Uint32(h), binary.BigEndian.Uint32(h)
		for _, m := range []uint32{le, be} {
			switch m {
			case 0xa1b2c3d4, 0xa1b23c4d:
				return formatPcap, ""
			case 0xa1b2cd34:
				return formatUnknown, "a modified (Kuznetzov) pcap file, not supported: convert it with editcap -F pcap"
			}
		}
		if be == 0x0a0d0d0a {
			return formatPcapng, ""
		}
	}
	switch {
	case bytes.HasPrefix(h, []byte("GMBU")), bytes.HasPrefix(h, []byte("RTSS")):
		return formatUnknown, "a Microsoft Network Monitor capture, not supported: convert it with editcap -F pcap"
	case bytes.HasPrefix(h, []byte("snoop\x00\x00\x00")):
		return formatUnknown, "a snoop capture, not supported: convert it with editcap -F pcap"
	case bytes.HasPrefix(h, []byte("BZh")):
		return formatUnknown, "bzip2-compressed: decompress it first"
	case bytes.HasPrefix(h, []byte("\xfd7zXZ\x00")):
		return formatUnknown, "xz-compressed: decompress it first"
	case bytes.HasPrefix(h, []byte("\x28\xb5\x2f\xfd")):
		return formatUnknown, "zstd-compressed: decompress it first"
	case bytes.HasPrefix(h, []byte("PK\x03\x04")):
		return formatUnknown, "a zip archive: extract it first"
	case len(h) < 4:
		return formatUnknown, fmt.Sprintf("too short to be a capture (%d bytes)", len(h))
	case isText(h):
		return formatUnknown, "text, not a capture"
	}
	return formatUnknown, fmt.Sprintf("not a capture (unknown format, first bytes %x)", h[:4])
}

// isText reports whether b looks like text: printable ASCII, whitespace or UTF-8 lead bytes.
func isText(b []byte) bool {
	for _, c := range b {
		if c < 0x20 && c != '\n' && c != '\r' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// readErr names an error of a header read: a short file is a truncation, not an I/O fault.
func readErr(err error) error {
	if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w (file too short)", ErrTruncated)
	}
	return err
}

// unwrapPath drops the *fs.PathError wrapper, whose text repeats the file name.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
