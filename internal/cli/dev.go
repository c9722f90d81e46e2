package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/cwcreds/cwcreds/internal/emulator"
	"github.com/cwcreds/cwcreds/internal/fileutil"
	"github.com/cwcreds/cwcreds/internal/logging"
)

func newDevCommand(env Env) *cobra.Command {
	dev := &cobra.Command{
		Use:   "dev",
		Short: "Development tools: a built-in CoreWeave emulator",
	}
	dev.AddCommand(newDevEmulatorCommand(env))
	return dev
}

type devEmulatorOptions struct {
	listen           string
	s3Listen         string
	propagationDelay time.Duration
	tokenLifetime    time.Duration
	tokenSubject     string
	stateDir         string
	logLevel         string
}

func (o *devEmulatorOptions) addFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&o.listen, "listen", "127.0.0.1:9900", "address of the emulated CoreWeave API (port 0 picks a free one)")
	f.StringVar(&o.s3Listen, "s3-listen", "127.0.0.1:9901", "address of the emulated S3 endpoint (port 0 picks a free one)")
	f.DurationVar(&o.propagationDelay, "propagation-delay", 2*time.Second, "how long a new key is refused by S3, like the real service's propagation delay")
	f.DurationVar(&o.tokenLifetime, "token-lifetime", time.Hour, "lifetime of the dev issuer's token written to CWCREDS_TOKEN_FILE")
	f.StringVar(&o.tokenSubject, "token-subject", "dev-workload", "subject of the dev issuer's token")
	f.StringVar(&o.stateDir, "state-dir", "", "folder for the token file (default: a new temporary folder, removed on exit)")
	f.StringVar(&o.logLevel, "log-level", "info", "log level on stderr: debug, info, warn or error")
}

func newDevEmulatorCommand(env Env) *cobra.Command {
	o := &devEmulatorOptions{}
	cmd := &cobra.Command{
		Use:   "emulator",
		Short: "Run the CoreWeave API and S3 emulator and print the shell exports to use it",
		Long: "Run an in-memory CoreWeave CWObject API and S3 endpoint on loopback. When ready, the\n" +
			"shell export lines that point cwcreds and the AWS tools at it are printed on stdout\n" +
			"(and nothing else; logs go to stderr). It serves until SIGINT or SIGTERM, then exits 0.\n\n" +
			evalHelp("cwcreds dev emulator", "CWCREDS_EMULATOR_PID"),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDevEmulator(cmd.Context(), env, o)
		},
	}
	o.addFlags(cmd)
	return cmd
}

func runDevEmulator(ctx context.Context, env Env, o *devEmulatorOptions) error {
	if o.tokenLifetime < time.Minute || o.tokenLifetime > 24*time.Hour {
		return fmt.Errorf("--token-lifetime %s is out of range: use between 1m and 24h", o.tokenLifetime)
	}
	logger, err := logging.New(env.Stderr, o.logLevel)
	if err != nil {
		return err
	}
	defer func() { _ = logger.Sync() }()

	clock := clockwork.NewRealClock()
	emu, err := emulator.New(emulator.Config{
		Clock:               clock,
		Logger:              logger,
		KeyPropagationDelay: o.propagationDelay,
	})
	if err != nil {
		return fmt.Errorf("could not create the emulator: %w", err)
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := emu.Start(ctx, o.listen, o.s3Listen); err != nil {
		return fmt.Errorf("could not start the emulator: %w (pass --listen/--s3-listen 127.0.0.1:0 to pick free ports)", err)
	}

	stateDir := o.stateDir
	if stateDir == "" {
		stateDir, err = os.MkdirTemp("", "cwcreds-dev-")
		if err != nil {
			return fmt.Errorf("could not create a state folder: %w", err)
		}
		defer os.RemoveAll(stateDir)
	}
	if err := fileutil.EnsurePrivateDir(stateDir); err != nil {
		return err
	}
	tokenFile := filepath.Join(stateDir, "token")
	writer := &tokenFileWriter{
		issuer:   emu.DevIssuer(),
		path:     tokenFile,
		subject:  o.tokenSubject,
		lifetime: o.tokenLifetime,
		clock:    clock,
	}
	if err := writer.write(); err != nil {
		return err
	}

	logins, err := startDevLogins(ctx, emu, stateDir, tokenFile, o.propagationDelay, env.Getenv, clock, logger)
	if err != nil {
		return err
	}
	exports := append(emulatorExports(emu, tokenFile), logins.exports()...)
	exports = append(exports, pidExport("CWCREDS_EMULATOR_PID", os.Getpid()))
	if err := writeExports(env.Stdout, exports); err != nil {
		return err
	}
	logger.Info("emulator ready", zap.String("api", emu.APIURL()), zap.String("s3", emu.S3URL()), zap.String("org", emu.OrgID()))
	releaseStdout(env, logger, "cwcreds dev emulator")

	// The token writer stops with ctx; its failure stops the emulator too.
	writerErr := writer.run(ctx)
	cancel()
	if err := emu.Wait(); err != nil {
		return fmt.Errorf("emulator stopped: %w", err)
	}
	if writerErr != nil && !errors.Is(writerErr, context.Canceled) {
		return writerErr
	}
	logger.Info("emulator stopped")
	return nil
}
