//go:build !cgo

package decode

import "errors"

// openPcap fails in a build without cgo, which libpcap needs.
func openPcap(LiveConfig) ([]LiveSource, error) {
	return nil, errors.New("this ntpwatch was built without cgo, so without libpcap: rebuild with CGO_ENABLED=1")
}
