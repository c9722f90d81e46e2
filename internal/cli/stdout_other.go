//go:build !unix

package cli

import "io"

// detached says what detachStdout did.
type detached struct {
	released, newSession, waitedOn bool
	err                            error
}

// detachStdout does nothing where there is no eval "$(…)" to serve.
func detachStdout(io.Writer, io.Reader) detached { return detached{} }
