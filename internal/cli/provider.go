package cli

import (
	"fmt"
	"io"
	"time"

	"github.com/jonboulle/clockwork"
	"go.uber.org/zap"

	"github.com/cwcreds/cwcreds/internal/cache"
	"github.com/cwcreds/cwcreds/internal/config"
	"github.com/cwcreds/cwcreds/internal/exchange"
)

// provision is the one place that turns a profile into a credentials provider:
// the exchange (a fetcher) built from the process's inputs, and the cache that
// holds its keys — in memory for the processes that serve an endpoint (serve,
// exec --server), on disk for the one-shot commands (credential-process, exec,
// env), which status and logout read. A command says only what differs: its
// clock, its logger, where a token command's stderr goes.
type provision struct {
	getenv  func(string) string
	stdin   io.Reader // what a saml_file "-" source reads
	logger  *zap.Logger
	clock   clockwork.Clock // nil: the real clock
	version string
	// A token command's stderr goes to stderr as it is written, as kubectl does
	// for its exec plugins: whoever reads ours (a terminal, the AWS tool that ran
	// credential_process, a daemon's log collector) sees its prompts, and cwcreds
	// neither keeps nor repeats them. stderrName says where, in its errors.
	stderr     io.Writer
	stderrName string
	// source, when set, replaces the profile's identity source: a login hands
	// over what it has just obtained.
	source exchange.TokenSource
}

// oneShot is the provision of a command that runs once in the user's process
// environment.
func oneShot(env Env, stdin io.Reader, logger *zap.Logger) provision {
	return provision{getenv: env.Getenv, stdin: stdin, logger: logger, version: env.Version,
		stderr: env.Stderr, stderrName: "cwcreds's stderr"}
}

// fetcher builds the profile's exchange.
func (pv provision) fetcher(p *config.Profile) (exchange.Fetcher, error) {
	deps := exchange.Deps{Getenv: pv.getenv, Stdin: pv.stdin, Clock: pv.clock, Logger: pv.logger,
		UserAgent: "cwcreds/" + pv.version, CommandStderr: pv.stderr, CommandStderrName: pv.stderrName, Source: pv.source}
	if p.Source.Type == config.SourceOIDCRefresh {
		dir, err := exchange.DefaultLoginDir(pv.getenv)
		if err != nil {
			return nil, fmt.Errorf("profile %q: %w", p.Name, err)
		}
		deps.LoginDir = dir
	}
	return exchange.NewFetcher(p, deps)
}

// inMemory says how an endpoint's refresher serves.
type inMemory struct {
	events cache.Events
	// coldWait bounds a request's wait for keys when none are held (0: the
	// request's own context).
	coldWait time.Duration
	// awaitPropagation: never hand out keys younger than propagation_delay (a
	// caller uses them at once).
	awaitPropagation bool
}

// refresher is the profile's in-memory provider, renewing its keys ahead of
// expiry once Run.
func (pv provision) refresher(p *config.Profile, o inMemory) (*cache.Refresher, error) {
	f, err := pv.fetcher(p)
	if err != nil {
		return nil, err
	}
	return cache.NewRefresher(cache.Config{Profile: p.Name, Fetcher: f, Clock: pv.clock, Logger: pv.logger,
		Events: o.events, Policy: policyOf(p), ColdWait: o.coldWait, AwaitPropagation: o.awaitPropagation})
}

// diskStore is the disk cache the profile's keys live in for one-shot commands;
// warn (may be nil) hears of cache files it cannot use.
func diskStore(p *config.Profile, logger *zap.Logger, warn func(string)) (*cache.DiskStore, error) {
	cfg := cache.DiskConfig{Dir: p.CacheDir, AwaitPropagation: true, Warn: warn}
	if logger != nil {
		cfg.Logger = logger
	}
	return cache.NewDiskStore(cfg)
}
