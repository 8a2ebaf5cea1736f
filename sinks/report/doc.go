// Package report turns the account of a finished run into what the analyst reads: the
// summary on stderr, the same as JSON for scripts (--summary-json), and a self-contained HTML
// report with a timeline per incident (--report). It reads only what the layers counted (the
// decoder's Stats, the engine's Report, the outputs' Report), never packets, so the figures
// it shows are the ones the alerts carry. It also draws the progress bar of `ntpwatch read`.
//
// Threading: a Summary is a plain value; a Progress runs its own goroutine and takes
// warnings from any goroutine.
package report
