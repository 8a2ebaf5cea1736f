package detect

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/ntpwatch/ntpwatch/decode"
	"github.com/ntpwatch/ntpwatch/decode/proto"
)

// The packets below are built as decode would fill them from the wire, with the sizes of
// real monlist traffic: an 8-byte MON_GETLIST_1 request in a 60-byte (padded) Ethernet
// frame, and full reply packets of 6 items of 72 bytes, 440 payload bytes, 482-byte frames.
var (
	t0 = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

	server   = netip.MustParseAddr("192.0.2.10")
	victim   = netip.MustParseAddr("203.0.113.7")
	admin    = netip.MustParseAddr("192.0.2.50")
	scanner  = netip.MustParseAddr("198.51.100.66")
	server6  = netip.MustParseAddr("2001:db8::123")
	victim6  = netip.MustParseAddr("2001:db8:ffff::7")
	homeNet4 = netip.MustParsePrefix("192.0.2.0/24")
)

const (
	reqPayload  = 8
	reqWire     = 60
	respPayload = 440
	respWire    = 482
	respPerList = 100 // packets of a full 600-entry reply
)

func at(d time.Duration) time.Time { return t0.Add(d) }

// ntp is NTP's entry in the default table, which the packets below carry.
var ntp = proto.Default.Protocols()[0]

// observed fills p's observation as the decoder does: its NTP header, encoded, goes through
// NTP's classifier.
func observed(p decode.Packet) decode.Packet {
	n := p.NTP
	var payload []byte
	switch n.Mode {
	case 7:
		payload = proto.AppendPrivate(nil, n.Version, &n.Priv)
	case 6:
		payload = proto.AppendControl(nil, 0, n.Version, &n.Ctl)
	default:
		payload = make([]byte, 48)
		payload[0] = n.Version<<3 | n.Mode
	}
	var got proto.NTP
	m := proto.Message{Payload: payload, Len: int(p.PayloadLen), SrcPort: p.SrcPort, DstPort: p.DstPort,
		Vector: proto.NoVector, NTP: &got}
	ntp.Classify(&m)
	if m.Err != proto.WellFormed {
		panic(fmt.Sprintf("test packet %+v does not classify: %d", p, m.Err))
	}
	p.Kind, p.Proto, p.Weight = decode.KindMessage, ntp, 1
	p.Dir, p.Vector, p.Data, p.Refusal = m.Dir, m.Vector, m.Data, m.Refusal
	return p
}

// privReq is a mode 7 request with the given code and payload size from src to dst:123.
func privReq(ts time.Time, src, dst netip.Addr, code uint8, payload uint32) decode.Packet {
	return observed(decode.Packet{
		Time: ts, WireLen: max(60, payload+42), Src: src, Dst: dst,
		SrcPort: 40000, DstPort: 123, IPLen: payload + 28, PayloadLen: payload,
		NTP: proto.NTP{Version: 2, Mode: 7, Priv: proto.Private{Implementation: 3, RequestCode: code}},
	})
}

// privResp is a mode 7 response of items (72 bytes each) from src:123 to dst.
func privResp(ts time.Time, src, dst netip.Addr, code uint8, items uint16, more bool) decode.Packet {
	return privRespErr(ts, src, dst, code, items, more, 0)
}

func privRespErr(ts time.Time, src, dst netip.Addr, code uint8, items uint16, more bool, errCode uint8) decode.Packet {
	payload := uint32(8 + 72*uint32(items))
	return observed(decode.Packet{
		Time: ts, WireLen: max(60, payload+42), Src: src, Dst: dst,
		SrcPort: 123, DstPort: 40000, IPLen: payload + 28, PayloadLen: payload,
		NTP: proto.NTP{Version: 2, Mode: 7, Priv: proto.Private{Response: true, More: more,
			Implementation: 3, RequestCode: code, Items: items, ItemSize: 72, Err: errCode}},
	})
}

// noData is the 8-byte err=4 reply of a patched server.
func noData(ts time.Time, src, dst netip.Addr) decode.Packet {
	return privRespErr(ts, src, dst, 42, 0, false, 4)
}

// std is a mode 3 (client) or 4 (server) packet of 48 bytes.
func std(ts time.Time, src, dst netip.Addr, mode uint8) decode.Packet {
	p := decode.Packet{Time: ts, WireLen: 90, Src: src, Dst: dst,
		SrcPort: 123, DstPort: 123, IPLen: 76, PayloadLen: 48, NTP: proto.NTP{Version: 4, Mode: mode}}
	if mode == 3 {
		p.SrcPort = 50000
	} else {
		p.DstPort = 50000
	}
	return observed(p)
}

// ctl is a mode 6 message: a 12-byte request or a response with count data bytes.
func ctl(ts time.Time, src, dst netip.Addr, op uint8, resp bool, count uint16) decode.Packet {
	payload := uint32(12 + count)
	p := decode.Packet{Time: ts, WireLen: max(60, payload+42), Src: src, Dst: dst,
		SrcPort: 50000, DstPort: 123, IPLen: payload + 28, PayloadLen: payload,
		NTP: proto.NTP{Version: 2, Mode: 6, Ctl: proto.Control{Response: resp, OpCode: op, Count: count}}}
	if resp {
		p.SrcPort, p.DstPort = 123, 50000
	}
	return observed(p)
}

// monlist appends one full attack exchange at ts: a request from victim to srv and the
// 100-packet reply, one packet a millisecond.
func monlist(ps []decode.Packet, ts time.Time, victim, srv netip.Addr, reqSize uint32) []decode.Packet {
	ps = append(ps, privReq(ts, victim, srv, 42, reqSize))
	for i := range respPerList {
		ps = append(ps, privResp(ts.Add(time.Duration(i+1)*time.Millisecond), srv, victim, 42, 6, i < respPerList-1))
	}
	return ps
}

// run feeds ps to a new engine and returns the events as the engine emitted them.
func run(t testing.TB, cfg Config, ps []decode.Packet) ([]Alert, *Engine) {
	t.Helper()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("config: %v", err)
	}
	var out []Alert
	e := NewEngine(cfg, collect(&out))
	for i := range ps {
		e.Observe(&ps[i])
	}
	e.Close()
	return out, e
}

// collect returns an emit function that appends deep copies to out: the Alert and its lists
// are reused after emit returns.
func collect(out *[]Alert) func(*Alert) {
	return func(a *Alert) {
		c := *a
		c.Victims.Top = append([]HostStat(nil), a.Victims.Top...)
		c.Reflectors.Top = append([]HostStat(nil), a.Reflectors.Top...)
		c.Targets.Responders = append([]Responder(nil), a.Targets.Responders...)
		*out = append(*out, c)
	}
}

// line is a compact rendering of an event for failure messages and determinism checks.
func line(a Alert) string {
	return fmt.Sprintf("%s %s %s %s %s refl=%v vict=%v scan=%v req=%+v resp=%+v amp=%.2f/%v wire=%d peak=%g/%g dir=%q victims=%+v reflectors=%+v targets=%+v first=%s last=%s ts=%s",
		a.ID, a.Kind, a.State, a.Severity, a.Vector, a.Reflector, a.Victim, a.Scanner, a.Requests, a.Responses,
		a.Amplification, a.HasAmplification, a.WireBytes, a.PeakBPS, a.PeakPPS, a.Direction,
		a.Victims, a.Reflectors, a.Targets, a.FirstSeen.Format(time.RFC3339Nano), a.LastSeen.Format(time.RFC3339Nano),
		a.TS.Format(time.RFC3339Nano))
}

func lines(as []Alert) string {
	var b strings.Builder
	for _, a := range as {
		b.WriteString(line(a))
		b.WriteByte('\n')
	}
	return b.String()
}

// only returns the events of kind k.
func only(as []Alert, k Kind) []Alert {
	var out []Alert
	for _, a := range as {
		if a.Kind == k {
			out = append(out, a)
		}
	}
	return out
}
