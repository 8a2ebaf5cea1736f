package report

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/ntpwatch/ntpwatch/decode"
	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progressRefresh is how often the bar is redrawn: often enough to look alive, rarely enough
// to cost nothing next to the analysis.
const progressRefresh = 100 * time.Millisecond

// maxHeldWarnings bounds the warnings held back while the bar is drawn.
const maxHeldWarnings = 100

// Progress draws a progress bar on stderr while a run reads its input: bytes read of the
// total (a spinner when the total is unknown, as for stdin), packets per second and the time
// left. It runs on a goroutine of its own and reads only counters that the analysis
// publishes atomically: the packet path does nothing for it beyond a counter.
//
// Warnings given to warn while the bar is up are held and printed when it goes, so that a
// line of text never tears the bar.
type Progress struct {
	w      io.Writer
	bar    *progressbar.ProgressBar // nil when no bar is drawn
	src    decode.Progresser
	frames func() uint64
	start  time.Time
	stop   chan struct{}
	done   chan struct{}

	mu       sync.Mutex
	held     []string
	heldLost int
}

// isTerminal tells whether w is a terminal: only then is a bar drawn.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// collides tells whether lines written to stdout would land on the terminal of stderr, where
// the bar redraws its line with carriage returns: a bar and alert lines there garble each
// other, so then no bar is drawn.
func collides(stderr, stdout io.Writer) bool {
	e, ok1 := stderr.(*os.File)
	o, ok2 := stdout.(*os.File)
	if !ok1 || !ok2 || !isTerminal(stdout) {
		return false
	}
	ei, err1 := e.Stat()
	oi, err2 := o.Stat()
	return err1 != nil || err2 != nil || os.SameFile(ei, oi)
}

// StartProgress starts the bar for src, whose frames read so far frames returns, when stderr
// is a terminal that stdout, where the run writes while it reads (nil when it writes
// nothing there), does not share, and quiet is off; otherwise the returned Progress only
// passes warnings through.
func StartProgress(stderr, stdout io.Writer, quiet bool, src decode.Source, frames func() uint64) *Progress {
	p := &Progress{w: stderr}
	pr, ok := src.(decode.Progresser)
	if quiet || !ok || !isTerminal(stderr) || stdout != nil && collides(stderr, stdout) {
		return p
	}
	_, total := pr.Progress()
	p.src, p.frames, p.start = pr, frames, time.Now()
	opts := []progressbar.Option{
		progressbar.OptionSetWriter(stderr),
		progressbar.OptionShowBytes(true),
		progressbar.OptionShowCount(),
		progressbar.OptionSetDescription("reading"),
		progressbar.OptionShowDescriptionAtLineEnd(),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(progressRefresh),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionSetTheme(progressbar.Theme{Saucer: "=", SaucerHead: ">", SaucerPadding: " ", BarStart: "[", BarEnd: "]"}),
	}
	if total < 0 {
		opts = append(opts, progressbar.OptionSpinnerType(14), progressbar.OptionSetElapsedTime(true))
	} else {
		opts = append(opts, progressbar.OptionSetPredictTime(true))
	}
	p.bar = progressbar.NewOptions64(total, opts...)
	p.stop, p.done = make(chan struct{}), make(chan struct{})
	go p.loop()
	return p
}

func (p *Progress) loop() {
	defer close(p.done)
	t := time.NewTicker(progressRefresh)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
			p.draw()
		}
	}
}

// draw updates the bar from the published counters.
func (p *Progress) draw() {
	done, _ := p.src.Progress()
	n := p.frames()
	rate := float64(n) / time.Since(p.start).Seconds()
	p.bar.Describe(fmt.Sprintf("%s pkts, %s pkts/s", Commas(n), SICount(rate)))
	p.bar.Set64(done)
}

// Warn prints a warning, or holds it while the bar is drawn.
func (p *Progress) Warn(err error) {
	line := fmt.Sprintf("ntpwatch: warning: %v\n", err)
	if p.bar == nil {
		io.WriteString(p.w, line)
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.held) < maxHeldWarnings {
		p.held = append(p.held, line)
	} else {
		p.heldLost++
	}
}

// Finish removes the bar and prints the warnings it held back.
func (p *Progress) Finish() {
	if p.bar != nil {
		close(p.stop)
		<-p.done
		p.bar.Finish()
		p.bar.Exit()
		fmt.Fprint(p.w, "\r\x1b[K") // the bar's line is left empty for the summary
		p.bar = nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, l := range p.held {
		io.WriteString(p.w, l)
	}
	if p.heldLost > 0 {
		fmt.Fprintf(p.w, "ntpwatch: warning: %d more warnings not shown\n", p.heldLost)
	}
	p.held, p.heldLost = nil, 0
}
