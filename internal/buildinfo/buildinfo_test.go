package buildinfo

import (
	"runtime/debug"
	"testing"
)

func TestVersionStrings(t *testing.T) {
	settings := func(kv ...string) []debug.BuildSetting {
		var s []debug.BuildSetting
		for i := 0; i < len(kv); i += 2 {
			s = append(s, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return s
	}
	cases := []struct {
		name        string
		bi          debug.BuildInfo
		long, short string
	}{
		{"release", debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "v1.2.0"},
			Settings: settings("vcs.revision", "0123456789abcdef0123")}, "v1.2.0", "v1.2.0"},
		{"checkout", debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "(devel)"},
			Settings: settings("vcs.revision", "0123456789abcdef0123", "vcs.time", "2026-03-14T09:00:00Z", "vcs.modified", "false")},
			"(devel) 0123456789ab 2026-03-14T09:00:00Z go1.26.0", "devel-0123456789ab"},
		{"dirty checkout", debug.BuildInfo{GoVersion: "go1.26.0",
			Settings: settings("vcs.revision", "0123456789abcdef0123", "vcs.time", "2026-03-14T09:00:00Z", "vcs.modified", "true")},
			"(devel) 0123456789ab+modified 2026-03-14T09:00:00Z go1.26.0", "devel-0123456789ab+modified"},
		{"go test", debug.BuildInfo{GoVersion: "go1.26.0"}, "(devel)", "devel"},
	}
	for _, tc := range cases {
		in := fromBuildInfo(&tc.bi)
		if in.String() != tc.long || in.Short() != tc.short {
			t.Errorf("%s: %q, %q; want %q, %q", tc.name, in.String(), in.Short(), tc.long, tc.short)
		}
		if in.GoVersion != "go1.26.0" {
			t.Errorf("%s: GoVersion %q", tc.name, in.GoVersion)
		}
	}
}
