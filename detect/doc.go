// Package detect owns the accounting tables, the detectors and the alert lifecycle: it turns
// decode.Packet values into Alert events. Packet time is its only clock; it knows nothing of
// files, interfaces or outputs.
//
// Threading: an Engine belongs to one goroutine; its emit callback runs on that goroutine.
package detect
