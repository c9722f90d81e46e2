package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/cwcreds/cwcreds/internal/cache"
	"github.com/cwcreds/cwcreds/internal/creds"
	"github.com/cwcreds/cwcreds/internal/exchange"
)

// AgentProfile labels the metrics and errors of a node agent: every identity it
// serves counts under this one profile, never under a label of its own.
const AgentProfile = "agent"

// AgentProvider hands out keys for the identity a caller's token proves; the
// *cache.AgentCache with a fetcher per token is one (GetAdmitted). For a token it
// does not hold, Get must call admit before anything else — admit checks the
// token and returns the instant after which it may no longer be used — and
// return admit's error unchanged, caching nothing; for a token it holds, Get
// must return an error matching cache.ErrTokenExpired once that instant passed.
// The token is thus parsed once, not on every request. Other errors follow
// Provider's rules; one matching cache.ErrRateLimited is counted as rate limited.
type AgentProvider interface {
	Get(ctx context.Context, token string, admit func() (notAfter time.Time, err error)) (creds.Credentials, error)
}

// AgentConfig makes a Server a node agent (`cwcreds serve --mode agent`): there is
// no auth token and no profile; the caller's Authorization value — the pod's
// projected service-account token, sent raw by the SDK from
// AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE — is its identity.
type AgentConfig struct {
	// Provider exchanges and caches per token. Required.
	Provider AgentProvider
	// Audience the token must be issued for (e.g. https://coreweave.com/iam).
	// Required.
	Audience string
	// Metrics, when set, counts the rate-limited requests (see NewAgentMetrics).
	Metrics *AgentMetrics
	// Ready reports whether the agent can serve (see Server.Readiness); nil: ready.
	Ready func(ctx context.Context) (bool, string)
}

// agent is the state of a Server in agent mode.
type agent struct {
	provider AgentProvider
	audience string
	metrics  *AgentMetrics
	ready    func(ctx context.Context) (bool, string)
	prof     *profile // carries the "agent" series

	missing, several, wrongAudience, expired, notFound *errorResponse
}

func newAgent(cfg *AgentConfig) (*agent, error) {
	switch {
	case cfg.Provider == nil:
		return nil, errors.New("agent mode needs a provider that exchanges callers' tokens")
	case cfg.Audience == "":
		return nil, errors.New("agent mode needs the audience callers' tokens must have: use e.g. https://coreweave.com/iam")
	}
	a := &agent{
		provider: cfg.Provider,
		audience: cfg.Audience,
		metrics:  cfg.Metrics,
		ready:    cfg.Ready,
		prof:     &profile{name: AgentProfile},
		missing: newErrorResponse(http.StatusUnauthorized, "MissingIdentityToken",
			"no Authorization header: point AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE at the pod's projected service-account token (audience "+cfg.Audience+")"),
		several: newErrorResponse(http.StatusBadRequest, "MalformedIdentityToken",
			"more than one Authorization header: send the pod's service-account token once"),
		wrongAudience: newErrorResponse(http.StatusForbidden, "WrongAudience",
			"the identity token was not issued for "+cfg.Audience+": project the service-account token with that audience"),
		expired: newErrorResponse(http.StatusForbidden, "ExpiredIdentityToken",
			"the identity token in Authorization has expired (kubelet renews projected tokens: re-read the file, as the AWS SDKs do)"),
		notFound: newErrorResponse(http.StatusNotFound, "NotFound",
			"no such credentials path: the node agent serves "+CredentialsPath+" only; the identity is the Authorization token, not the path"),
	}
	return a, nil
}

// callerToken returns the one Authorization value of the request.
func (s *Server) callerToken(h http.Header) (string, *errorResponse) {
	v := h["Authorization"]
	switch {
	case len(v) == 0 || len(v) == 1 && v[0] == "":
		return "", s.agent.missing
	case len(v) > 1:
		return "", s.agent.several
	}
	return v[0], nil
}

// refusal is an admission failure, carried through the provider unchanged.
type refusal struct{ r *errorResponse }

func (e *refusal) Error() string { return e.r.code }

// admit checks that token is a well-formed, unexpired JWT with iss, sub and the
// expected audience, and returns when it stops being usable (its exp less
// exchange.JWTExpiryLeeway). Nothing is verified — CoreWeave checks the
// signature — but nothing else ever reaches the exchange. The refusal texts come
// from exchange.CheckJWT and this function, never from the token.
func (s *Server) admit(token string) (time.Time, error) {
	claims, err := exchange.CheckJWT(token, s.clock.Now())
	switch {
	case errors.Is(err, exchange.ErrExpired):
		return time.Time{}, &refusal{newErrorResponse(http.StatusForbidden, "ExpiredIdentityToken",
			"the identity token in Authorization has "+err.Error()+" (kubelet renews projected tokens: re-read the file, as the AWS SDKs do)")}
	case err != nil:
		return time.Time{}, &refusal{newErrorResponse(http.StatusBadRequest, "MalformedIdentityToken",
			"the Authorization header is "+err.Error()+": send the pod's projected service-account token, raw (no \"Bearer \")")}
	case claims.Issuer == "" || claims.Subject == "":
		return time.Time{}, &refusal{newErrorResponse(http.StatusBadRequest, "MalformedIdentityToken",
			"the identity token has no iss or no sub claim, which CoreWeave needs to name its principal")}
	case !slices.Contains(claims.Audience, s.agent.audience):
		return time.Time{}, &refusal{s.agent.wrongAudience}
	}
	return claims.Expiry.Add(-exchange.JWTExpiryLeeway), nil
}

// agentHandler serves one listener of a node agent.
type agentHandler struct {
	s     *Server
	hosts hostRule
}

func (h *agentHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s := h.s
	a := s.agent
	var refused *errorResponse
	var token string
	switch {
	case isForwarded(r.Header):
		refused = s.static.forwarded
	case !h.hosts.allows(r.Host):
		refused = s.static.misdirected
	case r.URL.Path != CredentialsPath || r.URL.RawPath != "":
		refused = a.notFound
	case r.Method != http.MethodGet && r.Method != http.MethodHead:
		refused = s.static.methodNotAllowed
	default:
		token, refused = s.callerToken(r.Header)
	}
	if refused != nil {
		s.refuse(w, r, a.prof.pm, refused)
		return
	}

	ctx := newColdCtx(r.Context(), s.coldWait)
	c, err := a.provider.Get(ctx, token, func() (time.Time, error) { return s.admit(token) })
	ctx.release()
	var ref *refusal
	switch {
	case errors.As(err, &ref):
		s.refuse(w, r, a.prof.pm, ref.r)
		return
	case errors.Is(err, cache.ErrTokenExpired):
		s.refuse(w, r, a.prof.pm, a.expired)
		return
	}
	if err == nil && (c.AccessKeyID == "" || c.SecretAccessKey == "" || !s.clock.Now().Before(c.Expiration)) {
		err = errInvalidKeys
	}
	if err != nil {
		if a.metrics != nil && errors.Is(err, cache.ErrRateLimited) {
			a.metrics.rateLimited.Inc()
		}
		s.failAgent(w, r, token, err)
		return
	}
	body := c.ContainerJSON()
	hdr := w.Header()
	hdr["Content-Type"] = s.hdrJSON
	hdr["Cache-Control"] = s.hdrNoStore
	hdr["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
	a.prof.pm.requests[stOK].Inc()
}

// failAgent answers a provider error; the log names the identity by a prefix of
// its token's hash, as the agent cache does, never by the token.
func (s *Server) failAgent(w http.ResponseWriter, r *http.Request, token string, err error) {
	e := s.responseFor(AgentProfile, err)
	s.writeError(w, e)
	s.agent.prof.pm.requests[statusIndex(e.status)].Inc()
	lvl := zap.DebugLevel
	if e.status == http.StatusInternalServerError {
		lvl = zap.ErrorLevel
	}
	if ce := s.log.Check(lvl, "could not serve credentials"); ce != nil {
		ce.Write(zap.String("profile", AgentProfile), zap.String("identity", IdentityLabel(token)), zap.Int("status", e.status),
			zap.String("error", cleanMessage(err.Error())), zap.String("remote", r.RemoteAddr))
	}
}

// IdentityLabel names a caller in logs: the first 8 hex digits of its token's
// SHA-256, as the agent cache's own log lines do. Never a metric label.
func IdentityLabel(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:4])
}

// AgentMetrics are the node agent's own series, beside the cwcreds_* ones that
// count it under the profile "agent".
type AgentMetrics struct {
	rateLimited prometheus.Counter
}

// NewAgentMetrics registers cwcreds_agent_identities (identities() at scrape
// time, e.g. AgentCache.Len) and cwcreds_agent_rate_limited_total with reg.
func NewAgentMetrics(reg prometheus.Registerer, identities func() int) (*AgentMetrics, error) {
	if reg == nil || identities == nil {
		return nil, errors.New("agent metrics need a registry and a count of identities")
	}
	m := &AgentMetrics{rateLimited: prometheus.NewCounter(prometheus.CounterOpts{Name: "cwcreds_agent_rate_limited_total",
		Help: "Requests answered 503 because an upstream rate limit (the agent's --upstream-rate, or an identity's own spacing) held the exchange back."})}
	gauge := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "cwcreds_agent_identities",
		Help: "Identities (distinct caller tokens) the node agent holds in its cache."}, func() float64 { return float64(identities()) })
	for _, c := range []prometheus.Collector{m.rateLimited, gauge} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("could not register the agent metrics: %w", err)
		}
	}
	return m, nil
}
