//go:build unix

package cli

import (
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
	"golang.org/x/term"
)

// detached says what detachStdout did.
type detached struct {
	released   bool  // stdout now points at /dev/null
	newSession bool  // the process left the terminal's session
	waitedOn   bool  // stdout is a pipe and stdin a terminal: eval "$(cmd)" without '&'
	err        error // stdout could not be released
}

// detachStdout lets go of stdout when it is a file that is not a terminal, by
// pointing the descriptor at /dev/null: a shell reading it in eval "$(…)" then
// sees end-of-file and goes on while this process keeps serving. (Closing it would
// let a later socket reuse descriptor 1.)
//
// When stdin is /dev/null as well — how POSIX shells start a background command
// when job control is off, as in eval "$(cmd &)" — the process also starts a new
// session. It would otherwise stay in the shell's process group, and Ctrl-C at the
// prompt, which signals that group, would stop it. A process started any other
// way keeps its session, so Ctrl-C stops it as usual.
func detachStdout(stdout io.Writer, stdin io.Reader) detached {
	out, ok := stdout.(*os.File)
	if !ok || term.IsTerminal(int(out.Fd())) {
		return detached{}
	}
	var d detached
	if fi, err := out.Stat(); err == nil && fi.Mode()&os.ModeNamedPipe != 0 {
		if in, ok := stdin.(*os.File); ok && term.IsTerminal(int(in.Fd())) {
			d.waitedOn = true
		}
	}
	// The new session comes first: the shell goes on as soon as stdout is
	// released, and may signal its process group at once.
	if isDevNull(stdin) {
		// EPERM: already a process group leader (e.g. a job of an interactive
		// shell, which Ctrl-C at the prompt does not reach anyway).
		_, err := unix.Setsid()
		d.newSession = err == nil
	}
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		d.err = fmt.Errorf("could not open %s: %w", os.DevNull, err)
		return d
	}
	defer null.Close()
	if err := unix.Dup2(int(null.Fd()), int(out.Fd())); err != nil {
		d.err = fmt.Errorf("could not point stdout at %s: %w", os.DevNull, err)
		return d
	}
	d.released = true
	return d
}

// isDevNull reports whether r is the null device.
func isDevNull(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	var got, null unix.Stat_t
	if unix.Fstat(int(f.Fd()), &got) != nil || unix.Stat(os.DevNull, &null) != nil {
		return false
	}
	return got.Mode&unix.S_IFMT == unix.S_IFCHR && got.Rdev == null.Rdev
}
