package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Time is a flag.Value for a packet time (read's --start and --end), in UTC like every time
// ntpwatch prints: RFC 3339 (2026-03-14T09:00:40Z, an offset allowed), the same with a space
// for the T and no zone (2026-03-14 09:00:40, as the summary shows times, and as editcap -A
// takes them), or Unix seconds with an optional fraction (1773478840.5, tcpdump's -tt).
type Time struct{ T *time.Time }

// maxUnixSeconds is 9999-12-31T23:59:59Z.
const maxUnixSeconds = 253402300799

// timeLayouts are the layouts Set tries after RFC 3339; they are read as UTC.
var timeLayouts = []string{"2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999", "2006-01-02 15:04", "2006-01-02"}

func (v Time) String() string {
	if v.T == nil || v.T.IsZero() {
		return ""
	}
	return v.T.UTC().Format(time.RFC3339Nano)
}

func (v Time) Set(s string) error {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		*v.T = t
		return nil
	}
	for _, layout := range timeLayouts {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			*v.T = t
			return nil
		}
	}
	if sec, frac, _ := strings.Cut(s, "."); sec != "" && strings.Trim(sec, "0123456789") == "" && strings.Trim(frac, "0123456789") == "" {
		// Beyond the year 9999 no layout writes the time back, and no capture holds one.
		n, err := strconv.ParseInt(sec, 10, 64)
		if err == nil && len(frac) <= 9 && n <= maxUnixSeconds {
			ns, _ := strconv.ParseInt((frac + "000000000")[:9], 10, 64)
			*v.T = time.Unix(n, ns).UTC()
			return nil
		}
	}
	return fmt.Errorf("%q is not a time: give 2026-03-14T09:00:40Z, 2026-03-14 09:00:40 (UTC) or Unix seconds", s)
}
