package cli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/spf13/cobra"
	"go.uber.org/zap"
	"golang.org/x/time/rate"

	"github.com/cwcreds/cwcreds/internal/cache"
	"github.com/cwcreds/cwcreds/internal/config"
	"github.com/cwcreds/cwcreds/internal/creds"
	"github.com/cwcreds/cwcreds/internal/cwobject"
	"github.com/cwcreds/cwcreds/internal/exchange"
	"github.com/cwcreds/cwcreds/internal/keypolicy"
	"github.com/cwcreds/cwcreds/internal/logging"
	"github.com/cwcreds/cwcreds/internal/server"
)

// The values of serve --mode.
const (
	modeProfile = "profile"
	modeAgent   = "agent"
)

// agentDefaultListens are the link-local addresses, besides loopback, that every
// AWS SDK accepts over plain http (`cwcreds agent init-network` adds them).
var agentDefaultListens = []string{"169.254.170.23:9911", "[fd00:ec2::23]:9911"}

// Defaults of the agent's flags.
const (
	agentProbeInterval = 30 * time.Second
	agentProbeTimeout  = 5 * time.Second
)

// agentOptions are the flags of serve --mode agent.
type agentOptions struct {
	audience       string
	maxIdentities  int
	upstreamRate   float64
	upstreamBurst  int
	idleTimeout    time.Duration
	listenOptional bool
	lifetime       time.Duration
	propagation    time.Duration
	propagationSet bool // --propagation-delay given (0s is a choice)
	probeInterval  time.Duration
}

func (a *agentOptions) addFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&a.audience, "audience", cwobject.RecommendedAudience, "agent mode: the audience callers' tokens must have")
	f.IntVar(&a.maxIdentities, "max-identities", cache.DefaultAgentMaxEntries, "agent mode: identities (caller tokens) kept; the least recently used is dropped beyond it")
	f.Float64Var(&a.upstreamRate, "upstream-rate", float64(cache.DefaultAgentUpstreamRate), "agent mode: exchanges per second for the whole agent; callers beyond it get 503 with Retry-After")
	f.IntVar(&a.upstreamBurst, "upstream-burst", cache.DefaultAgentUpstreamBurst, "agent mode: exchanges allowed at once above --upstream-rate (e.g. when a node starts)")
	f.DurationVar(&a.idleTimeout, "idle-timeout", cache.DefaultAgentIdleTimeout, "agent mode: an identity whose keys expired is dropped after this long without a request")
	f.BoolVar(&a.listenOptional, "listen-optional", false, "agent mode: skip a --listen address this node does not have (an IPv4-only or IPv6-only node), as long as one is bound")
	f.DurationVar(&a.lifetime, "lifetime", keypolicy.DefaultLifetime, "agent mode: lifetime of the keys asked for")
	f.DurationVar(&a.propagation, "propagation-delay", 0, "agent mode: never hand out keys younger than this, which S3 may still refuse (default $"+config.EnvPropagationDelay+", else the lifetime's default, 5s for 1h keys)")
	f.DurationVar(&a.probeInterval, "api-probe-interval", agentProbeInterval, "agent mode: how often /readyz checks that the CoreWeave API answers")
}

// agentOnlyFlags are refused in profile mode; profileOnlyFlags in agent mode.
var (
	agentOnlyFlags   = []string{"audience", "max-identities", "upstream-rate", "upstream-burst", "idle-timeout", "listen-optional", "lifetime", "propagation-delay", "api-probe-interval"}
	profileOnlyFlags = []string{"config", "profile", "auth-token-file", "revoke-on-exit", "min-ready-ttl", "dev", "emulator-listen",
		"emulator-s3-listen", "emulator-propagation-delay", "cache-dir", "s3-endpoint", "region", "min-lifetime"}
)

func (a *agentOptions) refuseIn(cmd *cobra.Command, mode string) error {
	for _, name := range agentOnlyFlags {
		if cmd.Flags().Changed(name) {
			return fmt.Errorf("--%s works only with --mode %s, not with %s", name, modeAgent, mode)
		}
	}
	return nil
}

// checkAgent validates the flags of agent mode and applies its defaults.
func (o *serveOptions) checkAgent(cmd *cobra.Command) error {
	fl := cmd.Flags()
	for _, name := range profileOnlyFlags {
		if fl.Changed(name) {
			return fmt.Errorf("--%s cannot be used with --mode %s: the agent serves no profiles, and each caller's token is its identity", name, modeAgent)
		}
	}
	a := &o.agent
	switch {
	case o.coldWait <= 0:
		return fmt.Errorf("--cold-wait %s is not positive: use e.g. %s", o.coldWait, server.DefaultColdWait)
	case o.shutdownTimeout <= 0:
		return fmt.Errorf("--shutdown-timeout %s is not positive: use e.g. %s", o.shutdownTimeout, server.DefaultShutdownTimeout)
	case strings.TrimSpace(a.audience) == "":
		return fmt.Errorf("--audience is empty: use the audience of the pods' projected tokens, e.g. %s", cwobject.RecommendedAudience)
	case a.maxIdentities < 1:
		return fmt.Errorf("--max-identities %d is not positive: use e.g. %d", a.maxIdentities, cache.DefaultAgentMaxEntries)
	case !(a.upstreamRate > 0):
		return fmt.Errorf("--upstream-rate %g is not positive: use e.g. %g (exchanges per second)", a.upstreamRate, float64(cache.DefaultAgentUpstreamRate))
	case a.upstreamBurst < 1:
		return fmt.Errorf("--upstream-burst %d is not positive: use e.g. %d", a.upstreamBurst, cache.DefaultAgentUpstreamBurst)
	case a.idleTimeout <= 0:
		return fmt.Errorf("--idle-timeout %s is not positive: use e.g. %s", a.idleTimeout, cache.DefaultAgentIdleTimeout)
	case a.propagation < 0:
		return fmt.Errorf("--propagation-delay %s is negative: use e.g. 5s", a.propagation)
	case a.lifetime < keypolicy.MinRequestLifetime || a.lifetime > keypolicy.MaxLifetime:
		return fmt.Errorf("--lifetime %s is out of range: use between %s and %s (default %s)", a.lifetime, keypolicy.MinRequestLifetime, keypolicy.MaxLifetime, keypolicy.DefaultLifetime)
	case a.probeInterval <= 0:
		return fmt.Errorf("--api-probe-interval %s is not positive: use e.g. %s", a.probeInterval, agentProbeInterval)
	}
	a.propagationSet = fl.Changed("propagation-delay")
	if !fl.Changed("listen") {
		o.listens = agentDefaultListens
	}
	for _, l := range o.listens {
		if strings.HasPrefix(l, server.UnixPrefix) {
			return fmt.Errorf("--listen %s: the node agent serves pods over TCP; use %s", l, strings.Join(agentDefaultListens, " or "))
		}
	}
	return nil
}

// agentSettings are what the agent exchanges with: from flags, else CWCREDS_*.
type agentSettings struct {
	apiEndpoint, orgID, caBundle string
	policy                       keypolicy.Policy
}

func (o *serveOptions) agentSettings(getenv func(string) string) (agentSettings, error) {
	s := agentSettings{
		apiEndpoint: cmp.Or(o.overrides.APIEndpoint, getenv(config.EnvAPIEndpoint), config.DefaultAPIEndpoint),
		orgID:       cmp.Or(o.overrides.OrgID, getenv(config.EnvOrgID)),
		caBundle:    cmp.Or(o.overrides.CABundle, getenv(config.EnvCABundle)),
	}
	if s.orgID == "" {
		return s, fmt.Errorf("the agent needs the organisation id: pass --org-id or export %s", config.EnvOrgID)
	}
	if err := checkAPIEndpoint(s.apiEndpoint); err != nil {
		return s, err
	}
	s.policy = keypolicy.For(o.agent.lifetime)
	if o.agent.propagationSet {
		s.policy.PropagationDelay = o.agent.propagation
	} else {
		if v := getenv(config.EnvPropagationDelay); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 {
				return s, fmt.Errorf("%s %q is not a duration: write e.g. 5s, or 0s for none", config.EnvPropagationDelay, v)
			}
			s.policy.PropagationDelay = d
		}
	}
	if err := s.policy.Validate(); err != nil {
		return s, fmt.Errorf("--lifetime %s: %w", o.agent.lifetime, err)
	}
	return s, nil
}

// checkAPIEndpoint accepts https, or http to loopback (the emulator): the
// callers' tokens are sent there.
func checkAPIEndpoint(v string) error {
	u, err := url.Parse(v)
	if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("API endpoint %q is not a URL such as %s: fix --api-endpoint or %s", v, config.DefaultAPIEndpoint, config.EnvAPIEndpoint)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if ip, err := netip.ParseAddr(u.Hostname()); u.Hostname() == "localhost" || err == nil && ip.IsLoopback() {
			return nil
		}
	}
	return fmt.Errorf("API endpoint %q must use https (plain http only to loopback): the pods' tokens are sent to it", v)
}

// callerToken is the identity source of one agent entry: the token the caller
// sent, which never changes for that entry (a new token is a new entry).
type callerToken string

func (c callerToken) Token(context.Context) (string, error) { return string(c), nil }
func (c callerToken) Describe() string                      { return "the caller's service-account token" }
func (c callerToken) InputFingerprint() (string, error)     { return "caller-token", nil }

// agentExchanges is the agent's provider: an AgentCache whose entries exchange
// their caller's token with the oidc exchange.
type agentExchanges struct {
	cache    *cache.AgentCache
	client   *cwobject.Client
	orgID    string
	lifetime time.Duration
	clock    clockwork.Clock
}

func (a *agentExchanges) newFetcher(token string) (cache.Fetcher, error) {
	return exchange.NewOIDCExchange(exchange.OIDCExchangeConfig{Client: a.client, Source: callerToken(token),
		OrgID: a.orgID, Lifetime: a.lifetime, Clock: a.clock})
}

func (a *agentExchanges) Get(ctx context.Context, token string, admit func() (time.Time, error)) (creds.Credentials, error) {
	return a.cache.GetAdmitted(ctx, token, func() (cache.Fetcher, time.Time, error) {
		notAfter, err := admit()
		if err != nil {
			return nil, time.Time{}, err
		}
		f, err := a.newFetcher(strings.Clone(token)) // keep the token, not the request's memory
		return f, notAfter, err
	})
}

// apiProbe says whether the CoreWeave API answered lately: any HTTP answer, even
// an error status, proves it reachable; only a transport failure does not.
type apiProbe struct {
	client   *http.Client
	url      string
	interval time.Duration
	clock    clockwork.Clock
	log      *zap.Logger

	mu      sync.Mutex
	checked bool // a check has run: the first one is always a change, logged
	ok      bool
	reason  string
}

func (p *apiProbe) check(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, agentProbeTimeout)
	defer cancel()
	ok, reason := true, ""
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url, nil)
	if err == nil {
		var resp *http.Response
		if resp, err = p.client.Do(req); err == nil {
			_ = resp.Body.Close()
		}
	}
	if err != nil {
		ok, reason = false, "the CoreWeave API at "+p.url+" did not answer at the last check: "+cleanProbeError(err)
	}
	p.mu.Lock()
	changed := !p.checked || ok != p.ok
	p.checked, p.ok, p.reason = true, ok, reason
	p.mu.Unlock()
	if changed && ok {
		p.log.Info("the CoreWeave API answers", zap.String("api_endpoint", p.url))
	} else if changed {
		p.log.Warn("the CoreWeave API does not answer; /readyz says not ready", zap.String("api_endpoint", p.url), zap.String("error", cleanProbeError(err)))
	}
}

func cleanProbeError(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return err.Error()
}

func (p *apiProbe) ready(context.Context) (bool, string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.checked {
		return false, "the CoreWeave API has not been checked yet"
	}
	return p.ok, p.reason
}

func (p *apiProbe) run(ctx context.Context) error {
	t := p.clock.NewTicker(p.interval)
	defer t.Stop()
	for {
		p.check(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.Chan():
		}
	}
}

// runAgent is `cwcreds serve --mode agent`: it returns nil after a graceful
// shutdown.
func runAgent(ctx context.Context, env Env, o *serveOptions, reload <-chan os.Signal) error {
	log, err := logging.New(env.Stderr, o.logLevel)
	if err != nil {
		return err
	}
	defer func() { _ = log.Sync() }()
	clock := clockwork.NewRealClock()
	st, err := o.agentSettings(env.Getenv)
	if err != nil {
		return err
	}
	httpClient, err := exchange.NewHTTPClient(exchange.HTTPOptions{CABundle: st.caBundle, Getenv: env.Getenv})
	if err != nil {
		return err
	}
	client, err := cwobject.New(cwobject.Config{BaseURL: st.apiEndpoint, HTTPClient: httpClient, UserAgent: "cwcreds/" + env.Version,
		Clock: clock, Logger: log, Retry: cwobject.RetryPolicy{MaxAttempts: 1}})
	if err != nil {
		return fmt.Errorf("API endpoint %s: %w", st.apiEndpoint, err)
	}

	registry := server.NewRegistry()
	metrics, err := server.NewMetrics(registry, clock)
	if err != nil {
		return err
	}
	ac, err := cache.NewAgentCache(cache.AgentConfig{
		Identity: cache.Config{Profile: server.AgentProfile, Clock: clock, Logger: log, Events: server.NewObserver(metrics, nil),
			Policy: st.policy, ColdWait: o.coldWait, AwaitPropagation: !o.noPropWait},
		MaxEntries:    o.agent.maxIdentities,
		IdleTimeout:   o.agent.idleTimeout,
		UpstreamRate:  rate.Limit(o.agent.upstreamRate),
		UpstreamBurst: o.agent.upstreamBurst,
	})
	if err != nil {
		return err
	}
	provider := &agentExchanges{cache: ac, client: client, orgID: st.orgID, lifetime: st.policy.Lifetime, clock: clock}
	if _, err := provider.newFetcher("settings-check"); err != nil { // the lifetime and org id, once
		return err
	}
	agentMetrics, err := server.NewAgentMetrics(registry, ac.Len)
	if err != nil {
		return err
	}
	probe := &apiProbe{client: httpClient, url: st.apiEndpoint + "/", interval: o.agent.probeInterval, clock: clock, log: log}
	srv, err := server.New(server.Config{ColdWait: o.coldWait, Metrics: metrics, Logger: log, Clock: clock,
		Agent: &server.AgentConfig{Provider: provider, Audience: o.agent.audience, Metrics: agentMetrics, Ready: probe.ready}})
	if err != nil {
		return err
	}
	ops, err := server.NewOpsHandler(server.OpsConfig{Server: srv, Gatherer: registry, Logger: log})
	if err != nil {
		return err
	}

	listeners, cfgs, err := listenAgent(ctx, o, log, metrics)
	if err != nil {
		return err
	}
	closeAll := func() {
		for _, ln := range listeners {
			_ = ln.Close()
		}
	}
	opsCfg := server.ListenConfig{Addr: o.opsListen, ShutdownTimeout: o.shutdownTimeout, Logger: log}
	var opsLn net.Listener
	if o.opsListen != "" && o.opsListen != opsOff {
		if opsLn, err = server.Listen(ctx, opsCfg); err != nil {
			closeAll()
			return fmt.Errorf("operations endpoint: %w (choose another address with --ops-listen, or turn it off with --ops-listen off)", err)
		}
	}
	var addrs, urls []string
	var tasks []task
	for i, ln := range listeners {
		addrs = append(addrs, listenerAddr(ln))
		urls = append(urls, server.EndpointURL(ln.Addr(), ""))
		tasks = append(tasks, task{"credentials endpoint " + listenerAddr(ln), func(ctx context.Context) error {
			return serveEndpoint(ctx, ln, srv.Handler(ln.Addr()), cfgs[i], log)
		}})
	}
	fields := []zap.Field{zap.String("mode", modeAgent), zap.Strings("listen", addrs), zap.Strings("endpoints", urls),
		zap.String("audience", o.agent.audience), zap.String("api_endpoint", st.apiEndpoint), zap.Duration("lifetime", st.policy.Lifetime),
		zap.Int("max_identities", o.agent.maxIdentities), zap.Float64("upstream_rate", o.agent.upstreamRate), zap.Int("upstream_burst", o.agent.upstreamBurst)}
	if opsLn != nil {
		fields = append(fields, zap.String("ops_listen", listenerAddr(opsLn)))
		tasks = append(tasks, task{"operations endpoint", func(ctx context.Context) error {
			return serveEndpoint(ctx, opsLn, ops, opsCfg, log)
		}})
	}
	tasks = append(tasks,
		task{"agent cache sweeper", ac.Run},
		task{"API probe", probe.run},
		task{"reload signals", func(ctx context.Context) error {
			for {
				select {
				case <-ctx.Done():
					return nil
				case <-reload: // SIGHUP must not kill the agent; it has nothing to re-read
					log.Info("reload asked: the agent has no config file or auth token to re-read; nothing changes")
				}
			}
		}},
	)
	log.Info("serving credentials", fields...)
	stopWatch := context.AfterFunc(ctx, func() { log.Info("shutting down", zap.Duration("deadline", o.shutdownTimeout)) })
	defer stopWatch()
	if err := runTasks(ctx, tasks...); err != nil {
		return err
	}
	log.Info("stopped")
	return nil
}

// listenAgent binds every --listen address. One that this node does not have is
// an error that says how to add it, or, with --listen-optional, skipped — but
// at least one must be bound.
func listenAgent(ctx context.Context, o *serveOptions, log *zap.Logger, metrics *server.Metrics) ([]net.Listener, []server.ListenConfig, error) {
	var lns []net.Listener
	var cfgs []server.ListenConfig
	var skipped []string
	fail := func(err error) ([]net.Listener, []server.ListenConfig, error) {
		for _, ln := range lns {
			_ = ln.Close()
		}
		return nil, nil, err
	}
	seen := map[string]bool{}
	for _, addr := range o.listens {
		if seen[addr] {
			return fail(fmt.Errorf("--listen %s is given twice", addr))
		}
		seen[addr] = true
		cfg := server.ListenConfig{Addr: addr, ShutdownTimeout: o.shutdownTimeout, Logger: log, Metrics: metrics}
		ln, err := server.Listen(ctx, cfg)
		if err != nil {
			if !addressMissing(err) {
				return fail(fmt.Errorf("credentials endpoint: %w (choose another address with --listen)", err))
			}
			if !o.agent.listenOptional {
				return fail(fmt.Errorf("credentials endpoint: %s is not an address of this node (%v): run `cwcreds agent init-network` first (it needs NET_ADMIN), or pass --listen-optional to serve on the other addresses only",
					addr, rootCause(err)))
			}
			log.Warn("skipping a --listen address this node does not have", zap.String("listen", addr), zap.String("error", rootCause(err).Error()))
			skipped = append(skipped, addr)
			continue
		}
		lns = append(lns, ln)
		cfgs = append(cfgs, cfg)
	}
	if len(lns) == 0 {
		return fail(fmt.Errorf("credentials endpoint: none of the --listen addresses (%s) is on this node: run `cwcreds agent init-network` first (it needs NET_ADMIN)", strings.Join(skipped, ", ")))
	}
	return lns, cfgs, nil
}

// addressMissing: the address is not configured on this node, or its family
// (IPv4 or IPv6) is not available here.
func addressMissing(err error) bool {
	return errors.Is(err, syscall.EADDRNOTAVAIL) || errors.Is(err, syscall.EAFNOSUPPORT) || errors.Is(err, syscall.EPROTONOSUPPORT)
}

func rootCause(err error) error {
	for {
		u := errors.Unwrap(err)
		if u == nil {
			return err
		}
		err = u
	}
}
