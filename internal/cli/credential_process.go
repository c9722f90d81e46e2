package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/gofrs/flock"

	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/cwcreds/cwcreds/internal/config"
	"github.com/cwcreds/cwcreds/internal/creds"
	"github.com/cwcreds/cwcreds/internal/fastpath"
	"github.com/cwcreds/cwcreds/internal/fileutil"
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
			"When the profile needs a login (cwcreds login) and a terminal is reachable, it\n" +
			"runs the login there, on /dev/tty since the AWS CLI hides stderr, once for all\n" +
			"the processes waiting on it; without a terminal it fails at once with the\n" +
			"command to run.\n" +
			"Nothing but the JSON is ever written to stdout; errors are one line on stderr.\n\n" +
			"cwcreds-credential-process, installed beside cwcreds, takes --profile and --config\n" +
			"and gives the same answer from a warm cache several times faster: it links only\n" +
			"the disk cache, and knows which profile the arguments select from a memo this\n" +
			"command leaves in the cache folder (hashes of what the config resolution read,\n" +
			"no secrets). Every other call, and the first after the config or its environment\n" +
			"changes, it hands to this command.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runCredentialProcess(cmd.Context(), env, o)
		},
	}
	o.addProfileFlags(cmd)
	cmd.Flags().StringVar(&o.logLevel, "log-level", "error", "log level on stderr: debug, info, warn or error (the AWS CLI shows stderr only when the command fails)")
	return cmd
}

func runCredentialProcess(ctx context.Context, env Env, o *credentialProcessOptions) error {
	// What config.Load reads is recorded for cwcreds-credential-process's memo.
	rec := fastpath.NewRecorder(env.Getenv, config.ReadConfigFile)
	cfg, err := config.Load(config.LoadOptions{Path: o.configPath, Getenv: rec.Getenv, ReadFile: rec.ReadFile, Flags: o.overrides})
	if err != nil {
		return err
	}
	p, err := cfg.Profile("")
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
		if !errors.As(err, &le) {
			return err
		}
		if c, err = o.logInHere(ctx, env, p, le, logger); err != nil {
			return err
		}
	}
	out, err := creds.ProcessJSON(c)
	if err != nil {
		return err
	}
	if _, err := env.Stdout.Write(out); err != nil {
		return err
	}
	if err := o.remember(env, rec, cfg, p); err != nil {
		logger.Debug("could not leave a memo for cwcreds-credential-process; it will hand the next call over again", zap.Error(err))
	}
	return nil
}

// remember lets cwcreds-credential-process answer the next calls with the same
// arguments from the cache without reading the config (fastpath.Remember). Only
// calls it could have made itself, with no flag but --config and --profile,
// leave a memo.
func (o *credentialProcessOptions) remember(env Env, rec *fastpath.Recorder, cfg *config.Config, p *config.Profile) error {
	if o.overrides != (config.Overrides{Profile: o.overrides.Profile}) {
		return nil
	}
	workDir := ""
	if cfg.DependsOnWorkDir() {
		wd, err := os.Getwd()
		if err != nil {
			return err
		}
		workDir = wd
	}
	res := fastpath.Resolution{Key: cacheKey(p, rec.Getenv, rec.ReadFile), CacheDir: p.CacheDir, Policy: policyOf(p)}
	return fastpath.Remember(env.Getenv, o.configPath, o.overrides.Profile, rec, res, workDir)
}

// logInHere runs the login a profile needs on the terminal, when there is one:
// the AWS CLI and SDKs swallow a credential_process's stderr, so the URL and code
// go to /dev/tty. Without a terminal it fails at once with le's one-line hint.
// One login per profile across processes: ten AWS calls starting at once take
// turns on a lock, and those that get it after a login has cached keys use them.
func (o *credentialProcessOptions) logInHere(ctx context.Context, env Env, p *config.Profile, le *loginRequiredError, logger *zap.Logger) (creds.Credentials, error) {
	if p.Source.Type != config.SourceOIDCRefresh && p.Source.Type != config.SourceSAMLLogin {
		tellTTY(o.openTTY, le.Error())
		return creds.Credentials{}, le
	}
	tty, err := o.openTTY()
	if err != nil {
		return creds.Credentials{}, le
	}
	defer tty.Close()
	store, err := diskStore(p, logger, nil)
	if err != nil {
		return creds.Credentials{}, err
	}
	if err := fileutil.EnsurePrivateDir(p.CacheDir); err != nil {
		return creds.Credentials{}, fmt.Errorf("cache folder: %w", err)
	}
	sum := sha256.Sum256([]byte(p.Name))
	lock := flock.New(filepath.Join(p.CacheDir, "login-"+hex.EncodeToString(sum[:8])+".lock"),
		flock.SetPermissions(0o600), flock.SetFlag(os.O_CREATE|os.O_RDONLY|fileutil.NoBlockFlags))
	defer lock.Close()
	lctx, cancel := context.WithTimeout(ctx, DefaultLoginTimeout+30*time.Second)
	defer cancel()
	if ok, err := lock.TryLockContext(lctx, 100*time.Millisecond); !ok {
		if ctx.Err() != nil {
			return creds.Credentials{}, fmt.Errorf("gave up waiting for the login of profile %q: %w", p.Name, ctx.Err())
		}
		return creds.Credentials{}, fmt.Errorf("could not wait for another login of profile %q (lock %s): %v", p.Name, lock.Path(), err)
	}
	defer func() { _ = lock.Unlock() }()
	if _, ok := store.Fresh(processCacheKey(env, p), policyOf(p)); !ok { // nobody logged in meanwhile
		fmt.Fprintf(tty, "cwcreds: profile %s needs a login (%s)\n", p.Name, le.reason)
		loginEnv := env
		loginEnv.Stdout, loginEnv.Stderr = io.Discard, tty
		if err := runLogin(ctx, loginEnv, &loginOptions{profileFlags: o.profileFlags, timeout: DefaultLoginTimeout, logLevel: "error"}); err != nil {
			return creds.Credentials{}, err
		}
	}
	return cachedCredentials(ctx, env, p, logger)
}
