// Package buildinfo says which code a binary was built from: the module version of a release,
// or, for a build from a git checkout, the commit Go recorded in the binary. The version
// command, the HTML report, the ECS observer and the ntpwatch_build_info metric all read it
// here, so that a bug report and an alert name the same build.
package buildinfo

import (
	"fmt"
	"runtime/debug"
	"sync"
)

// Info describes a build.
type Info struct {
	// Version is the module version of a release build ("v1.2.0"), or "(devel)".
	Version string
	// Revision is the git commit the binary was built from, "" when Go did not record one
	// (go test, go run, a build outside a checkout).
	Revision string
	// Modified is true when the checkout had uncommitted changes.
	Modified bool
	// Time is the commit's time, RFC 3339, "" when unknown.
	Time string
	// GoVersion is the toolchain that built the binary ("go1.26.0").
	GoVersion string
}

// Read returns the running binary's build information; it is read once.
var Read = sync.OnceValue(func() Info {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return Info{Version: "(devel)"}
	}
	return fromBuildInfo(bi)
})

func fromBuildInfo(bi *debug.BuildInfo) Info {
	in := Info{Version: bi.Main.Version, GoVersion: bi.GoVersion}
	if in.Version == "" {
		in.Version = "(devel)"
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			in.Revision = s.Value
		case "vcs.time":
			in.Time = s.Value
		case "vcs.modified":
			in.Modified = s.Value == "true"
		}
	}
	return in
}

// String is the version as `ntpwatch version` prints it: the release version, or for a
// development build "(devel)" followed by the commit, "+modified" for a dirty checkout, the
// commit's time and the Go version.
func (in Info) String() string {
	if in.Version != "(devel)" || in.Revision == "" {
		return in.Version
	}
	return fmt.Sprintf("(devel) %.12s%s %s %s", in.Revision, in.dirty(), in.Time, in.GoVersion)
}

// Short is the version in one word, for a field of an alert or a report: the release
// version, "devel-" and the commit's first 12 digits (with "+modified"), or "devel".
func (in Info) Short() string {
	switch {
	case in.Version != "(devel)":
		return in.Version
	case in.Revision != "":
		return fmt.Sprintf("devel-%.12s%s", in.Revision, in.dirty())
	}
	return "devel"
}

func (in Info) dirty() string {
	if in.Modified {
		return "+modified"
	}
	return ""
}
