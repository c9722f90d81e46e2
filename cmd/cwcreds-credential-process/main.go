// Command cwcreds-credential-process is the fast `cwcreds credential-process`: it
// answers from a warm disk cache in about the start-up time of a Go hello world,
// and hands every other call to `cwcreds credential-process` beside it. `cwcreds
// configure` writes it into the AWS config when it is installed next to cwcreds.
package main

import (
	"os"
	"os/exec"

	"github.com/cwcreds/cwcreds/internal/fastpath"
)

func main() {
	os.Exit(fastpath.Run(fastpath.Env{
		Args: os.Args[1:], Getenv: os.Getenv, Stdout: os.Stdout, Stderr: os.Stderr,
		Getwd: os.Getwd, Executable: os.Executable, LookPath: exec.LookPath,
	}))
}
