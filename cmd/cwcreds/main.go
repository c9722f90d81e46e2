// Command cwcreds exchanges an identity you already have for short-lived CoreWeave AI
// Object Storage keys and hands them to any AWS SDK.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/cwcreds/cwcreds/internal/cli"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, cli.Env{Args: os.Args[1:], Getenv: os.Getenv, Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Version: version})
	stop()
	os.Exit(code)
}
