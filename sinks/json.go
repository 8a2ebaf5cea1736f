package sinks

import (
	"math"
	"net/netip"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/ntpwatch/ntpwatch/detect"
)

// SchemaV1 is the value of the "schema" key of every native alert.
const SchemaV1 = "ntpwatch.alert/v1"

// AppendJSON appends a as one JSON object of the schema ntpwatch.alert/v1 (docs/alerts.md),
// without a trailing newline, and returns the extended buffer. The keys always come
// in the documented order and every key is always present: zero addresses, zero times, empty
// strings and an amplification without requests are null, empty lists are []. The output
// depends on a alone, so the same alerts give the same bytes on every run.
func AppendJSON(buf []byte, a *detect.Alert) []byte {
	buf = append(buf, `{"schema":"`+SchemaV1+`","id":`...)
	buf = appendStringOrNull(buf, a.ID)
	buf = append(buf, `,"kind":`...)
	buf = appendStringOrNull(buf, string(a.Kind))
	buf = append(buf, `,"state":`...)
	buf = appendStringOrNull(buf, string(a.State))
	buf = append(buf, `,"severity":`...)
	buf = appendStringOrNull(buf, string(a.Severity))
	buf = append(buf, `,"ts":`...)
	buf = appendTime(buf, a.TS)
	buf = append(buf, `,"first_seen":`...)
	buf = appendTime(buf, a.FirstSeen)
	buf = append(buf, `,"last_seen":`...)
	buf = appendTime(buf, a.LastSeen)
	buf = append(buf, `,"protocol":`...)
	buf = appendStringOrNull(buf, a.Protocol)
	buf = append(buf, `,"vector":`...)
	buf = appendStringOrNull(buf, string(a.Vector))
	buf = append(buf, `,"reflector":`...)
	buf = appendAddr(buf, a.Reflector)
	buf = append(buf, `,"victim":`...)
	buf = appendAddr(buf, a.Victim)
	buf = append(buf, `,"scanner":`...)
	buf = appendAddr(buf, a.Scanner)
	buf = append(buf, `,"victims":`...)
	buf = appendHostList(buf, &a.Victims)
	buf = append(buf, `,"reflectors":`...)
	buf = appendHostList(buf, &a.Reflectors)
	buf = append(buf, `,"targets":{"count":`...)
	buf = strconv.AppendInt(buf, int64(a.Targets.Count), 10)
	buf = append(buf, `,"responders":[`...)
	for i := range a.Targets.Responders {
		r := &a.Targets.Responders[i]
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, `{"addr":`...)
		buf = appendAddr(buf, r.Addr)
		buf = append(buf, `,"amplifier":`...)
		buf = strconv.AppendBool(buf, r.Amplifier)
		buf = appendCounterFields(buf, r.Packets, r.Bytes)
		buf = append(buf, '}')
	}
	buf = append(buf, `]},"requests":`...)
	buf = appendCounter(buf, a.Requests)
	buf = append(buf, `,"responses":`...)
	buf = appendCounter(buf, a.Responses)
	buf = append(buf, `,"amplification":`...)
	if a.HasAmplification {
		buf = appendRatio(buf, a.Amplification)
	} else {
		buf = append(buf, "null"...)
	}
	buf = append(buf, `,"wire_bytes":`...)
	buf = strconv.AppendUint(buf, a.WireBytes, 10)
	buf = append(buf, `,"peak_bps":`...)
	buf = appendNumber(buf, a.PeakBPS)
	buf = append(buf, `,"peak_pps":`...)
	buf = appendNumber(buf, a.PeakPPS)
	buf = append(buf, `,"direction":`...)
	buf = appendStringOrNull(buf, a.Direction)
	buf = append(buf, `,"remediation":`...)
	buf = appendStringOrNull(buf, a.Remediation)
	buf = append(buf, `,"sensor":`...)
	buf = appendStringOrNull(buf, a.Sensor)
	buf = append(buf, `,"source":`...)
	buf = appendStringOrNull(buf, a.Source)
	buf = append(buf, `,"sampling":`...)
	buf = appendSampling(buf, &a.Sampling)
	if a.Scope != "" {
		// A fleet incident's: a sensor's alert leaves them out, so that its bytes are what
		// they were before there was a fleet.
		buf = append(buf, `,"scope":`...)
		buf = appendString(buf, a.Scope)
		buf = append(buf, `,"sensors":[`...)
		for i, s := range a.Sensors {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = appendString(buf, s)
		}
		buf = append(buf, ']')
	}
	return append(buf, '}')
}

// appendSampling writes the sampling object of an alert from sampled input, null for full
// packets.
func appendSampling(buf []byte, s *detect.Sampling) []byte {
	if s.Samples == 0 {
		return append(buf, "null"...)
	}
	buf = append(buf, `{"rate":`...)
	buf = strconv.AppendUint(buf, s.Rate, 10)
	buf = append(buf, `,"samples":`...)
	buf = strconv.AppendUint(buf, s.Samples, 10)
	buf = append(buf, `,"error_pct":`...)
	buf = appendRatio(buf, s.ErrorPct)
	if s.LowerBounds {
		return append(buf, `,"distinct_counts":"lower_bound"}`...)
	}
	return append(buf, `,"distinct_counts":"exact"}`...)
}

func appendHostList(buf []byte, l *detect.HostList) []byte {
	buf = append(buf, `{"count":`...)
	buf = strconv.AppendInt(buf, int64(l.Count), 10)
	buf = append(buf, `,"top":[`...)
	for i := range l.Top {
		h := &l.Top[i]
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, `{"addr":`...)
		buf = appendAddr(buf, h.Addr)
		buf = appendCounterFields(buf, h.Packets, h.Bytes)
		buf = append(buf, '}')
	}
	return append(buf, "]}"...)
}

func appendCounter(buf []byte, c detect.Counter) []byte {
	buf = append(buf, `{"packets":`...)
	buf = strconv.AppendUint(buf, c.Packets, 10)
	buf = append(buf, `,"bytes":`...)
	buf = strconv.AppendUint(buf, c.Bytes, 10)
	return append(buf, '}')
}

// appendCounterFields appends `,"packets":P,"bytes":B`.
func appendCounterFields(buf []byte, packets, bytes uint64) []byte {
	buf = append(buf, `,"packets":`...)
	buf = strconv.AppendUint(buf, packets, 10)
	buf = append(buf, `,"bytes":`...)
	return strconv.AppendUint(buf, bytes, 10)
}

// appendTime writes t in UTC as RFC 3339 with as many fractional digits as needed, or null
// for the zero time.
func appendTime(buf []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(buf, "null"...)
	}
	buf = append(buf, '"')
	buf = t.UTC().AppendFormat(buf, time.RFC3339Nano)
	return append(buf, '"')
}

// appendAddr writes an address as a JSON string, or null for the zero Addr. A zone is dropped:
// it names an interface of the capturing host and means nothing to a SIEM.
func appendAddr(buf []byte, a netip.Addr) []byte {
	if !a.IsValid() {
		return append(buf, "null"...)
	}
	buf = append(buf, '"')
	buf = a.WithZone("").AppendTo(buf)
	return append(buf, '"')
}

// appendNumber writes v in the shortest decimal form that reads back as v, without an
// exponent (23160000, 0.5), or null when v is not finite, which JSON cannot carry.
func appendNumber(buf []byte, v float64) []byte {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return append(buf, "null"...)
	}
	return strconv.AppendFloat(buf, v, 'f', -1, 64)
}

// appendRatio writes v like appendNumber but always with a fractional part (5500.0), so a
// consumer that infers types from the first value it sees takes amplification as a float.
func appendRatio(buf []byte, v float64) []byte {
	start := len(buf)
	buf = appendNumber(buf, v)
	for _, c := range buf[start:] {
		if c == '.' || c == 'n' {
			return buf
		}
	}
	return append(buf, ".0"...)
}

func appendStringOrNull(buf []byte, s string) []byte {
	if s == "" {
		return append(buf, "null"...)
	}
	return appendString(buf, s)
}

const hexDigits = "0123456789abcdef"

// appendString writes s as a JSON string. Control characters, quote and backslash are escaped,
// invalid UTF-8 becomes U+FFFD, and U+2028/U+2029 are escaped as encoding/json does, so the
// line stays one valid JSON value for every consumer.
func appendString(buf []byte, s string) []byte {
	buf = append(buf, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				buf = append(buf, '\\', c)
			case c == '\n':
				buf = append(buf, '\\', 'n')
			case c == '\r':
				buf = append(buf, '\\', 'r')
			case c == '\t':
				buf = append(buf, '\\', 't')
			case c < 0x20 || c == 0x7f:
				buf = append(buf, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				buf = append(buf, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			buf = append(buf, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			buf = append(buf, `\u202`...)
			buf = append(buf, hexDigits[r&0xf])
		default:
			buf = append(buf, s[i:i+size]...)
		}
		i += size
	}
	return append(buf, '"')
}
