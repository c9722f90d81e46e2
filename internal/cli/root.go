// Package cli holds one file per cwcreds command: flags → options → calls into the
// packages that do the work. Run is the whole program, so tests drive it in-process.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cwcreds/cwcreds/internal/exchange"
)

// Env is everything the program takes from its process.
type Env struct {
	Args    []string
	Getenv  func(string) string
	Stdin   io.Reader
	Stdout  io.Writer
	Stderr  io.Writer
	Version string
	// Keyring is the OS keyring API tokens may be read from; nil: the real one.
	Keyring exchange.Keyring
}

// exitError carries a specific exit code through cobra.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// Run executes cwcreds with env and returns the process exit code. Errors are
// printed once, on stderr, as "cwcreds: <message>".
func Run(ctx context.Context, env Env) int {
	if env.Getenv == nil {
		env.Getenv = func(string) string { return "" }
	}
	if env.Version == "" {
		env.Version = "dev"
	}
	root := newRootCommand(env)
	root.SetArgs(env.Args)
	if err := root.ExecuteContext(ctx); err != nil {
		// An empty message (exec passing on its command's exit code) prints nothing.
		if msg := oneLine(err.Error()); msg != "" {
			if ctx.Err() != nil && errors.Is(err, context.Canceled) {
				msg = fmt.Sprintf("interrupted (%v): %s", context.Cause(ctx), strings.TrimSuffix(msg, ": "+context.Canceled.Error()))
			}
			fmt.Fprintf(env.Stderr, "cwcreds: %s\n", msg)
		}
		var ee *exitError
		if errors.As(err, &ee) {
			return ee.code
		}
		return 1
	}
	return 0
}

func newRootCommand(env Env) *cobra.Command {
	root := &cobra.Command{
		Use:   "cwcreds",
		Short: "Short-lived CoreWeave AI Object Storage keys for any AWS SDK",
		Long: "cwcreds exchanges an identity you already have (a Kubernetes service-account token,\n" +
			"an OIDC or SAML login, a CoreWeave API token) for short-lived CoreWeave AI Object\n" +
			"Storage access keys, keeps them fresh, and hands them to any AWS SDK.",
		SilenceErrors: true,
		SilenceUsage:  true,
		Version:       env.Version,
	}
	root.SetIn(env.Stdin)
	root.SetOut(env.Stdout)
	root.SetErr(env.Stderr)
	root.SetVersionTemplate("cwcreds {{.Version}}\n")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return fmt.Errorf("%w (see '%s --help')", err, c.CommandPath())
	})
	root.AddCommand(
		newVersionCommand(env),
		newCompletionCommand(env),
		newDevCommand(env),
		newConfigCommand(env),
		newCredentialProcessCommand(env),
		newExecCommand(env),
		newEnvCommand(env),
		newConfigureCommand(env),
		newStatusCommand(env),
		newLoginCommand(env),
		newLogoutCommand(env),
		newKeysCommand(env),
		newPoliciesCommand(env),
		newBucketsCommand(env),
		newOrgCommand(env),
		newCanICommand(env),
		newDoctorCommand(env),
	)
	root.AddCommand(newServeCommand(env))
	root.AddCommand(newAgentCommand(env))
	root.AddCommand(newInjectCommand(env))
	return root
}

// oneLine keeps an error to a single line, whatever wrapped it.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
