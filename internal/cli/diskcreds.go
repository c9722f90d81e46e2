package cli

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sync"

	"go.uber.org/zap"

	"github.com/cwcreds/cwcreds/internal/cache"
	"github.com/cwcreds/cwcreds/internal/config"
	"github.com/cwcreds/cwcreds/internal/creds"
	"github.com/cwcreds/cwcreds/internal/exchange"
	"github.com/cwcreds/cwcreds/internal/fileutil"
	"github.com/cwcreds/cwcreds/internal/keypolicy"
)

// diskCreds hands out one profile's keys through the disk cache shared by every
// one-shot cwcreds process (credential-process, exec, env). The exchange — HTTP
// client, identity source, keyring — is built only when the cache cannot answer,
// so a warm cache costs a config parse and one file read.
type diskCreds struct {
	env     Env
	profile *config.Profile
	store   *cache.DiskStore
	logger  *zap.Logger
	stdin   *countingReader // what the identity source reads, for "no stdin" hints
}

func newDiskCreds(env Env, p *config.Profile, logger *zap.Logger) (*diskCreds, error) {
	store, err := diskStore(p, logger, warnOnce(env.Stderr))
	if err != nil {
		return nil, err
	}
	return &diskCreds{env: env, profile: p, store: store, logger: logger, stdin: &countingReader{r: env.Stdin}}, nil
}

// cachedCredentials returns p's keys through the disk cache: the one way the
// one-shot commands (credential-process, exec, env) get keys.
func cachedCredentials(ctx context.Context, env Env, p *config.Profile, logger *zap.Logger) (creds.Credentials, error) {
	dc, err := newDiskCreds(env, p, logger)
	if err != nil {
		return creds.Credentials{}, err
	}
	return dc.get(ctx)
}

// policyOf is the profile's refresh rule, as the config resolved it.
func policyOf(p *config.Profile) keypolicy.Policy {
	return keypolicy.Policy{Lifetime: p.Lifetime, RefreshMargin: p.RefreshMargin, Floor: p.MinTTL,
		PropagationDelay: p.PropagationDelay, Jitter: keypolicy.DefaultJitter}
}

// cacheKey names the profile's cache entry: its name and a fingerprint of what
// decides its identity, so that keys cached under other settings are never served
// to it. That is its settings (config.Profile.Identity) and, for an API token in a
// variable or a file, the token itself, hashed: whose token it is decides whose
// keys they are. getenv and readFile read them (the credential-process recorder, so
// that cwcreds-credential-process's memo notices a new token). A token in the
// keyring is not read for this (a keyring round trip per call): `cwcreds logout`
// forgets keys when it is replaced.
func cacheKey(p *config.Profile, getenv func(string) string, readFile func(string) ([]byte, error)) cache.Key {
	id := p.Identity()
	if a := p.Source.APIToken; a != nil && a.Keyring == nil {
		var token []byte
		if a.File != "" {
			token, _ = readFile(a.File) // unreadable: the exchange says why
		} else {
			token = []byte(getenv(a.Env))
		}
		sum := sha256.Sum256(append([]byte(id+"\x00"), bytes.TrimSpace(token)...))
		id = "sha256:" + hex.EncodeToString(sum[:16])
	}
	return cache.Key{Profile: p.Name, Identity: id}
}

// processCacheKey is cacheKey read through this process's environment.
func processCacheKey(env Env, p *config.Profile) cache.Key {
	return cacheKey(p, env.Getenv, config.ReadConfigFile)
}

// warnOnce writes the first cache warning of the call as one line on w; later
// ones (the file is read twice, before and under the lock, and a file that could
// not be read often cannot be replaced either) are only logged.
func warnOnce(w io.Writer) func(string) {
	var once sync.Once
	return func(msg string) {
		once.Do(func() { fmt.Fprintf(w, "cwcreds: warning: %s\n", msg) })
	}
}

// get returns valid keys: cached, or from one exchange shared with every other
// process asking at the same time. An error that only an interactive login can
// fix is a *loginRequiredError.
func (d *diskCreds) get(ctx context.Context) (creds.Credentials, error) {
	// A cache folder others can write to is fixed (ours) or refused (theirs) on
	// every run, warm or cold: it is never silently used.
	if err := fileutil.EnsurePrivateDir(d.store.Dir()); err != nil {
		return creds.Credentials{}, fmt.Errorf("cache folder: %w", err)
	}
	f := &lazyFetcher{build: func() (exchange.Fetcher, error) { return d.newFetcher() }}
	c, err := d.store.GetOrFetch(ctx, processCacheKey(d.env, d.profile), f, policyOf(d.profile))
	if err != nil {
		if le := loginRequired(d.env, d.profile, d.stdin, err); le != nil {
			return creds.Credentials{}, le
		}
		return creds.Credentials{}, err
	}
	return c, nil
}

// newFetcher builds the profile's exchange with the process's environment.
func (d *diskCreds) newFetcher() (exchange.Fetcher, error) {
	return oneShot(d.env, d.sourceStdin(), d.logger).fetcher(d.profile)
}

// sourceStdin is what a saml_file "-" source reads: standard input, unless it is
// a terminal — nobody is going to paste a SAML response there for an AWS SDK.
func (d *diskCreds) sourceStdin() io.Reader { return sourceStdin(d.env, d.stdin) }

func sourceStdin(env Env, counted *countingReader) io.Reader {
	if isTerminal(env.Stdin) {
		return eofReader{}
	}
	return counted
}

// lazyFetcher builds the real fetcher on first use: the disk cache calls it only
// when it must exchange or check a remembered failure against the identity input.
type lazyFetcher struct {
	build func() (exchange.Fetcher, error)

	once sync.Once
	f    exchange.Fetcher
	err  error
}

func (l *lazyFetcher) get() (exchange.Fetcher, error) {
	l.once.Do(func() { l.f, l.err = l.build() })
	return l.f, l.err
}

// Fetch runs the exchange.
func (l *lazyFetcher) Fetch(ctx context.Context) (creds.Credentials, error) {
	f, err := l.get()
	if err != nil {
		return creds.Credentials{}, err
	}
	return f.Fetch(ctx)
}

// InputFingerprint passes the real fetcher's on, errors.ErrUnsupported included,
// so the cache's remembered-failure rule sees exactly what it would without the
// wrapper. A fetcher that cannot be built has no fingerprint to compare.
func (l *lazyFetcher) InputFingerprint() (string, error) {
	f, err := l.get()
	if err != nil {
		return "", err
	}
	return f.InputFingerprint()
}

// countingReader remembers whether anything was read.
type countingReader struct {
	r  io.Reader
	n  int64
	mu sync.Mutex
}

func (c *countingReader) Read(p []byte) (int, error) {
	if c.r == nil {
		return 0, io.EOF
	}
	n, err := c.r.Read(p)
	c.mu.Lock()
	c.n += int64(n)
	c.mu.Unlock()
	return n, err
}

func (c *countingReader) empty() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n == 0
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }

// errorsAsNoCreds unwraps the cache's error.
func errorsAsNoCreds(err error) (*cache.NoCredentialsError, bool) {
	var nc *cache.NoCredentialsError
	ok := errors.As(err, &nc)
	return nc, ok
}
