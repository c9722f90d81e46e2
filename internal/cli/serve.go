package cli

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/cwcreds/cwcreds/internal/config"
	"github.com/cwcreds/cwcreds/internal/server"
)

// opsOff disables the operations listener when given as --ops-listen.
const opsOff = "off"

// Defaults of the --dev mode.
const (
	devListen           = "127.0.0.1:0"
	devPropagationDelay = time.Second
)

type serveOptions struct {
	profileFlags
	mode            string
	profiles        []string
	listens         []string // --listen as given; several only in agent mode
	listen          string   // profile mode: the one address
	opsListen       string
	authTokenFile   string
	logLevel        string
	minReadyTTL     time.Duration
	coldWait        time.Duration
	noPropWait      bool
	revokeOnExit    bool
	shutdownTimeout time.Duration
	minLifetime     time.Duration // hidden: lets tests use short key lifetimes

	dev                 bool
	emulatorListen      string
	emulatorS3Listen    string
	emulatorPropagation time.Duration

	agent agentOptions
}

func (o *serveOptions) addFlags(cmd *cobra.Command) {
	o.addConfigFlag(cmd)
	o.addOverrideFlags(cmd)
	f := cmd.Flags()
	f.StringArrayVar(&o.profiles, "profile", nil, "profile to serve; repeat for several (default: every profile of the config)")
	f.StringVar(&o.mode, "mode", modeProfile, "\"profile\": serve the keys of configured profiles; \"agent\": a node agent, where each caller's Authorization token (its pod's service-account token) is its identity")
	f.StringArrayVar(&o.listens, "listen", []string{server.DefaultListen}, "address of the credentials endpoint: host:port ([::1]:port for IPv6) or unix:/path; with --dev, "+devListen+" (a free port) unless given; repeat in agent mode (default there "+strings.Join(agentDefaultListens, " and ")+")")
	f.StringVar(&o.opsListen, "ops-listen", server.DefaultOpsListen, "address of /healthz, /readyz and /metrics, or \"off\" (or \"\") for none; with --dev, "+devListen+" unless given")
	f.StringVar(&o.authTokenFile, "auth-token-file", "", "file holding the token callers must send; read if it exists, else generated (default $XDG_RUNTIME_DIR/cwcreds/auth-token, else <cache dir>/serve/auth-token; with --dev, a temporary file)")
	f.StringVar(&o.logLevel, "log-level", "info", "log level on stderr: debug, info, warn or error")
	f.DurationVar(&o.minReadyTTL, "min-ready-ttl", server.DefaultMinReadyTTL, "/readyz answers ready when every profile holds keys valid at least this long")
	f.DurationVar(&o.coldWait, "cold-wait", server.DefaultColdWait, "how long a request waits for keys being fetched before it gets 503 (SDKs time out after 1-2s)")
	f.BoolVar(&o.noPropWait, "no-propagation-wait", false, "hand out new keys at once, before S3 accepts them (an SDK's first call may then fail with InvalidAccessKeyId); by default a request for keys younger than the profile's propagation_delay waits for them within --cold-wait, else gets 503 with Retry-After")
	f.BoolVar(&o.revokeOnExit, "revoke-on-exit", false, "on shutdown, revoke the keys this process minted (needs an API token: the profile's own api_token source, else $CW_API_TOKEN)")
	f.DurationVar(&o.shutdownTimeout, "shutdown-timeout", server.DefaultShutdownTimeout, "on SIGTERM/SIGINT, how long requests in flight (and --revoke-on-exit) get to finish")
	f.DurationVar(&o.minLifetime, "min-lifetime", 0, "shortest profile lifetime accepted (tests only)")
	_ = f.MarkHidden("min-lifetime")
	o.agent.addFlags(cmd)

	f.BoolVar(&o.dev, "dev", false, "run the built-in CoreWeave emulator and serve a dev profile from it; prints the shell export lines when ready")
	f.StringVar(&o.emulatorListen, "emulator-listen", devListen, "with --dev: address of the emulated CoreWeave API")
	f.StringVar(&o.emulatorS3Listen, "emulator-s3-listen", devListen, "with --dev: address of the emulated S3 endpoint")
	f.DurationVar(&o.emulatorPropagation, "emulator-propagation-delay", devPropagationDelay, "with --dev: how long the emulated S3 refuses a new key (the dev profile waits as long before serving new keys)")
}

// serveHooks let tests stand in for the process's signals.
type serveHooks struct {
	// reload delivers reload requests; nil means SIGHUP.
	reload <-chan os.Signal
}

func newServeCommand(env Env) *cobra.Command { return newServeCommandWith(env, serveHooks{}) }

func newServeCommandWith(env Env, hooks serveHooks) *cobra.Command {
	o := &serveOptions{}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve keys to AWS SDKs over the container-credentials endpoint",
		Long: "Serve the keys of every configured profile (or those named with --profile) on the\n" +
			"container-credentials endpoint that every AWS SDK reads:\n\n" +
			"  AWS_CONTAINER_CREDENTIALS_FULL_URI=http://127.0.0.1:9911/v1/credentials[/<profile>]\n" +
			"  AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=<the --auth-token-file>\n\n" +
			"/v1/credentials serves the default profile: the config's default if it is served,\n" +
			"else the first --profile, else the first profile of the file. Keys are refreshed\n" +
			"ahead of expiry. Health, readiness and Prometheus metrics are on --ops-listen.\n" +
			"Logs go to stderr (JSON when it is not a terminal); stdout is not used.\n\n" +
			"SIGTERM or SIGINT: stop accepting, let requests in flight finish within\n" +
			"--shutdown-timeout, revoke minted keys if --revoke-on-exit, exit 0.\n" +
			"SIGHUP: reload the config (profiles added, removed or changed; unchanged ones keep\n" +
			"their keys; a broken config is logged and ignored) and re-read the auth token file.\n\n" +
			"With --dev it runs the built-in emulator too, serves a dev profile from it, and when\n" +
			"the first AWS call can succeed prints the export lines on stdout (nothing else).\n" +
			evalHelp("cwcreds serve --dev", "CWCREDS_SERVE_PID") +
			"Then aws s3 mb, cp and ls work against the emulator with no other setup.\n\n" +
			"With --mode agent it is a node agent serving every pod of a node: no config file and\n" +
			"no auth token; each caller's Authorization value (its pod's projected service-account\n" +
			"token, audience --audience) is its identity, checked to be an unexpired JWT and then\n" +
			"exchanged (oidc, --lifetime) and cached per token. It listens on every --listen\n" +
			"(default " + strings.Join(agentDefaultListens, " and ") + ": run `cwcreds agent init-network` first)\n" +
			"and takes --org-id / --api-endpoint / --ca-bundle or CWCREDS_ORG_ID, CWCREDS_API_ENDPOINT\n" +
			"and CWCREDS_CA_BUNDLE. /readyz there means: listening, and the CoreWeave API answers.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.check(cmd); err != nil {
				return err
			}
			reload := hooks.reload
			if reload == nil {
				ch := make(chan os.Signal, 1)
				signal.Notify(ch, syscall.SIGHUP)
				defer signal.Stop(ch)
				reload = ch
			}
			if o.mode == modeAgent {
				return runAgent(cmd.Context(), env, o, reload)
			}
			return runServe(cmd.Context(), env, o, reload)
		},
	}
	o.addFlags(cmd)
	return cmd
}

// check validates the flags and applies the --dev defaults.
func (o *serveOptions) check(cmd *cobra.Command) error {
	fl := cmd.Flags()
	switch o.mode {
	case modeAgent:
		return o.checkAgent(cmd)
	case modeProfile:
		if err := o.agent.refuseIn(cmd, "--mode "+modeProfile); err != nil {
			return err
		}
	default:
		return fmt.Errorf("--mode %q is not a mode: use %s or %s", o.mode, modeProfile, modeAgent)
	}
	if len(o.listens) != 1 {
		return fmt.Errorf("--listen is given %d times: only --mode %s listens on several addresses", len(o.listens), modeAgent)
	}
	o.listen = o.listens[0]
	switch {
	case o.coldWait <= 0:
		return fmt.Errorf("--cold-wait %s is not positive: use e.g. %s", o.coldWait, server.DefaultColdWait)
	case o.shutdownTimeout <= 0:
		return fmt.Errorf("--shutdown-timeout %s is not positive: use e.g. %s", o.shutdownTimeout, server.DefaultShutdownTimeout)
	case o.minReadyTTL < 0:
		return fmt.Errorf("--min-ready-ttl %s is negative: use e.g. %s", o.minReadyTTL, server.DefaultMinReadyTTL)
	case o.emulatorPropagation < 0:
		return fmt.Errorf("--emulator-propagation-delay %s is negative: use e.g. %s", o.emulatorPropagation, devPropagationDelay)
	}
	for _, name := range o.profiles {
		if name == "" {
			return errors.New("--profile needs a profile name")
		}
	}
	if !o.dev {
		for _, name := range []string{"emulator-listen", "emulator-s3-listen", "emulator-propagation-delay"} {
			if fl.Changed(name) {
				return fmt.Errorf("--%s works only with --dev", name)
			}
		}
		return nil
	}
	for _, name := range []string{"config", "profile", "api-endpoint", "org-id", "s3-endpoint", "region", "ca-bundle", "cache-dir", "min-lifetime"} {
		if fl.Changed(name) {
			return fmt.Errorf("--%s cannot be used with --dev, which serves its own profile from the built-in emulator: drop one of them", name)
		}
	}
	if !fl.Changed("listen") {
		o.listen = devListen
	}
	if strings.HasPrefix(o.listen, server.UnixPrefix) {
		return errors.New("--dev needs a TCP --listen address, which the AWS tools can reach: use e.g. " + devListen)
	}
	if !fl.Changed("ops-listen") {
		o.opsListen = devListen
	}
	return nil
}

// load reads the configuration with the command's flags and environment.
func (o *serveOptions) load(env Env) (*config.Config, error) {
	return config.Load(config.LoadOptions{Path: o.configPath, Getenv: env.Getenv, Flags: o.overrides, MinLifetime: o.minLifetime})
}
