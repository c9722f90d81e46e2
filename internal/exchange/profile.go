package exchange

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/jonboulle/clockwork"
	"go.uber.org/zap"

	"github.com/cwcreds/cwcreds/internal/config"
	"github.com/cwcreds/cwcreds/internal/creds"
	"github.com/cwcreds/cwcreds/internal/cwobject"
)

// Fetcher is one profile's identity source and exchange, ready for the cache: it
// satisfies internal/cache's Fetcher and InputFingerprinter.
type Fetcher interface {
	Fetch(ctx context.Context) (creds.Credentials, error)
	InputFingerprint() (string, error)
}

// Deps are the process-level things a profile's fetcher is built with.
type Deps struct {
	Getenv    func(string) string
	Stdin     io.Reader
	Clock     clockwork.Clock
	Logger    *zap.Logger
	UserAgent string // "cwcreds/<version>"
	// LoginDir holds stored login material (OIDC refresh tokens) when the OS
	// keyring is not used; see DefaultLoginDir.
	LoginDir string
	Keyring  Keyring // default OSKeyring{}
	// HTTPClient replaces the client built from the profile's proxy and CA
	// settings (tests).
	HTTPClient *http.Client
	// CommandStderr receives a token command's stderr, live and unchanged (see
	// TokenCommand.Stderr); nil discards it. CommandStderrName says in errors
	// where it went, e.g. "cwcreds's stderr".
	CommandStderr     io.Writer
	CommandStderrName string
	// Source, when set, replaces the profile's identity source: `cwcreds login`
	// exchanges the ID token it has just been given rather than refresh at once.
	Source TokenSource
}

// NewFetcher builds the fetcher a profile describes. The client it uses makes a
// single attempt per call: the cache's backoff and rate limit are then the only
// retry loop, so they truly bound upstream calls.
func NewFetcher(p *config.Profile, d Deps) (Fetcher, error) {
	if d.Getenv == nil {
		d.Getenv = os.Getenv
	}
	if d.Clock == nil {
		d.Clock = clockwork.NewRealClock()
	}
	if d.Logger == nil {
		d.Logger = zap.NewNop()
	}
	httpClient := d.HTTPClient
	if httpClient == nil {
		var err error
		httpClient, err = NewHTTPClient(HTTPOptions{CABundle: p.CABundle, Getenv: d.Getenv})
		if err != nil {
			return nil, fmt.Errorf("profile %q: %w", p.Name, err)
		}
	}
	client, err := cwobject.New(cwobject.Config{
		BaseURL:    p.APIEndpoint,
		HTTPClient: httpClient,
		UserAgent:  d.UserAgent,
		Clock:      d.Clock,
		Logger:     d.Logger,
		Retry:      cwobject.RetryPolicy{MaxAttempts: 1},
	})
	if err != nil {
		return nil, fmt.Errorf("profile %q: %w", p.Name, err)
	}
	src := d.Source
	if src == nil {
		if src, err = newSource(p, d, httpClient); err != nil {
			return nil, fmt.Errorf("profile %q: %w", p.Name, err)
		}
	}
	var f Fetcher
	switch p.Exchange {
	case config.ExchangeOIDC:
		f, err = NewOIDCExchange(OIDCExchangeConfig{Client: client, Source: src, OrgID: p.OrgID, Lifetime: p.Lifetime, Clock: d.Clock})
	case config.ExchangeContainerCreds:
		f, err = NewContainerCredsExchange(ContainerCredsExchangeConfig{Client: client, Source: src, OrgID: p.OrgID, Clock: d.Clock})
	case config.ExchangeSAML:
		var attrs map[string]string
		if a, ok := src.(interface{ Attributes() map[string]string }); ok { // a SAML login's chosen role
			attrs = a.Attributes()
		}
		f, err = NewSAMLExchange(SAMLExchangeConfig{Client: client, Source: src, OrgID: p.OrgID, ConfigID: p.Source.SAMLConfigID(),
			Lifetime: p.Lifetime, Attributes: attrs, Clock: d.Clock})
	case config.ExchangeAPIToken:
		f, err = NewAPITokenExchange(APITokenExchangeConfig{Client: client, Source: src, Lifetime: p.Lifetime, Clock: d.Clock})
	case config.ExchangeAPITokenGet:
		f, err = NewAPITokenCredsExchange(APITokenCredsExchangeConfig{Client: client, Source: src, Clock: d.Clock})
	default:
		return nil, fmt.Errorf("profile %q: unknown exchange %q", p.Name, p.Exchange)
	}
	if err != nil {
		return nil, fmt.Errorf("profile %q: %w", p.Name, err)
	}
	return f, nil
}

func newSource(p *config.Profile, d Deps, httpClient *http.Client) (TokenSource, error) {
	s := p.Source
	switch s.Type {
	case config.SourceTokenFile:
		return &TokenFile{Path: s.TokenFile.Path, Clock: d.Clock}, nil
	case config.SourceAPIToken:
		return NewAPIToken(s.APIToken, d.Getenv, d.Keyring), nil
	case config.SourceOIDCRefresh:
		o := s.OIDCRefresh
		secret := ""
		if o.ClientSecretFile != "" {
			b, err := os.ReadFile(o.ClientSecretFile)
			if err != nil {
				return nil, fmt.Errorf("could not read the client secret file %s: %w", o.ClientSecretFile, unwrapPathError(err))
			}
			secret = strings.TrimSpace(string(b))
		}
		return &OIDCRefresh{
			Issuer: o.Issuer, ClientID: o.ClientID, ClientSecret: secret, Scopes: o.Scopes,
			Store:      RefreshStoreFor(p.Name, d.LoginDir, d.Keyring),
			HTTPClient: httpClient, Clock: d.Clock, Logger: d.Logger,
		}, nil
	case config.SourceSAMLFile:
		return &SAMLFile{Path: s.SAMLFile.Path, Stdin: d.Stdin}, nil
	case config.SourceSAMLLogin:
		return SAMLLoginNeeded{Profile: p.Name}, nil
	case config.SourceTokenCommand:
		c := s.TokenCommand
		return &TokenCommand{Argv: c.Command, Timeout: c.Timeout, Format: string(c.Format), Clock: d.Clock,
			Stderr: d.CommandStderr, StderrName: d.CommandStderrName}, nil
	default:
		return nil, fmt.Errorf("unknown identity source %q", s.Type)
	}
}

// RefreshStoreFor is where the OIDC refresh token of a profile is kept: the OS
// keyring (ring; nil for the OS's) when it works, else a 0600 file under loginDir.
func RefreshStoreFor(profile, loginDir string, ring Keyring) *LoginStore {
	return &LoginStore{Profile: profile, Dir: loginDir, Keyring: ring}
}

// DefaultLoginDir is $XDG_STATE_HOME/cwcreds, else ~/.local/state/cwcreds.
func DefaultLoginDir(getenv func(string) string) (string, error) {
	if d := getenv("XDG_STATE_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "cwcreds"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("could not find the home folder for stored logins: set XDG_STATE_HOME")
	}
	return filepath.Join(home, ".local", "state", "cwcreds"), nil
}

// safeFileName keeps [A-Za-z0-9_-] and escapes every other byte, so no profile
// name can leave the folder.
func safeFileName(name string) string {
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func unwrapPathError(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}
