package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/ntpwatch/ntpwatch/decode/proto"
	"github.com/ntpwatch/ntpwatch/internal/scenario"
)

// Loopback test traffic for `ntpwatch live -i lo` (design.md "Real components"): an amplifier
// that answers monlist like an unpatched ntpd, and a sender that plays the victim whose
// address the requests carry. Both refuse any address outside 127.0.0.0/8 and ::1, and both
// stop after a bounded count and time.

const (
	// monlistClients is the length of the amplifier's monitor list: ntpd's MRU default
	// keeps 600 entries, which is 100 reply packets of six items (ntp-wire.md).
	monlistClients = 600
	// monlistRequestLen is the 8-byte request of the attack tools (the smallest there is).
	monlistRequestLen = 8
	maxRequests       = 1_000_000
	maxDuration       = 10 * time.Minute
	// socketBuffer is the socket buffer the tools ask for, so that a burst of requests or
	// replies waits in the kernel rather than being dropped (net.core.rmem_max caps it).
	socketBuffer = 8 << 20
)

// loopbackAddrPort parses a host:port that must be on the loopback interface.
func loopbackAddrPort(flagName, s string) (netip.AddrPort, error) {
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return ap, fmt.Errorf("%w: -%s %q: want IP:port, such as 127.0.0.1:123 or [::1]:123", errUsage, flagName, s)
	}
	if !ap.Addr().Unmap().IsLoopback() {
		return ap, fmt.Errorf("%w: -%s %s: only loopback addresses (127.0.0.0/8, ::1) are allowed", errUsage, flagName, s)
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), nil
}

func runAmplifier(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("amplifier", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:123", "loopback `address:port` to answer on")
	duration := fs.Duration("duration", time.Minute, "stop after this `time` (at most 10m)")
	limit := fs.Int("max-requests", 100_000, "stop after answering this many `requests`")
	if err := parse(fs, args); err != nil {
		return err
	}
	ap, err := loopbackAddrPort("listen", *listen)
	if err != nil {
		return err
	}
	if *duration <= 0 || *duration > maxDuration || *limit < 1 || *limit > maxRequests {
		return fmt.Errorf("%w: -duration must be in (0, %s] and -max-requests in [1, %d]", errUsage, maxDuration, maxRequests)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *duration)
	defer cancel()
	conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(ap))
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetReadBuffer(socketBuffer)
	conn.SetWriteBuffer(socketBuffer)
	forceBuffers(conn, socketBuffer)
	fmt.Fprintf(stdout, "amplifier: listening on %s\n", conn.LocalAddr())
	st, err := amplify(ctx, conn, *limit)
	span := st.last.Sub(st.first).Seconds()
	fmt.Fprintf(stdout, "amplifier: %d requests answered with %d replies (%d payload bytes) in %.3fs (%.0f replies/s), %d other datagrams ignored\n",
		st.answered, st.replies, st.replyBytes, span, float64(st.replies)/max(span, 1e-9), st.ignored)
	return err
}

type amplifierStats struct {
	answered, replies, replyBytes, ignored uint64
	first, last                            time.Time // the first request and the last reply
}

// amplify answers each MON_GETLIST_1 request on conn with the full monitor list, the
// requester first, as ntpd 4.2.6 did before CVE-2013-5211 was fixed, until ctx ends or limit
// requests were answered.
func amplify(ctx context.Context, conn *net.UDPConn, limit int) (amplifierStats, error) {
	var st amplifierStats
	stop := context.AfterFunc(ctx, func() { conn.SetReadDeadline(time.Now()) })
	defer stop()
	server := netip.MustParseAddr("192.0.2.123") // the daddr of the monitor items
	replies := make(map[netip.Addr][][]byte)
	buf := make([]byte, 2048)
	for st.answered < uint64(limit) {
		n, from, err := conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if ctx.Err() != nil {
				return st, nil
			}
			return st, err
		}
		req := buf[:n]
		// A mode 7 request (R=0, mode 7) for MON_GETLIST_1 (ntp_request.h), any version.
		if n < 8 || req[0]&0x87 != 0x07 || req[3] != proto.ReqMonGetList1 {
			st.ignored++
			continue
		}
		if st.answered == 0 {
			st.first = time.Now()
		}
		victim := from.Addr().Unmap()
		pkts, ok := replies[victim]
		if !ok {
			pkts = scenario.MonlistReply(req[0]>>3&7, scenario.MonitorList(victim, monlistClients), server)
			replies[victim] = pkts
		}
		for _, p := range pkts {
			if _, err := conn.WriteToUDPAddrPort(p, from); err != nil {
				return st, err
			}
			st.replies++
			st.replyBytes += uint64(len(p))
		}
		st.last = time.Now()
		st.answered++
	}
	return st, nil
}

func runSender(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("sender", flag.ContinueOnError)
	fromS := fs.String("from", "127.0.0.2", "loopback `address` the requests come from: the victim")
	toS := fs.String("to", "127.0.0.1:123", "loopback `address:port` of the amplifier")
	count := fs.Int("count", 100, "`requests` to send (at most 1,000,000)")
	rate := fs.Float64("rate", 1000, "`requests per second`; 0 sends as fast as the socket takes them")
	timeout := fs.Duration("timeout", time.Minute, "give up after this `time` (at most 10m)")
	if err := parse(fs, args); err != nil {
		return err
	}
	from, err := netip.ParseAddr(*fromS)
	if err != nil || !from.Unmap().IsLoopback() {
		return fmt.Errorf("%w: -from %q: only loopback addresses (127.0.0.0/8, ::1) are allowed", errUsage, *fromS)
	}
	to, err := loopbackAddrPort("to", *toS)
	if err != nil {
		return err
	}
	if *count < 1 || *count > maxRequests || *rate < 0 || *rate > 1e7 || *timeout <= 0 || *timeout > maxDuration {
		return fmt.Errorf("%w: -count must be in [1, %d], -rate in [0, 1e7], -timeout in (0, %s]", errUsage, maxRequests, maxDuration)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(from.Unmap(), 0)))
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetReadBuffer(socketBuffer)
	forceBuffers(conn, socketBuffer)
	st, err := send(ctx, conn, to, *count, *rate)
	fmt.Fprintf(stdout, "sender: %d requests (%d bytes) sent from %s in %.3fs (%.0f/s); %d replies (%d payload bytes) received\n",
		st.sent, st.sent*monlistRequestLen, conn.LocalAddr(), st.elapsed.Seconds(), float64(st.sent)/max(st.elapsed.Seconds(), 1e-9), st.replies, st.replyBytes)
	return err
}

type senderStats struct {
	sent, replies, replyBytes uint64
	elapsed                   time.Duration
}

// send sends count 8-byte MON_GETLIST_1 requests to `to` at rate per second while a goroutine
// reads and discards the replies, until every expected reply came or none came for a while.
func send(ctx context.Context, conn *net.UDPConn, to netip.AddrPort, count int, rate float64) (senderStats, error) {
	var st senderStats
	var wg sync.WaitGroup
	done := make(chan struct{})
	wg.Go(func() {
		buf := make([]byte, 2048)
		want := uint64(count) * monlistClients / 6
		for st.replies < want {
			// Stop reading once no reply came for a second after the last request: the
			// rest will not come (the amplifier is gone or its socket dropped them).
			select {
			case <-done:
				conn.SetReadDeadline(time.Now().Add(time.Second))
			default:
				conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			}
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			st.replies++
			st.replyBytes += uint64(n)
		}
	})
	req := scenario.MonlistRequest(monlistRequestLen)
	start := time.Now()
	var err error
	for i := range count {
		if rate > 0 {
			if d := time.Until(start.Add(time.Duration(float64(i) / rate * float64(time.Second)))); d > 0 {
				time.Sleep(d)
			}
		}
		if ctx.Err() != nil {
			break
		}
		if _, err = conn.WriteToUDPAddrPort(req, to); err != nil {
			// ECONNREFUSED reports an ICMP port unreachable for an earlier request: nobody
			// listens on `to`.
			if errors.Is(err, syscall.ECONNREFUSED) {
				err = fmt.Errorf("nothing listens on %s: start ntpgen amplifier first", to)
			}
			break
		}
		st.sent++
	}
	st.elapsed = time.Since(start)
	close(done)
	conn.SetReadDeadline(time.Now().Add(time.Second))
	wg.Wait()
	return st, err
}
