package cli

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/crewjam/saml"

	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/cwcreds/cwcreds/internal/config"
	"github.com/cwcreds/cwcreds/internal/creds"
	"github.com/cwcreds/cwcreds/internal/cwobject"
	"github.com/cwcreds/cwcreds/internal/exchange"
	"github.com/cwcreds/cwcreds/internal/logging"
	"github.com/cwcreds/cwcreds/internal/login"
)

// DefaultLoginTimeout bounds an interactive login.
const DefaultLoginTimeout = 5 * time.Minute

type loginOptions struct {
	profileFlags
	device       bool
	noBrowser    bool
	redirectPort int
	role         string
	timeout      time.Duration
	logLevel     string
}

func newLoginCommand(env Env) *cobra.Command {
	o := &loginOptions{}
	cmd := &cobra.Command{
		Use:   "login --profile P [--device] [--no-browser] [--redirect-port N] [--role R] [--timeout D]",
		Short: "Log in with your company's SSO (oidc_refresh and saml_login profiles)",
		Long: "Log in at the profile's OpenID provider, exchange the ID token for keys, and keep\n" +
			"the refresh token so that credential-process, exec, env and serve refresh\n" +
			"silently for as long as the provider allows.\n\n" +
			"By default the browser opens on the provider's login page ($BROWSER when set,\n" +
			"with the URL as its only argument, else the system's opener) and the provider\n" +
			"redirects to a one-time listener on 127.0.0.1 (authorization code with PKCE).\n" +
			"The URL is always printed, so --no-browser works from another machine, and\n" +
			"--redirect-port fixes the listener's port for SSH port forwarding. --device\n" +
			"uses the device code flow instead: open the printed URL anywhere and enter the\n" +
			"code. It is chosen by itself when there is no display (no DISPLAY or\n" +
			"WAYLAND_DISPLAY on Linux, or an SSH session) and no $BROWSER.\n\n" +
			"The refresh token goes to the OS keyring, or to a 0600 file when there is no\n" +
			"keyring (CI machines, servers), which is said once.\n\n" +
			"A saml_login profile logs in at its IdP (SP-initiated; the response is posted\n" +
			"to a listener on 127.0.0.1, port acs_port or --redirect-port) and exchanges the\n" +
			"assertion for keys of the profile's lifetime; --role picks among several\n" +
			"CoreWeave roles, otherwise they are offered on the terminal. SAML has no\n" +
			"refresh: when the keys expire, log in again.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runLogin(cmd.Context(), env, o)
		},
	}
	o.addProfileFlags(cmd)
	fl := cmd.Flags()
	fl.BoolVar(&o.device, "device", false, "use the device code flow (chosen by itself when there is no display)")
	fl.BoolVar(&o.noBrowser, "no-browser", false, "only print the login URL; do not open a browser")
	fl.IntVar(&o.redirectPort, "redirect-port", 0, "fixed port of the loopback redirect listener or SAML ACS (default: one the system picks)")
	fl.StringVar(&o.role, "role", "", "SAML: the CoreWeave role to take when the assertion carries several")
	fl.DurationVar(&o.timeout, "timeout", DefaultLoginTimeout, "give up a login not finished by then")
	fl.StringVar(&o.logLevel, "log-level", "error", "log level on stderr: debug, info, warn or error")
	return cmd
}

func runLogin(ctx context.Context, env Env, o *loginOptions) error {
	switch {
	case o.timeout <= 0:
		return fmt.Errorf("--timeout %s must be positive, e.g. 5m", o.timeout)
	case o.redirectPort < 0 || o.redirectPort > 65535:
		return fmt.Errorf("--redirect-port %d is not a port: use 1-65535, or leave it out", o.redirectPort)
	case o.device && (o.noBrowser || o.redirectPort != 0):
		return errors.New("--device takes no browser or redirect listener: drop --no-browser and --redirect-port, or --device")
	}
	cfg, err := o.load(env)
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
	switch p.Source.Type {
	case config.SourceOIDCRefresh:
	case config.SourceSAMLLogin:
		if o.device {
			return errors.New("--device is for OIDC logins: a SAML login needs a browser (use --no-browser to open the URL yourself)")
		}
		return runSAMLLogin(ctx, env, o, p, logger)
	default:
		return fmt.Errorf("profile %q does not log in: its source is %s (cwcreds login is for oidc_refresh and saml_login profiles)", p.Name, p.Source.Type)
	}
	lc, err := loginConfig(p, logger)
	if err != nil {
		return err
	}
	lctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	var tok *login.Tokens
	if o.device || (!o.noBrowser && o.redirectPort == 0 && noDisplay(env)) {
		tok, err = login.Device(lctx, lc, login.DeviceOptions{Out: env.Stderr})
	} else {
		tok, err = login.AuthCode(lctx, lc, login.AuthCodeOptions{Out: env.Stderr, Opener: o.opener(env), RedirectPort: o.redirectPort})
	}
	if err != nil {
		return fmt.Errorf("login to profile %q failed: %w", p.Name, err)
	}
	c, err := keepOIDCLogin(ctx, env, p, tok, logger)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "logged in to profile %s as %s; keys %s valid until %s\n",
		p.Name, tok.Subject, c.AccessKeyID, c.Expiration.UTC().Format(time.RFC3339))
	return nil
}

// loginConfig is the OpenID provider an oidc_refresh profile logs in at.
func loginConfig(p *config.Profile, logger *zap.Logger) (login.Config, error) {
	o := p.Source.OIDCRefresh
	lc := login.Config{Issuer: o.Issuer, ClientID: o.ClientID, Scopes: o.Scopes, Logger: logger}
	if o.ClientSecretFile != "" {
		b, err := config.ReadConfigFile(o.ClientSecretFile) // capped, never blocks on a FIFO
		if err != nil {
			return login.Config{}, fmt.Errorf("could not read the client secret file %s: %w", o.ClientSecretFile, errors.Unwrap(err))
		}
		lc.ClientSecret = strings.TrimSpace(string(b))
	}
	return lc, nil
}

// opener opens the login page: nil with --no-browser (the URL is printed anyway).
func (o *loginOptions) opener(env Env) login.Opener {
	if o.noBrowser {
		return nil
	}
	return login.SystemOpener{Getenv: env.Getenv}
}

// keepOIDCLogin stores the login's refresh token (a new login replaces the old one,
// wherever it was kept), and caches keys for its fresh ID token.
func keepOIDCLogin(ctx context.Context, env Env, p *config.Profile, tok *login.Tokens, logger *zap.Logger) (creds.Credentials, error) {
	dir, err := exchange.DefaultLoginDir(env.Getenv)
	if err != nil {
		return creds.Credentials{}, err
	}
	store := exchange.RefreshStoreFor(p.Name, dir, nil)
	store.Notice = func(msg string) { fmt.Fprintf(env.Stderr, "cwcreds: %s\n", msg) }
	if _, err := store.Forget(); err != nil {
		return creds.Credentials{}, err
	}
	if tok.RefreshToken == "" {
		fmt.Fprintf(env.Stderr, "cwcreds: the provider gave no refresh token (ask for the offline_access scope): run cwcreds login --profile %s again when the keys expire\n", p.Name)
	} else if err := store.Save(tok.RefreshToken); err != nil {
		return creds.Credentials{}, err
	}
	return cacheLoginKeys(ctx, env, p, staticToken{tok.IDToken}, logger)
}

// cacheLoginKeys drops keys cached for whoever was logged in before and exchanges
// what a login has just yielded for keys, cached where the other commands look.
func cacheLoginKeys(ctx context.Context, env Env, p *config.Profile, src exchange.TokenSource, logger *zap.Logger) (creds.Credentials, error) {
	ds, err := diskStore(p, logger, warnOnce(env.Stderr))
	if err != nil {
		return creds.Credentials{}, err
	}
	if err := ds.Remove(p.Name); err != nil {
		return creds.Credentials{}, err
	}
	pv := oneShot(env, nil, logger)
	pv.source = src
	f, err := pv.fetcher(p)
	if err != nil {
		return creds.Credentials{}, err
	}
	return ds.GetOrFetch(ctx, processCacheKey(env, p), f, policyOf(p))
}

// staticToken is the ID token a login has just obtained.
type staticToken struct{ jwt string }

func (s staticToken) Token(context.Context) (string, error) { return s.jwt, nil }
func (staticToken) Describe() string                        { return "the login's ID token" }

// noDisplay reports whether no browser can be shown here: no $BROWSER, and an SSH
// session or, on Linux and the BSDs, no X11 or Wayland display.
func noDisplay(env Env) bool {
	if env.Getenv("BROWSER") != "" {
		return false
	}
	if env.Getenv("SSH_CONNECTION") != "" || env.Getenv("SSH_TTY") != "" {
		return true
	}
	switch runtime.GOOS {
	case "darwin", "windows":
		return false
	}
	return env.Getenv("DISPLAY") == "" && env.Getenv("WAYLAND_DISPLAY") == ""
}

// runSAMLLogin is the SP-initiated SAML login of a saml_login profile.
func runSAMLLogin(ctx context.Context, env Env, o *loginOptions, p *config.Profile, logger *zap.Logger) error {
	s := p.Source.SAMLLogin
	hc, err := exchange.NewHTTPClient(exchange.HTTPOptions{Getenv: env.Getenv})
	if err != nil {
		return err
	}
	var md *saml.EntityDescriptor
	if s.IDPMetadataURL != "" {
		md, err = login.SAMLLoginFetchIDPMetadata(ctx, hc, s.IDPMetadataURL)
	} else {
		var data []byte
		if data, err = readIDPMetadata(s.IDPMetadataFile); err == nil {
			md, err = login.SAMLLoginParseIDPMetadata(data)
		}
	}
	if err != nil {
		return fmt.Errorf("profile %q: %w", p.Name, err)
	}
	port := s.ACSPort
	if o.redirectPort != 0 {
		port = o.redirectPort
	}
	opener := o.opener(env)
	l, err := login.NewSAMLLogin(login.SAMLLoginConfig{
		IDPMetadata: md,
		SPEntityID:  cwobject.SAMLServiceProviderEntityID(p.OrgID),
		ListenAddr:  net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		Open: func(url string) error {
			fmt.Fprintf(env.Stderr, "Log in at this URL (opening it in your browser):\n\n  %s\n\n", url)
			if opener == nil {
				return nil
			}
			return opener.Open(ctx, url)
		},
		PickRole: pickSAMLRole(env.Stdin, env.Stderr, isTerminal(env.Stdin), cmp.Or(o.role, s.Role)),
		Timeout:  o.timeout,
		Logger:   logger,
	})
	if err != nil {
		return err
	}
	res, err := l.Run(ctx)
	if err != nil {
		return fmt.Errorf("login to profile %q failed: %w", p.Name, err)
	}
	c, err := cacheLoginKeys(ctx, env, p, res, logger)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "logged in to profile %s with role %s; keys %s valid until %s (SAML has no refresh: log in again then)\n",
		p.Name, res.Role, c.AccessKeyID, c.Expiration.UTC().Format(time.RFC3339))
	return nil
}

// readIDPMetadata reads an IdP metadata file (at most 1 MiB).
func readIDPMetadata(path string) ([]byte, error) {
	data, err := config.ReadConfigFile(path)
	if err != nil {
		return nil, fmt.Errorf("could not read the IdP metadata file %s: %w", path, errors.Unwrap(err))
	}
	return data, nil
}

// pickSAMLRole takes role when given; else the only role; else, when in is a
// terminal (interactive), asks on out which one.
func pickSAMLRole(in io.Reader, out io.Writer, interactive bool, role string) func(context.Context, []string) (string, error) {
	if role != "" {
		return login.SAMLLoginRole(role)
	}
	return func(ctx context.Context, roles []string) (string, error) {
		if len(roles) == 1 || !interactive {
			return login.SAMLLoginOnlyRole(ctx, roles)
		}
		fmt.Fprintln(out, "The SAML assertion carries several CoreWeave roles:")
		for i, r := range roles {
			fmt.Fprintf(out, "  %d) %s\n", i+1, r)
		}
		fmt.Fprint(out, "Take which one? ")
		line, err := bufio.NewReader(in).ReadString('\n')
		n, perr := strconv.Atoi(strings.TrimSpace(line))
		if err != nil || perr != nil || n < 1 || n > len(roles) {
			return "", fmt.Errorf("no role chosen: answer with a number from 1 to %d, or pass --role", len(roles))
		}
		return roles[n-1], nil
	}
}
