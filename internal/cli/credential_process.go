package cli

import (
	"context"
	"errors"

	"github.com/spf13/cobra"

	"github.com/cwcreds/cwcreds/internal/creds"
	"github.com/cwcreds/cwcreds/internal/logging"
)

type credentialProcessOptions struct {
	profileFlags
	logLevel string
	openTTY  ttyOpener
}

func newCredentialProcessCommand(env Env) *cobra.Command {
	o := &credentialProcessOptions{openTTY: openControllingTTY}
	cmd := &cobra.Command{
		Use:   "credential-process",
		Short: "Print a profile's keys for the AWS credential_process setting",
		Long: "Print the profile's keys as the one JSON object the AWS CLI and SDKs read from a\n" +
			"credential_process (`cwcreds configure` writes that line for you):\n\n" +
			"  {\"Version\":1,\"AccessKeyId\":\"…\",\"SecretAccessKey\":\"…\",\"Expiration\":\"…Z\"}\n\n" +
			"Keys are cached on disk (0600, in the cache folder) and shared by every process:\n" +
			"a warm cache answers without any network call, and many processes starting at\n" +
			"once with a cold cache make a single exchange between them.\n\n" +
			"When only an interactive login can help, it says so on the terminal (/dev/tty,\n" +
			"since the AWS CLI hides stderr) and fails at once with the command to run.\n" +
			"Nothing but the JSON is ever written to stdout; errors are one line on stderr.\n\n" +
			"cwcreds-credential-process, installed beside cwcreds, takes --profile and --config\n" +
			"and gives the same answer from a warm cache several times faster (it links only\n" +
			"the config and the cache); it hands every other call to this command.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runCredentialProcess(cmd.Context(), env, o)
		},
	}
	o.addFlags(cmd)
	o.addOverrideFlags(cmd)
	cmd.Flags().StringVar(&o.logLevel, "log-level", "error", "log level on stderr: debug, info, warn or error (the AWS CLI shows stderr only when the command fails)")
	return cmd
}

func runCredentialProcess(ctx context.Context, env Env, o *credentialProcessOptions) error {
	_, p, err := o.loadProfile(env)
	if err != nil {
		return err
	}
	logger, err := logging.New(env.Stderr, o.logLevel)
	if err != nil {
		return err
	}
	c, err := cachedCredentials(ctx, env, p, logger)
	if err != nil {
		var le *loginRequiredError
		if errors.As(err, &le) {
			tellTTY(o.openTTY, le.Error())
		}
		return err
	}
	out, err := creds.ProcessJSON(c)
	if err != nil {
		return err
	}
	_, err = env.Stdout.Write(out)
	return err
}
