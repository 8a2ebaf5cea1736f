package decode

import (
	"bufio"
	"sync"
)

// chunkReader hands out a capture file in large chunks, for pcapReader to walk in place. A
// chunk is valid until the following call of next; the last may come with io.EOF or an
// error, and after it next returns only the error.
type chunkReader interface {
	next() ([]byte, error)
	// stop ends any reading ahead; it returns when nothing reads the file any more.
	stop()
}

// chunkSize is the size of a chunk: twice the read buffer of a file source. Reads through
// the buffer go straight into a chunk and never touch the buffer, which holds the first chunk,
// as long as they read into at least as much room as the buffer's size (bufio.Reader.Read
// reads directly into so large a slice when it holds nothing): fill stops short of that.
const chunkSize = 2 * readBufferSize

// fill reads from br into buf until less room is left than br's buffer would take, or an
// error. A short last chunk ends with io.EOF.
func fill(br *bufio.Reader, buf []byte) (int, error) {
	n := 0
	for len(buf)-n >= br.Size() {
		m, err := br.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// chunks recycles the chunk buffers of closed sources.
var chunks = sync.Pool{New: func() any { b := make([]byte, chunkSize); return &b }}

// firstChunk returns the bytes br holds already, consumed: the first chunk of both readers,
// read with the file's first bytes, so that a file opened for its first frames starts no
// reading ahead. They stay valid until br is read again with a slice smaller than its
// buffer, which the readers never do.
func firstChunk(br *bufio.Reader) []byte {
	b, _ := br.Peek(br.Buffered())
	br.Discard(len(b))
	return b
}

// syncChunks reads the chunks when they are wanted, each as soon as some bytes came: for
// stdin, where a pipe from a live tcpdump must hand over the frames it carried without
// waiting for a chunk to fill, and where reads are interrupted by a context.
type syncChunks struct {
	br    *bufio.Reader
	buf   *[]byte
	first bool // the first chunk was handed out
	err   error
}

func newSyncChunks(br *bufio.Reader) *syncChunks { return &syncChunks{br: br} }

func (c *syncChunks) next() ([]byte, error) {
	if c.err != nil {
		return nil, c.err
	}
	if !c.first {
		c.first = true
		if b := firstChunk(c.br); len(b) > 0 {
			return b, nil
		}
	}
	if c.buf == nil {
		c.buf = chunks.Get().(*[]byte)
	}
	var n int
	var err error
	for n == 0 && err == nil {
		// One read: a pipe hands over what it holds. The chunk is larger than br's buffer.
		n, err = c.br.Read(*c.buf)
	}
	c.err = err
	return (*c.buf)[:n], err
}

func (c *syncChunks) stop() {
	if c.buf != nil {
		chunks.Put(c.buf)
		c.buf = nil
	}
}

// aheadChunks reads a regular file ahead of the record walk in a goroutine of its own, a few
// chunks ahead, so that the copy out of the page cache (a third of the reader goroutine's
// time on the mixed capture) runs on another core while the frames before it are decoded.
// The goroutine starts on the second chunk: a file opened for a look at its first frame
// costs no goroutine and no chunk.
type aheadChunks struct {
	br      *bufio.Reader
	started bool
	full    chan chunk
	free    chan *[]byte
	done    chan struct{} // closed by stop
	exited  chan struct{} // closed by the goroutine
	held    *[]byte       // the chunk handed out last, returned on the next call
	err     error
}

type chunk struct {
	buf *[]byte
	n   int
	err error
}

// aheadChunksN is the chunks of a file in flight: one being walked, the rest being read.
const aheadChunksN = 3

func newAheadChunks(br *bufio.Reader) *aheadChunks { return &aheadChunks{br: br} }

func (c *aheadChunks) next() ([]byte, error) {
	if c.err != nil {
		return nil, c.err
	}
	if !c.started {
		c.started = true
		c.full = make(chan chunk, aheadChunksN)
		c.free = make(chan *[]byte, aheadChunksN)
		c.done, c.exited = make(chan struct{}), make(chan struct{})
		for range aheadChunksN {
			c.free <- chunks.Get().(*[]byte)
		}
		if b := firstChunk(c.br); len(b) > 0 {
			go c.read()
			return b, nil
		}
		go c.read()
	}
	if c.held != nil {
		c.free <- c.held
		c.held = nil
	}
	ch := <-c.full
	c.held, c.err = ch.buf, ch.err
	if ch.buf == nil {
		return nil, ch.err
	}
	return (*ch.buf)[:ch.n], ch.err
}

// read fills free chunks from the file in order until its end, an error or stop. The last
// comes with io.EOF.
func (c *aheadChunks) read() {
	defer close(c.exited)
	for {
		var buf *[]byte
		select {
		case buf = <-c.free:
		case <-c.done:
			return
		}
		n, err := fill(c.br, *buf)
		if n == 0 && err != nil {
			chunks.Put(buf)
			buf = nil
		}
		select {
		case c.full <- chunk{buf, n, err}:
		case <-c.done:
			return
		}
		if err != nil {
			return
		}
	}
}

// stop ends the goroutine, waits for it and returns the chunks to the pool.
func (c *aheadChunks) stop() {
	if !c.started || c.done == nil {
		return
	}
	close(c.done)
	<-c.exited
	c.done = nil
	if c.held != nil {
		chunks.Put(c.held)
		c.held = nil
	}
	for {
		select {
		case b := <-c.free:
			chunks.Put(b)
		case ch := <-c.full:
			if ch.buf != nil {
				chunks.Put(ch.buf)
			}
		default:
			return
		}
	}
}
