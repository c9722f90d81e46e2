package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"golang.org/x/term"

	"github.com/cwcreds/cwcreds/internal/cache"
	"github.com/cwcreds/cwcreds/internal/config"
	"github.com/cwcreds/cwcreds/internal/creds"
	"github.com/cwcreds/cwcreds/internal/server"
)

// daemon is one run of `cwcreds serve`: the endpoint and the profiles it serves.
type daemon struct {
	env    Env
	o      *serveOptions
	log    *zap.Logger
	clock  clockwork.Clock
	getenv func(string) string            // env.Getenv, or the --dev overlay
	load   func() (*config.Config, error) // at start and on every reload

	srv       *server.Server
	metrics   *server.Metrics // also counts connections the endpoint closes at its cap
	registry  *prometheus.Registry
	observer  *server.Observer
	minted    *mintedKeys // nil without --revoke-on-exit
	token     *server.AuthToken
	tokenPath string

	mu      sync.Mutex // guards the fields below: reloads run beside readiness checks
	running map[string]*runningProfile
	runCtx  context.Context // parent of the refreshers' Run; nil until runProfiles
	wg      sync.WaitGroup  // the refreshers' Run
}

// runningProfile is one served profile: its config and the refresher serving it.
type runningProfile struct {
	prof *config.Profile
	ref  *cache.Refresher
	stop context.CancelFunc // stops Run; nil until started
}

// setUp loads the auth token, builds the server and the first set of profiles.
func (d *daemon) setUp(cfg *config.Config, dev *devServe) error {
	// Name errors first, before any file is written.
	if _, _, err := selectProfiles(cfg, d.o.profiles); err != nil {
		return err
	}
	path := d.o.authTokenFile
	if path == "" {
		var err error
		if dev != nil {
			path = dev.authTokenFile()
		} else if path, err = defaultAuthTokenFile(d.getenv, cfg.CacheDir); err != nil {
			return err
		}
	}
	token, err := server.LoadAuthToken(path, server.AuthTokenOptions{Generate: true})
	if err != nil {
		return err
	}
	d.token, d.tokenPath = token, token.Path()
	if token.Generated() {
		d.log.Info("generated an auth token", zap.String("file", d.tokenPath))
	} else {
		d.log.Info("using the auth token of an existing file", zap.String("file", d.tokenPath))
	}

	d.registry = server.NewRegistry()
	metrics, err := server.NewMetrics(d.registry, d.clock)
	if err != nil {
		return err
	}
	d.metrics = metrics
	d.srv, err = server.New(server.Config{AuthToken: token, ColdWait: d.o.coldWait, Metrics: metrics, Logger: d.log, Clock: d.clock})
	if err != nil {
		return err
	}
	// The refreshers log each refresh and failure; the observer only counts them,
	// so that every event is logged once.
	d.observer = server.NewObserver(metrics, nil)
	if d.o.revokeOnExit {
		d.minted = &mintedKeys{clock: d.clock}
	}
	_, err = d.apply(cfg)
	return err
}

// runProfiles runs the refreshers until ctx is done and the endpoint has answered
// its last request, and reloads the config on each value from reload.
func (d *daemon) runProfiles(ctx context.Context, apiDone <-chan struct{}, reload <-chan os.Signal) error {
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer func() {
		cancel()
		d.wg.Wait()
	}()
	d.mu.Lock()
	d.runCtx = runCtx
	for _, rp := range d.running {
		d.startLocked(rp)
	}
	d.mu.Unlock()
	for {
		select {
		case <-ctx.Done():
			<-apiDone
			return nil
		case <-reload:
			d.reload(ctx)
		}
	}
}

func (d *daemon) startLocked(rp *runningProfile) {
	ctx, stop := context.WithCancel(d.runCtx)
	rp.stop = stop
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		if err := rp.ref.Run(ctx); err != nil {
			d.log.Error("refresher stopped", zap.String("profile", rp.prof.Name), zap.Error(err))
		}
	}()
}

// profileChanges summarise what apply did.
type profileChanges struct {
	added, removed, changed, kept []string
	started                       []*config.Profile // added or changed
}

// apply makes the server serve the profiles cfg selects. Profiles whose config is
// unchanged keep their refresher, so their keys; new and changed ones get a new
// refresher, started at once if the daemon runs. On error nothing changes.
func (d *daemon) apply(cfg *config.Config) (profileChanges, error) {
	sel, def, err := selectProfiles(cfg, d.o.profiles)
	if err != nil {
		return profileChanges{}, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	var ch profileChanges
	next := make(map[string]*runningProfile, len(sel))
	var fresh []*runningProfile
	for _, p := range sel {
		cur := d.running[p.Name]
		// Keys are kept only under the same identity fingerprint the disk cache
		// keys on; any other change (the refresh rule too) starts the profile afresh.
		if cur != nil && cur.prof.Identity() == p.Identity() && cur.prof.Equal(p) {
			next[p.Name] = cur
			ch.kept = append(ch.kept, p.Name)
			continue
		}
		rp, err := d.newProfile(p)
		if err != nil {
			return profileChanges{}, err
		}
		next[p.Name] = rp
		fresh = append(fresh, rp)
		ch.started = append(ch.started, p)
		if cur != nil {
			ch.changed = append(ch.changed, p.Name)
		} else {
			ch.added = append(ch.added, p.Name)
		}
	}
	providers := make(map[string]server.Provider, len(next))
	for name, rp := range next {
		providers[name] = rp.ref
	}
	if err := d.srv.SetProfiles(def, providers); err != nil {
		return profileChanges{}, err
	}
	for name, cur := range d.running {
		if next[name] == cur {
			continue
		}
		if cur.stop != nil {
			cur.stop()
		}
		if next[name] == nil {
			ch.removed = append(ch.removed, name)
		}
	}
	d.running = next
	if d.runCtx != nil {
		for _, rp := range fresh {
			d.startLocked(rp)
		}
	}
	slices.Sort(ch.removed)
	return ch, nil
}

// newProfile builds a profile's fetcher and refresher. A token command's stderr
// goes, raw, to the daemon's stderr — where its log goes, but not through the
// logger: the text is the command's, may hold secrets, and never becomes a log
// entry (a JSON log reader sees it as lines that are not JSON).
func (d *daemon) newProfile(p *config.Profile) (*runningProfile, error) {
	pv := provision{getenv: d.getenv, stdin: d.sourceStdin(), logger: d.log, clock: d.clock, version: d.env.Version,
		stderr: d.env.Stderr, stderrName: "cwcreds serve's stderr"}
	ref, err := pv.refresher(p, inMemory{
		events:   &profileEvents{Observer: d.observer, prof: p, minted: d.minted},
		coldWait: d.o.coldWait,
		// A caller uses the keys at once: none younger than propagation_delay.
		awaitPropagation: !d.o.noPropWait,
	})
	if err != nil {
		return nil, err
	}
	return &runningProfile{prof: p, ref: ref}, nil
}

// sourceStdin is what a saml_file "-" source reads: stdin, unless it is a
// terminal — a daemon cannot wait for someone to paste a SAML response.
func (d *daemon) sourceStdin() io.Reader {
	if d.env.Stdin == nil || fileIsTerminal(d.env.Stdin) {
		return strings.NewReader("")
	}
	return d.env.Stdin
}

// reload re-reads the auth token file and the config. A config that does not
// load, or whose profiles cannot be built, is logged and ignored.
func (d *daemon) reload(ctx context.Context) {
	d.log.Info("reloading the config and the auth token file")
	d.reloadToken()
	cfg, err := d.load()
	if err == nil {
		var ch profileChanges
		if ch, err = d.apply(cfg); err == nil {
			d.log.Info("config reloaded", zap.Strings("added", ch.added), zap.Strings("removed", ch.removed),
				zap.Strings("changed", ch.changed), zap.Strings("unchanged", ch.kept),
				zap.String("default_profile", d.srv.DefaultProfile()))
			if d.o.revokeOnExit {
				d.warnIfCannotRevoke(ctx, ch.started)
			}
			return
		}
	}
	d.log.Warn("config reload failed; still serving the previous config", zap.Error(err))
}

// reloadToken switches to the token in the auth token file if it changed.
func (d *daemon) reloadToken() {
	changed, err := d.token.Reload()
	if err != nil {
		d.log.Warn("could not re-read the auth token file; still requiring the previous token", zap.Error(err))
		return
	}
	if !changed {
		return
	}
	if d.token.Generated() {
		d.log.Info("the auth token file was missing: generated a new token", zap.String("file", d.tokenPath))
	} else {
		d.log.Info("the auth token changed: requiring the new one", zap.String("file", d.tokenPath))
	}
}

// refresher returns the refresher serving profile name, or nil.
func (d *daemon) refresher(name string) *cache.Refresher {
	d.mu.Lock()
	defer d.mu.Unlock()
	if rp := d.running[name]; rp != nil {
		return rp.ref
	}
	return nil
}

// profilesNow returns the configs of the served profiles.
func (d *daemon) profilesNow() []*config.Profile {
	d.mu.Lock()
	defer d.mu.Unlock()
	ps := make([]*config.Profile, 0, len(d.running))
	for _, rp := range d.running {
		ps = append(ps, rp.prof)
	}
	slices.SortFunc(ps, func(a, b *config.Profile) int { return strings.Compare(a.Name, b.Name) })
	return ps
}

// selectProfiles picks the profiles to serve — those named, else all — and the
// default one: the config's default if served, else the first named, else the
// first of the file. A default named explicitly (CWCREDS_PROFILE) must exist.
func selectProfiles(cfg *config.Config, names []string) ([]*config.Profile, string, error) {
	named := len(names) > 0
	if !named {
		names = cfg.ProfileNames()
	}
	var sel []*config.Profile
	seen := map[string]bool{}
	for _, name := range names {
		if seen[name] {
			continue
		}
		seen[name] = true
		p, err := cfg.Profile(name)
		if err != nil {
			return nil, "", err
		}
		sel = append(sel, p)
	}
	if len(sel) == 0 {
		return nil, "", fmt.Errorf("no profiles to serve: add one to the config file")
	}
	def := cfg.DefaultProfile
	switch {
	case seen[def]:
	case !named && cfg.Origin("default_profile").Kind >= config.OriginEnv:
		_, err := cfg.Profile("")
		return nil, "", err
	default:
		def = sel[0].Name
	}
	return sel, def, nil
}

// profileEvents feeds the server's metrics and, with --revoke-on-exit, records
// the keys each refresh mints.
type profileEvents struct {
	*server.Observer
	prof   *config.Profile
	minted *mintedKeys
}

func (e *profileEvents) Refreshed(profile string, c creds.Credentials, took time.Duration) {
	e.Observer.Refreshed(profile, c, took)
	if e.minted != nil {
		e.minted.add(e.prof, c)
	}
}

// fileIsTerminal reports whether v is a terminal.
func fileIsTerminal(v any) bool {
	f, ok := v.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
