package cli

import (
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/minato-ops/minato/image"
	"github.com/schollz/progressbar/v3"
)

// transferProgress shows a pull, push or copy: on a terminal one bar of
// the bytes of every layer seen so far; otherwise a plain line each time
// a layer changes action (never one per byte), which logs read well.
type transferProgress struct {
	mu     sync.Mutex
	w      io.Writer
	verb   string
	bar    *progressbar.ProgressBar
	layers map[string]*layerState
	order  []string
	quiet  bool
}

type layerState struct {
	action         string
	current, total int64
}

// newTransferProgress returns the progress display for verb ("pulling",
// "pushing") of ref on w; quiet shows nothing.
func newTransferProgress(w io.Writer, terminal, quiet bool, verb, ref string) *transferProgress {
	p := &transferProgress{w: w, verb: verb, layers: map[string]*layerState{}, quiet: quiet}
	if terminal && !quiet {
		p.bar = progressbar.NewOptions64(-1,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription(verb+" "+ref),
			progressbar.OptionShowBytes(true),
			progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionShowCount(),
			progressbar.OptionClearOnFinish(),
			progressbar.OptionSpinnerType(14),
		)
	}
	return p
}

// update takes one progress event.
func (p *transferProgress) update(ev image.Progress) {
	if p.quiet {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if ev.Layer == "" {
		if p.bar == nil && ev.Note != "" {
			fmt.Fprintf(p.w, "%s\n", ev.Note)
		}
		return
	}
	l, ok := p.layers[ev.Layer]
	if !ok {
		l = &layerState{}
		p.layers[ev.Layer] = l
		p.order = append(p.order, ev.Layer)
	}
	changed := l.action != ev.Action
	l.action = ev.Action
	if ev.Total > 0 {
		l.total = ev.Total
	}
	switch ev.Action {
	case "downloading", "pushing":
		l.current = ev.Current
	case "complete", "pushed", "exists", "verifying", "extracting":
		if l.total > 0 && (ev.Action != "extracting") {
			l.current = l.total
		}
	}
	if p.bar != nil {
		var cur, tot int64
		for _, id := range p.order {
			s := p.layers[id]
			cur += s.current
			tot += s.total
		}
		if tot > 0 {
			p.bar.ChangeMax64(tot)
			_ = p.bar.Set64(min(cur, tot))
		}
		return
	}
	if changed {
		line := fmt.Sprintf("%s: %s", ev.Layer, ev.Action)
		if l.total > 0 && slices.Contains([]string{"downloading", "pushing"}, ev.Action) {
			line += " " + bytesText(l.total)
		}
		fmt.Fprintln(p.w, line)
	}
}

// done ends the display.
func (p *transferProgress) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}

// bytesText formats n bytes as docker does ("12.3MB" in SI units would
// confuse with the limits operators set in binary units: use MiB).
func bytesText(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
