package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/cwcreds/cwcreds/internal/config"
	"github.com/cwcreds/cwcreds/internal/creds"
	"github.com/cwcreds/cwcreds/internal/logging"
)

type execOptions struct {
	profileFlags
	server   bool
	logLevel string
}

func newExecCommand(env Env) *cobra.Command {
	o := &execOptions{}
	cmd := &cobra.Command{
		Use:   "exec [--profile P] [--server] -- COMMAND [ARGS…]",
		Short: "Run a command with a profile's keys in its environment",
		Long: "Run COMMAND with AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN (when\n" +
			"the keys have one), AWS_CREDENTIAL_EXPIRATION and the profile's AWS_ENDPOINT_URL_S3,\n" +
			"AWS_REGION and AWS_DEFAULT_REGION. Keys come from the same disk cache as\n" +
			"credential-process.\n\n" +
			"With --server the command gets no keys: a private container-credentials endpoint\n" +
			"on 127.0.0.1 (random port, random token in a 0600 file) hands them out through\n" +
			"AWS_CONTAINER_CREDENTIALS_FULL_URI and AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (and\n" +
			"AWS_CONTAINER_AUTHORIZATION_TOKEN, for older SDKs that read only that one) and\n" +
			"refreshes them ahead of expiry, so a long-running command never runs out. It\n" +
			"stops when the command exits. AWS SDKs try a profile's own credentials from\n" +
			"~/.aws before a container endpoint, so keep the default profile free of keys.\n\n" +
			"AWS credential variables already set (AWS_ACCESS_KEY_ID, AWS_PROFILE, …) are\n" +
			"removed from the command's environment, with a warning. SIGINT, SIGTERM and\n" +
			"SIGHUP are passed on to the command; cwcreds exits with the command's exit\n" +
			"code (128 + the signal number when a signal ended it).",
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runExec(cmd.Context(), env, o, args)
		},
	}
	// Everything after the command's name belongs to the command, `--` or not.
	cmd.Flags().SetInterspersed(false)
	o.addProfileFlags(cmd)
	cmd.Flags().BoolVar(&o.server, "server", false, "serve keys to the command from a private container-credentials endpoint that keeps them fresh")
	cmd.Flags().StringVar(&o.logLevel, "log-level", "warn", "log level on stderr: debug, info, warn or error")
	return cmd
}

func runExec(ctx context.Context, env Env, o *execOptions, args []string) error {
	_, p, err := o.loadProfile(env)
	if err != nil {
		return err
	}
	logger, err := logging.New(env.Stderr, o.logLevel)
	if err != nil {
		return err
	}
	defer func() { _ = logger.Sync() }()
	path, err := exec.LookPath(args[0])
	if err != nil {
		// 127, as a shell answers for a command it cannot find.
		return &exitError{code: 127, err: fmt.Errorf("cannot run %s: %w", args[0], errors.Unwrap(err))}
	}

	var vars []creds.EnvVar
	if o.server {
		ep, err := startPrivateEndpoint(ctx, env, p, logger)
		if err != nil {
			return err
		}
		defer ep.stop()
		// Both token variables: SDKs that predate the _FILE one (aws-sdk-go v1
		// before 1.47.11, Java v1, Hadoop's s3a, rclone, s5cmd) read only the value.
		// It is this endpoint's own token, as readable as the file already is.
		vars = append([]creds.EnvVar{{Name: envContainerFull, Value: ep.url},
			{Name: envContainerToken, Value: ep.tokenFile}, {Name: envContainerTokVal, Value: ep.token}}, profileEnv(p)...)
	} else {
		vars, err = staticEnv(ctx, env, p, logger)
		if err != nil {
			return err
		}
	}

	childVars, found := childEnv(os.Environ(), vars)
	if len(found) > 0 {
		fmt.Fprintf(env.Stderr, "cwcreds: warning: not passing %s from this environment to %s: it gets profile %s's credentials instead\n",
			strings.Join(found, ", "), args[0], p.Name)
	}
	code, err := runChild(env, path, args, childVars)
	if err != nil {
		return err
	}
	if code != 0 {
		return &exitError{code: code, err: errSilent}
	}
	return nil
}

// errSilent ends cwcreds with an exit code and no message: the command that ran
// has said what it had to say.
var errSilent = errors.New("")

// staticEnv is the environment that hands p's cached keys to a child.
func staticEnv(ctx context.Context, env Env, p *config.Profile, logger *zap.Logger) ([]creds.EnvVar, error) {
	c, err := cachedCredentials(ctx, env, p, logger)
	if err != nil {
		return nil, err
	}
	return creds.EnvVars(c, profileEnv(p)...), nil
}

// forwardedSignals are passed on to the command. A terminal's Ctrl-C reaches the
// command directly too (same process group); signals sent to cwcreds alone, by a
// supervisor or `kill`, reach it only through us.
var forwardedSignals = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP}

// runChild runs the command to its end and returns its exit code. cwcreds's own
// context is not used to stop it: on a signal the command decides how to end,
// and cwcreds waits for it.
func runChild(env Env, path string, args, vars []string) (int, error) {
	cmd := exec.Command(path, args[1:]...)
	cmd.Args[0] = args[0]
	cmd.Env = vars
	cmd.Stdin, cmd.Stdout, cmd.Stderr = env.Stdin, env.Stdout, env.Stderr

	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, forwardedSignals...)
	defer signal.Stop(sigs)
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("cannot run %s: %w", args[0], err)
	}
	done := make(chan struct{})
	go func() {
		for {
			select {
			case s := <-sigs:
				_ = cmd.Process.Signal(s)
			case <-done:
				return
			}
		}
	}()
	err := cmd.Wait()
	close(done)
	if err == nil {
		return 0, nil
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return 0, fmt.Errorf("running %s failed: %w", args[0], err)
	}
	return exitCodeOf(ee.ProcessState), nil
}

// exitCodeOf is the shell's convention: the exit status, or 128 + the signal.
func exitCodeOf(ps *os.ProcessState) int {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	if c := ps.ExitCode(); c >= 0 {
		return c
	}
	return 1
}
