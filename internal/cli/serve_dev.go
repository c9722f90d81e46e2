package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/jonboulle/clockwork"
	"go.uber.org/zap"

	"github.com/cwcreds/cwcreds/internal/config"
	"github.com/cwcreds/cwcreds/internal/emulator"
	"github.com/cwcreds/cwcreds/internal/emulator/s3emu"
	"github.com/cwcreds/cwcreds/internal/fileutil"
)

const (
	// devProfile is the one profile --dev serves.
	devProfile = config.DefaultProfileName
	// devTokenLifetime is the dev issuer's token lifetime; it is rewritten at 80%.
	devTokenLifetime = time.Hour
	// devReadyTimeout bounds the wait for the dev profile's first usable keys.
	devReadyTimeout = 30 * time.Second
	// devReadyPoll is how often readiness is checked meanwhile.
	devReadyPoll = 50 * time.Millisecond
)

// awsCredentialVars take precedence over the container endpoint in every SDK's
// default chain; set in the shell that evals the --dev exports, they would hide it.
var awsCredentialVars = []string{"AWS_ACCESS_KEY_ID", "AWS_PROFILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_WEB_IDENTITY_TOKEN_FILE"}

// devServe is what --dev adds to serve: the emulator, its dev issuer's token in a
// file rewritten before expiry, and a config whose one profile, "default",
// exchanges that token (token_file source, oidc exchange).
type devServe struct {
	o          *serveOptions
	log        *zap.Logger
	clock      clockwork.Clock
	emu        *emulator.Emulator
	stopEmu    context.CancelFunc
	stateDir   string
	tokenFile  string
	configPath string
	writer     *tokenFileWriter
	logins     *devLogins
}

// startDev starts the emulator and writes the token file and the config into a
// new temporary folder, which close removes.
func startDev(ctx context.Context, o *serveOptions, log *zap.Logger, clock clockwork.Clock, getenv func(string) string) (*devServe, error) {
	emu, err := emulator.New(emulator.Config{Clock: clock, Logger: log.Named("emulator"), KeyPropagationDelay: o.emulatorPropagation})
	if err != nil {
		return nil, fmt.Errorf("could not create the emulator: %w", err)
	}
	// The emulator stops last, after close: --revoke-on-exit still talks to it.
	emuCtx, stopEmu := context.WithCancel(context.WithoutCancel(ctx))
	if err := emu.Start(emuCtx, o.emulatorListen, o.emulatorS3Listen); err != nil {
		stopEmu()
		return nil, fmt.Errorf("could not start the emulator: %w (choose free addresses with --emulator-listen and --emulator-s3-listen)", err)
	}
	s := &devServe{o: o, log: log, clock: clock, emu: emu, stopEmu: stopEmu}
	if err := s.writeState(); err != nil {
		s.close()
		return nil, err
	}
	if s.logins, err = startDevLogins(emuCtx, emu, s.stateDir, s.tokenFile, o.emulatorPropagation, getenv, clock, log); err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

func (s *devServe) writeState() error {
	dir, err := os.MkdirTemp("", "cwcreds-dev-")
	if err != nil {
		return fmt.Errorf("could not create a state folder: %w", err)
	}
	if s.stateDir, err = filepath.Abs(dir); err != nil {
		return err
	}
	if err := fileutil.EnsurePrivateDir(s.stateDir); err != nil {
		return err
	}
	s.tokenFile = filepath.Join(s.stateDir, "token")
	s.writer = &tokenFileWriter{issuer: s.emu.DevIssuer(), path: s.tokenFile, subject: "dev-workload", lifetime: devTokenLifetime, clock: s.clock}
	if err := s.writer.write(); err != nil {
		return err
	}
	s.configPath = filepath.Join(s.stateDir, "config.yaml")
	return fileutil.WriteFileAtomic(s.configPath, s.config(), 0o600)
}

// config is the dev config file. Values are JSON strings, which YAML reads as
// double-quoted scalars.
func (s *devServe) config() []byte {
	q := func(v string) string {
		b, _ := json.Marshal(v) // a string always marshals
		return string(b)
	}
	return fmt.Appendf(nil, `# written by cwcreds serve --dev
api_endpoint: %s
org_id: %s
s3_endpoint: %s
region: %s
cache_dir: %s
default_profile: %s
profiles:
  %s:
    source: {type: token_file, path: %s}
    exchange: oidc
    # the emulated S3 refuses new keys this long, like the real service
    propagation_delay: %s
`, q(s.emu.APIURL()), q(s.emu.OrgID()), q(s.emu.S3URL()), q(s.emu.Region()), q(filepath.Join(s.stateDir, "cache")),
		devProfile, devProfile, q(s.tokenFile), s.o.emulatorPropagation)
}

// load reads the dev config alone: no variable of the caller's environment (a
// CWCREDS_API_ENDPOINT pointing at the real service…) can leak into it.
func (s *devServe) load() (*config.Config, error) {
	return config.Load(config.LoadOptions{Path: s.configPath, Getenv: func(string) string { return "" }, HomeDir: s.stateDir})
}

// getenv is base with CW_API_TOKEN set to the emulator's admin token, which
// --revoke-on-exit uses.
func (s *devServe) getenv(base func(string) string) func(string) string {
	return func(k string) string {
		if k == config.EnvAPIToken {
			return s.emu.AdminToken()
		}
		return base(k)
	}
}

func (s *devServe) authTokenFile() string { return filepath.Join(s.stateDir, "auth-token") }

// close stops the emulator and removes the state folder.
func (s *devServe) close() {
	s.stopEmu()
	if err := s.emu.Wait(); err != nil {
		s.log.Warn("the emulator stopped with an error", zap.Error(err))
	}
	if s.stateDir != "" {
		_ = os.RemoveAll(s.stateDir)
	}
}

// tasks keep the token file fresh, watch the emulator, and print the exports
// once the endpoint at url serves keys the emulated S3 accepts.
func (s *devServe) tasks(d *daemon, url string) []task {
	return []task{
		{"dev token writer", func(ctx context.Context) error { return s.writer.run(ctx) }},
		{"emulator", func(ctx context.Context) error {
			stopped := make(chan error, 1)
			go func() { stopped <- s.emu.Wait() }()
			select {
			case <-ctx.Done():
				return nil
			case err := <-stopped:
				return fmt.Errorf("the emulator stopped: %v", err)
			}
		}},
		{"dev exports", func(ctx context.Context) error {
			ready, err := s.waitReady(ctx, d)
			if err != nil || !ready {
				return err
			}
			if err := s.printExports(d, url); err != nil {
				return err
			}
			<-ctx.Done()
			return nil
		}},
	}
}

// waitReady waits until the dev profile holds keys that the emulated S3 accepts,
// so the first AWS call after eval succeeds. It is false when ctx ends first.
func (s *devServe) waitReady(ctx context.Context, d *daemon) (bool, error) {
	timeout := s.clock.NewTimer(devReadyTimeout)
	defer timeout.Stop()
	tick := s.clock.NewTicker(devReadyPoll)
	defer tick.Stop()
	var lastErr string
	for {
		if ref := d.refresher(devProfile); ref != nil {
			st := ref.Status()
			if st.AccessKeyID != "" && !s.clock.Now().Before(st.FetchedAt.Add(s.o.emulatorPropagation)) {
				if _, state := s.emu.ResolveKey(st.AccessKeyID); state == s3emu.KeyValid {
					return true, nil
				}
			}
			lastErr = st.LastError
		}
		select {
		case <-ctx.Done():
			return false, nil
		case <-timeout.Chan():
			if lastErr == "" {
				lastErr = "no keys yet"
			}
			return false, fmt.Errorf("the dev profile got no usable keys within %s: %s", devReadyTimeout, lastErr)
		case <-tick.Chan():
		}
	}
}

// printExports writes the export lines and lets go of stdout.
func (s *devServe) printExports(d *daemon, url string) error {
	vars := []envVar{
		{"AWS_CONTAINER_CREDENTIALS_FULL_URI", url},
		{"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", d.tokenPath},
	}
	vars = append(vars, emulatorExports(s.emu, s.tokenFile)...)
	vars = append(vars, s.logins.exports()...)
	vars = append(vars, pidExport("CWCREDS_SERVE_PID", os.Getpid()))
	for _, name := range awsCredentialVars {
		if d.env.Getenv(name) != "" {
			s.log.Warn("set in this environment, it takes precedence over the container endpoint in AWS SDKs: unset it in the shell that evals the exports", zap.String("variable", name))
		}
	}
	if err := writeExports(d.env.Stdout, vars); err != nil {
		return fmt.Errorf("could not print the export lines: %w", err)
	}
	s.log.Info("dev server ready", zap.String("AWS_CONTAINER_CREDENTIALS_FULL_URI", url),
		zap.String("api", s.emu.APIURL()), zap.String("s3", s.emu.S3URL()), zap.String("org", s.emu.OrgID()))
	releaseStdout(d.env, s.log, "cwcreds serve --dev")
	return nil
}
