package main

import (
	"bufio"
	"container/heap"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"

	"github.com/ntpwatch/ntpwatch/internal/scenario"
)

// benchVersion changes whenever the benchmark captures' content changes, so that cached
// files written by an older generator are rewritten.
const benchVersion = "ntpgen-bench/4"

// benchCapture is one of the big captures `make bench` measures. They are written frame by
// frame in time order, never held in memory, and are the same bytes for the same seed.
type benchCapture struct {
	name    string // file name inside the bench folder
	about   string
	packets int // frames to write
	gen     func(s *stream, rng *rand.Rand) error
	sources int // distinct request sources of an attack capture; 0 for the others
}

// The benchmark captures. benchSlice is the start of the mixed capture, for tshark, which is
// about 150 times slower than tcpdump and would take minutes on the whole file. The attack
// captures are the same storm with ever more distinct sources: below the host table's cap
// (10k), at it (100k, where every packet misses a full table), and past it (1M to 4M, where
// from the first 100,000 on every request comes from a new source).
var (
	benchMixed = benchCapture{
		name:    "mixed.pcap",
		about:   "2M frames: 70% TCP, DNS and QUIC; NTP mode 3/4, ntpq monitoring, a monlist scan and a monlist reflection; 4% VLAN, 3% IPv6",
		packets: 2_000_000,
		gen:     genMixed,
	}
	benchSlice = benchCapture{
		name:    "mixed-100k.pcap",
		about:   "the first 100,000 frames of mixed.pcap (for tshark)",
		packets: 100_000,
		gen:     genMixed,
	}
	benchAttacks = []*benchCapture{
		attackCapture("10k", 10_000),
		attackCapture("100k", 100_000),
		attackCapture("1m", 1_000_000),
		attackCapture("2m", 2_000_000),
		attackCapture("4m", 4_000_000),
	}
	benchCaptures = append([]*benchCapture{&benchMixed, &benchSlice}, benchAttacks...)
)

// attackRequests is the number of requests of every attack capture; a full reply to one
// in 1000 adds a tenth as many frames.
const attackRequests = 4_000_000

// attackCapture is a monlist storm of attackRequests requests cycling through sources
// distinct forged sources.
func attackCapture(label string, sources int) *benchCapture {
	return &benchCapture{
		name:    "attack-" + label + ".pcap",
		about:   fmt.Sprintf("4M monlist requests cycling through %d forged IPv6 sources to one server, which answers one in 1000 with a full reply", sources),
		packets: attackRequests + attackRequests/1000*100,
		gen:     func(s *stream, rng *rand.Rand) error { return genAttack(s, rng, uint32(sources)) },
		sources: sources,
	}
}

func runBenchPcaps(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("bench-pcaps", flag.ContinueOnError)
	dir := fs.String("dir", "build/bench", "folder for the benchmark captures")
	seed := fs.Uint64("seed", 1, "random seed; the same seed writes the same bytes")
	if err := parse(fs, args); err != nil {
		return err
	}
	_, err := ensureBenchPcaps(*dir, *seed, benchCaptures, stdout)
	return err
}

// selectCaptures returns the benchmark captures named in the comma-separated list, by file
// name without ".pcap"; all of them for an empty list.
func selectCaptures(list string) ([]*benchCapture, error) {
	if list == "" {
		return benchCaptures, nil
	}
	var out []*benchCapture
	for _, name := range strings.Split(list, ",") {
		i := slices.IndexFunc(benchCaptures, func(bc *benchCapture) bool { return bc.name == name+".pcap" })
		if i < 0 {
			return nil, fmt.Errorf("%w: -captures: no capture %q", errUsage, name)
		}
		out = append(out, benchCaptures[i])
	}
	return out, nil
}

// ensureBenchPcaps writes the captures into dir unless they are there already, and returns
// their paths in the same order.
func ensureBenchPcaps(dir string, seed uint64, captures []*benchCapture, log io.Writer) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var paths []string
	for _, bc := range captures {
		path := filepath.Join(dir, bc.name)
		paths = append(paths, path)
		if bc.cached(path, seed) {
			fmt.Fprintf(log, "%s: up to date\n", path)
			continue
		}
		fmt.Fprintf(log, "%s: writing %d frames...\n", path, bc.packets)
		start := time.Now()
		if err := bc.write(path, seed); err != nil {
			return nil, fmt.Errorf("write %s: %w", path, err)
		}
		fmt.Fprintf(log, "%s: written in %.1fs\n", path, time.Since(start).Seconds())
	}
	return paths, nil
}

// marker is the content of the sidecar file PATH.ok written after PATH is complete: what was
// written and how big it came out, so a cut or stale file is never taken for a good one.
func (bc *benchCapture) marker(seed uint64, size int64) string {
	return fmt.Sprintf("%s seed=%d packets=%d bytes=%d\n", benchVersion, seed, bc.packets, size)
}

// cached reports whether path holds this capture, written completely for seed.
func (bc *benchCapture) cached(path string, seed uint64) bool {
	fi, err := os.Stat(path)
	if err != nil {
		return false
	}
	ok, err := os.ReadFile(path + ".ok")
	return err == nil && string(ok) == bc.marker(seed, fi.Size())
}

// write writes the capture to a temporary file, renames it into place and then writes the
// marker, so an interrupted run leaves no file that looks complete.
func (bc *benchCapture) write(path string, seed uint64) (err error) {
	os.Remove(path + ".ok")
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := bc.writeTo(f, seed); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fi, err := os.Stat(tmp)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	return os.WriteFile(path+".ok", []byte(bc.marker(seed, fi.Size())), 0o644)
}

// writeTo generates the capture into w as a classic microsecond pcap.
func (bc *benchCapture) writeTo(w io.Writer, seed uint64) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	pw := pcapgo.NewWriter(bw)
	if err := pw.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		return err
	}
	s := &stream{w: pw, limit: bc.packets}
	err := bc.gen(s, rand.New(rand.NewPCG(seed, 0x62656e6368)))
	if err == nil || errors.Is(err, errStreamFull) {
		err = s.drain()
	}
	if err != nil && !errors.Is(err, errStreamFull) {
		return err
	}
	return bw.Flush()
}

// errStreamFull ends a generator once the capture has its frames.
var errStreamFull = errors.New("capture complete")

// stream writes frames in time order while generators schedule them out of order: an event
// at time t may schedule frames up to a few milliseconds later (a monlist reply series), so
// frames wait in a small heap until no frame earlier than them can still come.
type stream struct {
	w       *pcapgo.Writer
	limit   int
	written int
	seq     uint64
	pending frameHeap
	free    [][]byte
	ipID    uint16
}

// pendingFrame is a frame waiting in the heap; seq keeps frames of the same instant in the
// order they were scheduled.
type pendingFrame struct {
	t    int64
	seq  uint64
	data []byte
}

type frameHeap []pendingFrame

func (h frameHeap) Len() int { return len(h) }
func (h frameHeap) Less(i, j int) bool {
	return h[i].t < h[j].t || h[i].t == h[j].t && h[i].seq < h[j].seq
}
func (h frameHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *frameHeap) Push(x any)   { *h = append(*h, x.(pendingFrame)) }
func (h *frameHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// buf returns an empty buffer to append a frame to, recycled from written frames.
func (s *stream) buf() []byte {
	if n := len(s.free); n > 0 {
		b := s.free[n-1]
		s.free = s.free[:n-1]
		return b[:0]
	}
	return make([]byte, 0, 1600)
}

// udp schedules one UDP datagram at t.
func (s *stream) udp(t time.Time, ep *scenario.Endpoints, payload []byte) {
	s.ipID++
	s.push(t, scenario.AppendUDP(s.buf(), ep, s.ipID, payload))
}

// tcp schedules one TCP segment with n payload bytes at t.
func (s *stream) tcp(t time.Time, ep *scenario.Endpoints, flags byte, n int) {
	s.ipID++
	s.push(t, scenario.AppendTCP(s.buf(), ep, s.ipID, flags, n))
}

// replySeries schedules the packets of a monlist reply 25 µs apart from t, as ntpd sends
// them.
func (s *stream) replySeries(t time.Time, down *scenario.Endpoints, list [][]byte) {
	for k, p := range list {
		s.udp(t.Add(time.Duration(k)*25*time.Microsecond), down, p)
	}
}

func (s *stream) push(t time.Time, data []byte) {
	s.seq++
	heap.Push(&s.pending, pendingFrame{t: t.UnixNano(), seq: s.seq, data: data})
}

// flushBefore writes every scheduled frame earlier than t: the generator promises to
// schedule nothing before t from now on. It returns errStreamFull at the limit.
func (s *stream) flushBefore(t time.Time) error {
	return s.flush(t.UnixNano())
}

// drain writes every frame still scheduled, up to the limit.
func (s *stream) drain() error { return s.flush(1<<63 - 1) }

func (s *stream) flush(before int64) error {
	for len(s.pending) > 0 && s.pending[0].t < before {
		if s.written >= s.limit {
			return errStreamFull
		}
		f := heap.Pop(&s.pending).(pendingFrame)
		ci := gopacket.CaptureInfo{Timestamp: time.Unix(0, f.t).UTC(), CaptureLength: len(f.data), Length: len(f.data)}
		if err := s.w.WritePacket(ci, f.data); err != nil {
			return err
		}
		s.written++
		s.free = append(s.free, f.data)
	}
	if s.written >= s.limit {
		return errStreamFull
	}
	return nil
}

// benchHosts are the addresses of the mixed capture, all in documentation ranges: clients
// in 192.0.2.0/24 and 203.0.113.0/24 and in 2001:db8:c::/48, servers in 198.51.100.0/24 and
// 2001:db8:5::/48.
type benchHosts struct{ rng *rand.Rand }

// benchRouter and benchServer are the MAC addresses of the two ends of the benchmark link.
var (
	benchRouter = [6]byte{0x02, 0, 0, 0, 0, 1}
	benchServer = [6]byte{0x02, 0, 0, 0, 0, 0x10}
)

func (h benchHosts) client4() netip.Addr {
	if h.rng.IntN(2) == 0 {
		return netip.AddrFrom4([4]byte{192, 0, 2, byte(1 + h.rng.IntN(254))})
	}
	return netip.AddrFrom4([4]byte{203, 0, 113, byte(1 + h.rng.IntN(254))})
}

func (h benchHosts) server4() netip.Addr {
	return netip.AddrFrom4([4]byte{198, 51, 100, byte(1 + h.rng.IntN(254))})
}

func (h benchHosts) client6() netip.Addr {
	var a [16]byte
	copy(a[:], []byte{0x20, 0x01, 0x0d, 0xb8, 0, 0x0c})
	binary.BigEndian.PutUint64(a[8:], h.rng.Uint64())
	return netip.AddrFrom16(a)
}

func (h benchHosts) server6() netip.Addr {
	var a [16]byte
	copy(a[:], []byte{0x20, 0x01, 0x0d, 0xb8, 0, 0x05})
	a[15] = byte(1 + h.rng.IntN(254))
	return netip.AddrFrom16(a)
}

// pair returns the endpoints of a client-server exchange, one direction each way; a tenth of
// exchanges are IPv6 and a tenth are on VLAN 100.
func (h benchHosts) pair(v6ok bool, sport, dport uint16) (up, down *scenario.Endpoints) {
	var cl, sv netip.Addr
	if v6ok && h.rng.IntN(10) == 0 {
		cl, sv = h.client6(), h.server6()
	} else {
		cl, sv = h.client4(), h.server4()
	}
	var vlans []uint16
	if h.rng.IntN(10) == 0 {
		vlans = []uint16{100}
	}
	up = &scenario.Endpoints{SrcMAC: benchRouter, DstMAC: benchServer, VLANs: vlans, Src: cl, Dst: sv, SrcPort: sport, DstPort: dport}
	return up, up.Reverse()
}

// mixedEvent is one kind of exchange in the mixed capture, drawn with weight out of
// mixedWeights' total; the comment gives its frames and their share of all frames.
type mixedEvent int

const (
	evTCP     mixedEvent = iota // 1 frame, ~50%: bulk data, ACKs and small segments
	evDNS                       // 2 frames, ~12%: query and answer on port 53
	evQUIC                      // 1 frame, ~8%: UDP 443
	evNTP                       // 2 frames, ~16%: mode 3 request and mode 4 answer
	evMode6                     // 3 frames, ~1.5%: ntpq READVAR and a two-part answer
	evProbe                     // 1 frame, ~2.5%: a monlist request nobody answers
	evMonlist                   // 101 frames, ~10%: a forged monlist request and its 100 replies
	numMixedEvents
)

var mixedWeights = [numMixedEvents]int{
	evTCP: 50000, evDNS: 6000, evQUIC: 8000, evNTP: 8700, evMode6: 10, evProbe: 2500, evMonlist: 99,
}

// genMixed is the mixed capture: traffic of a border link where NTP is a minority, with a
// monlist reflection through the home server 198.51.100.10 going on throughout.
func genMixed(s *stream, rng *rand.Rand) error {
	h := benchHosts{rng}
	total := 0
	for _, w := range mixedWeights {
		total += w
	}
	reflector := netip.MustParseAddr("198.51.100.10")
	monitor := netip.MustParseAddr("192.0.2.5")
	scanner := netip.MustParseAddr("203.0.113.66")
	var list [][]byte
	for i := range 6 {
		victim := netip.AddrFrom4([4]byte{203, 0, 113, byte(i + 1)})
		list = append(list, scenario.MonlistReply(2, scenario.MonitorList(victim, 600), reflector)...)
	}
	dns := make([]byte, 40)
	dnsAnswer := make([]byte, 120)
	quic := make([]byte, 1200)
	ref := [4]byte{192, 0, 2, 1}
	t := scenario.Epoch
	for {
		// About 75,000 events a second of packet time: the 2M frames span about 20 s.
		t = t.Add(time.Duration(1 + rng.IntN(26_000)))
		if err := s.flushBefore(t); err != nil {
			return err
		}
		w := rng.IntN(total)
		ev := mixedEvent(0)
		for ; w >= mixedWeights[ev]; ev++ {
			w -= mixedWeights[ev]
		}
		switch ev {
		case evTCP:
			up, down := h.pair(false, scenario.EphemeralPort(rng), 443)
			switch r := rng.IntN(10); {
			case r < 5:
				s.tcp(t, up, 0x10, 0) // ACK
			case r < 8:
				s.tcp(t, down, 0x18, 1448) // full segment
			default:
				s.tcp(t, down, 0x18, 200+rng.IntN(400))
			}
		case evDNS:
			up, down := h.pair(true, scenario.EphemeralPort(rng), 53)
			s.udp(t, up, dns)
			s.udp(t.Add(2*time.Millisecond), down, dnsAnswer)
		case evQUIC:
			up, down := h.pair(true, scenario.EphemeralPort(rng), 443)
			if rng.IntN(2) == 0 {
				s.udp(t, up, quic[:1200])
			} else {
				s.udp(t, down, quic[:100+rng.IntN(1100)])
			}
		case evNTP:
			up, down := h.pair(true, scenario.EphemeralPort(rng), 123)
			req := scenario.ClientRequest(t)
			s.udp(t, up, req)
			recv := t.Add(150 * time.Microsecond)
			s.udp(recv.Add(40*time.Microsecond), down, scenario.ServerReply(req, recv, recv.Add(30*time.Microsecond), ref))
		case evMode6:
			// One monitoring station polls four servers with ntpq.
			up, _ := h.pair(false, scenario.EphemeralPort(rng), 123)
			up.Src = monitor
			up.Dst = netip.AddrFrom4([4]byte{198, 51, 100, byte(1 + rng.IntN(4))})
			req, answer := scenario.ReadVar(uint16(rng.IntN(1 << 16)))
			s.udp(t, up, req)
			s.udp(t.Add(300*time.Microsecond), up.Reverse(), answer[0])
			s.udp(t.Add(350*time.Microsecond), up.Reverse(), answer[1])
		case evProbe:
			// One scanner sweeps the servers for amplifiers; none answers.
			up, _ := h.pair(false, scenario.EphemeralPort(rng), 123)
			up.Src = scanner
			s.udp(t, up, scenario.MonlistRequest(48))
		case evMonlist:
			v := rng.IntN(6)
			victim := netip.AddrFrom4([4]byte{203, 0, 113, byte(v + 1)})
			port := uint16(80)
			up := &scenario.Endpoints{SrcMAC: benchRouter, DstMAC: benchServer, Src: victim, Dst: reflector, SrcPort: port, DstPort: 123}
			s.udp(t, up, scenario.MonlistRequest(8))
			s.replySeries(t.Add(200*time.Microsecond), up.Reverse(), list[v*100:(v+1)*100])
		}
	}
}

// genAttack is the storm of the attack captures: 8-byte monlist requests to one server,
// 100,000 a second, the i-th from source i modulo sources. The sources are in 2001:db8::/32
// because no IPv4 documentation range holds millions of addresses; forgedSource makes them
// distinct. The server answers one request in 1000 with a full 100-packet reply to the
// forged source.
func genAttack(s *stream, rng *rand.Rand, sources uint32) error {
	server := netip.MustParseAddr("2001:db8:10::123")
	clients := make([]netip.Addr, 600)
	for i := range clients {
		clients[i] = forgedSource(uint32(i))
	}
	list := scenario.MonlistReply(2, clients, server)
	req := scenario.MonlistRequest(8)
	t := scenario.Epoch
	for i := uint32(0); ; i++ {
		t = t.Add(time.Duration(5_000 + rng.IntN(10_000)))
		if err := s.flushBefore(t); err != nil {
			return err
		}
		src := forgedSource(i % sources)
		up := &scenario.Endpoints{SrcMAC: benchRouter, DstMAC: benchServer, Src: src, Dst: server, SrcPort: scenario.EphemeralPort(rng), DstPort: 123}
		s.udp(t, up, req)
		if i%1000 == 999 {
			s.replySeries(t.Add(200*time.Microsecond), up.Reverse(), list)
		}
	}
}

// forgedSource is the i-th forged address: 2001:db8:X:Y:iid where X:Y is a bijection of i
// (an odd multiplier modulo 2^32, then an xor), so different i give different addresses that
// do not look sequential, and the interface identifier is a hash of i (splitmix64's
// finalizer), so the same i is always the same address.
func forgedSource(i uint32) netip.Addr {
	var a [16]byte
	copy(a[:], []byte{0x20, 0x01, 0x0d, 0xb8})
	binary.BigEndian.PutUint32(a[4:], i*0x9e3779b1^0x5bd1e995)
	z := uint64(i) + 0x9e3779b97f4a7c15
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	binary.BigEndian.PutUint64(a[8:], z^z>>31)
	return netip.AddrFrom16(a)
}
