package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/mattn/go-isatty"
)

// progressWriter counts what passes through it and, when out is a terminal, shows a line
// of progress there at most ten times a second (and the last state at Done).
type progressWriter struct {
	w     io.Writer
	out   *os.File
	name  string
	total int64 // 0: unknown
	n     int64
	shown time.Time
	tty   bool
}

// newProgress wraps w; progress goes to out only if out is a terminal.
func newProgress(w io.Writer, out *os.File, name string, offset, total int64) *progressWriter {
	return &progressWriter{w: w, out: out, name: name, n: offset, total: total,
		tty: isTerminal(out)}
}

func (p *progressWriter) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	p.n += int64(n)
	if p.tty && time.Since(p.shown) > 100*time.Millisecond {
		p.show()
	}
	return n, err
}

func (p *progressWriter) show() {
	p.shown = time.Now()
	if p.total > 0 {
		fmt.Fprintf(p.out, "\r%s: %d of %d bytes (%d %%)", p.name, p.n, p.total, p.n*100/p.total)
	} else {
		fmt.Fprintf(p.out, "\r%s: %d bytes", p.name, p.n)
	}
}

// isTerminal reports whether f is a terminal.
func isTerminal(f *os.File) bool { return isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()) }

// Done ends the progress line.
func (p *progressWriter) Done() {
	if p.tty {
		p.show()
		fmt.Fprintln(p.out)
	}
}
