//go:build !cgo

package decode

import "errors"

// frameFilter cannot be built without cgo, which libpcap's compiler needs.
type frameFilter struct{}

func compileFilter(string, LinkType) (*frameFilter, error) {
	return nil, errors.New("this ntpwatch was built without cgo, so without libpcap's filter compiler: rebuild with CGO_ENABLED=1")
}

func (*frameFilter) matches(*Frame) bool { return false }
