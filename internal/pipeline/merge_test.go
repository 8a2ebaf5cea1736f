package pipeline

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/ntpwatch/ntpwatch/decode"
	"github.com/ntpwatch/ntpwatch/detect"
	"github.com/ntpwatch/ntpwatch/internal/scenario"
	"github.com/ntpwatch/ntpwatch/internal/testutil/testsrc"
	"github.com/ntpwatch/ntpwatch/sinks"
)

// runSources runs a file pipeline over srcs and returns the alerts as JSON lines and the
// NTP log.
func runSources(t *testing.T, srcs []decode.Source) (alerts, ntpLog []byte) {
	t.Helper()
	var out, log bytes.Buffer
	o, err := sinks.Open(context.Background(), sinks.Config{}, &out)
	if err != nil {
		t.Fatal(err)
	}
	cfg := detect.DefaultConfig()
	cfg.Sensor = "test"
	p := New(Config{Sources: srcs, Flush: FileFlush, Detect: cfg, Outputs: o,
		NTPLog: NewAuxWriter("ntp log", &log, nil, nil)})
	if _, err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	return out.Bytes(), log.Bytes()
}

// gate holds a source back until another has returned enough frames, so that its batches
// reach the analysis goroutine after later ones of the other.
type gate struct {
	mu   sync.Mutex
	cond *sync.Cond
	n    int // frames the leading source has returned
}

func newGate() *gate {
	g := &gate{}
	g.cond = sync.NewCond(&g.mu)
	return g
}

// leader returns frames and counts them; follower waits for the leader's first after
// frames (or its end) before its first frame.
type leader struct {
	testsrc.Memory
	g *gate
}

func (l *leader) Next(f *decode.Frame) error {
	err := l.Memory.Next(f)
	l.g.mu.Lock()
	if err != nil {
		l.g.n = 1 << 30
	} else {
		l.g.n++
	}
	l.g.cond.Broadcast()
	l.g.mu.Unlock()
	return err
}

type follower struct {
	testsrc.Memory
	g       *gate
	after   int
	started bool
}

func (f *follower) Next(fr *decode.Frame) error {
	if !f.started {
		f.g.mu.Lock()
		for f.g.n < f.after {
			f.g.cond.Wait()
		}
		f.g.mu.Unlock()
		f.started = true
	}
	return f.Memory.Next(fr)
}

// TestMergedReaders: the frames of a capture split between two sources, in runs of 50 to
// 500 frames each way (as a fanout hashes flows to sockets), with the second source held
// back until the first has returned 1,500 frames so that its batches reach the engine
// after later ones, give the alerts and the NTP log of the capture read by one source,
// byte for byte, ids included. The fragments of one datagram stay in one source, as a fanout
// keeps them: the kernel hashes a fragment by its addresses alone.
func TestMergedReaders(t *testing.T) {
	for _, s := range scenario.All() {
		t.Run(s.Name, func(t *testing.T) {
			var all, a, b []decode.Frame
			rng := rand.New(rand.NewPCG(3, 4))
			toA, left := true, 0
			var lastA, lastB time.Time
			fragsToA := map[[10]byte]bool{} // by IPv4 source, destination and identification
			for _, f := range s.Frames(1) {
				fr := decode.Frame{Data: f.Data, Time: f.Time, WireLen: len(f.Data), Link: decode.LinkTypeEthernet}
				all = append(all, fr)
				if left == 0 {
					toA, left = !toA, 50+rng.IntN(450)
				}
				left--
				toA := toA
				if key, first, ok := fragmentOf(f.Data); ok {
					if first {
						fragsToA[key] = toA
					} else {
						toA = fragsToA[key]
					}
				}
				if toA {
					a, lastA = append(a, fr), f.Time
				} else {
					b, lastB = append(b, fr), f.Time
				}
				// Frames of one instant in both sources would have no order to restore.
				if !lastA.IsZero() && lastA.Equal(lastB) {
					t.Fatalf("frames at %v in both sources", lastA)
				}
			}
			want, wantLog := runSources(t, []decode.Source{&testsrc.Memory{Frames: all}})
			g := newGate()
			got, gotLog := runSources(t, []decode.Source{&leader{testsrc.Memory{Frames: a}, g},
				&follower{Memory: testsrc.Memory{Frames: b}, g: g, after: 1500}})
			if !bytes.Equal(got, want) {
				t.Errorf("alerts from two sources:\n%s\nwant, from one:\n%s", got, want)
			}
			if !bytes.Equal(gotLog, wantLog) {
				t.Errorf("the NTP log from two sources differs from one source's (%d and %d bytes)", len(gotLog), len(wantLog))
			}
		})
	}
}

// fragmentOf tells whether an Ethernet frame (VLAN tags allowed) holds an IPv4 fragment,
// whether it is its datagram's first, and the datagram's addresses and identification.
func fragmentOf(frame []byte) (key [10]byte, first, ok bool) {
	b := frame[12:]
	for len(b) >= 4 && (b[0] == 0x81 && b[1] == 0x00 || b[0] == 0x88 && b[1] == 0xa8) {
		b = b[4:]
	}
	if len(b) < 22 || b[0] != 0x08 || b[1] != 0x00 {
		return key, false, false
	}
	ip := b[2:]
	frag := uint16(ip[6])<<8 | uint16(ip[7])
	if frag&0x3fff == 0 {
		return key, false, false
	}
	copy(key[:], ip[12:20])
	copy(key[8:], ip[4:6])
	return key, frag&0x1fff == 0, true
}

// stalled is a live source that returns nothing, not even a timeout, until ctx ends: a
// reader stuck in its capture call.
type stalled struct{ ctx context.Context }

func (s stalled) Next(*decode.Frame) error { <-s.ctx.Done(); return io.EOF }
func (stalled) Name() string               { return "stalled" }
func (stalled) Close() error               { return nil }

// TestMergeLiveDoesNotWait: in a live run, a reader whose link is quiet, or one that hands
// over nothing at all, does not hold the other's packets back: the attack read by the other
// is analysed and its incident ends on the quiet link (idle timeout shortened to half a
// second).
func TestMergeLiveDoesNotWait(t *testing.T) {
	for _, tc := range []struct {
		name  string
		other func(ctx context.Context) decode.Source
	}{
		{"quiet", func(ctx context.Context) decode.Source { return &quietSource{ctx: ctx} }},
		{"stalled", func(ctx context.Context) decode.Source { return stalled{ctx} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			src := &quietSource{Memory: testsrc.Memory{Frames: attack(server, victim, 30)}, ctx: ctx}
			o, err := sinks.Open(ctx, sinks.Config{}, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			cfg := detect.DefaultConfig()
			cfg.IdleTimeout = 500 * time.Millisecond
			p := New(Config{Sources: []decode.Source{tc.other(ctx), src}, Flush: LiveFlush, Detect: cfg, Outputs: o})
			done := make(chan Result)
			go func() {
				res, _ := p.Run(ctx)
				done <- res
			}()
			deadline := time.After(30 * time.Second) // a hang guard, not a timing assertion
			for p.Snapshot().Alerts[1][2] == 0 {     // no reflection end event yet
				select {
				case <-deadline:
					t.Fatal("the incident did not end")
				case <-time.After(10 * time.Millisecond):
				}
			}
			cancel()
			if res := <-done; res.Engine.Amplifying != uint64(len(src.Frames)) {
				t.Errorf("%d amplifying packets analysed, want %d", res.Engine.Amplifying, len(src.Frames))
			}
		})
	}
}
