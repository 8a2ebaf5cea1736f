package main

import (
	"os"
	"runtime/debug"
)

// memoryLimit is the soft limit of the Go heap (runtime/debug.SetMemoryLimit) unless the
// GOMEMLIMIT environment variable sets another. The budget is 256 MiB of peak RSS on any
// input. At their caps the detect tables hold about 135 MiB live, and the collector's default
// pacing (GOGC=100) lets the heap grow well past that between cycles: 212 MiB peak RSS
// measured with 2,000 reflectors answering ever new clients. Near the limit the collector
// runs earlier instead; far below it, as on every sample capture, it changes nothing.
const memoryLimit = 200 << 20

// limitMemory applies memoryLimit when the user did not choose a limit.
func limitMemory() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit)
	}
}
