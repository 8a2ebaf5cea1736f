package main

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/ntpwatch/ntpwatch/internal/scenario"
)

// TestLoopbackOnly checks that the live tools refuse every address off the loopback
// interface: they must never send test traffic elsewhere.
func TestLoopbackOnly(t *testing.T) {
	for _, tc := range []struct {
		args []string
		ok   bool
	}{
		{[]string{"amplifier", "-listen", "192.0.2.1:123"}, false},
		{[]string{"amplifier", "-listen", "0.0.0.0:123"}, false},
		{[]string{"amplifier", "-listen", "[2001:db8::1]:123"}, false},
		{[]string{"sender", "-from", "203.0.113.7"}, false},
		{[]string{"sender", "-to", "198.51.100.10:123"}, false},
		{[]string{"sender", "-to", "[::ffff:198.51.100.10]:123"}, false},
		{[]string{"sender", "-count", "0"}, false},
		{[]string{"sender", "-count", "2000000"}, false},
	} {
		var out, errb strings.Builder
		if code := run(tc.args, &out, &errb); code != 2 || !strings.Contains(errb.String(), "-") {
			t.Errorf("ntpgen %s: exit %d (%s), want 2 naming the flag", strings.Join(tc.args, " "), code, errb.String())
		}
	}
	for _, s := range []string{"127.0.0.1:123", "127.255.0.9:123", "[::1]:123", "[::ffff:127.0.0.1]:123"} {
		if _, err := loopbackAddrPort("to", s); err != nil {
			t.Errorf("%s refused: %v", s, err)
		}
	}
}

// TestAmplifierAnswersSender plays the attack on an unprivileged port: every 8-byte
// MON_GETLIST_1 request is answered with the full monitor list, 100 replies of 440 bytes,
// and other datagrams are ignored.
func TestAmplifierAnswersSender(t *testing.T) {
	srv, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan amplifierStats, 1)
	go func() {
		st, err := amplify(ctx, srv, 1000)
		if err != nil {
			t.Error(err)
		}
		done <- st
	}()
	to := srv.LocalAddr().(*net.UDPAddr).AddrPort()
	junk, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(to))
	if err != nil {
		t.Fatal(err)
	}
	junk.Write(scenario.ClientRequest(time.Unix(1389355200, 0))) // mode 3: not a monlist request
	junk.Close()
	cli, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort("127.0.0.2:0")))
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	const n = 5
	st, err := send(context.Background(), cli, to, n, 0)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	amp := <-done
	// The sender's own socket may drop replies (its buffer is capped without privileges);
	// what went on the wire is the amplifier's account.
	if st.sent != n || st.replies == 0 || st.replyBytes != st.replies*440 {
		t.Errorf("sender: %d sent, %d replies of %d bytes, want %d sent and 440-byte replies", st.sent, st.replies, st.replyBytes, n)
	}
	if amp.answered != n || amp.replies != n*100 || amp.replyBytes != n*100*440 || amp.ignored != 1 {
		t.Errorf("amplifier: %+v, want %d answered with %d replies of 440 bytes and 1 ignored", amp, n, n*100)
	}
}
