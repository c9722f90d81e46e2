package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"
)

// DefaultMinReadyTTL is the least time the keys of every profile must have left for
// /readyz to say ready. It equals the cache's default floor, below which keys are
// never served.
const DefaultMinReadyTTL = time.Minute

// OpsConfig configures the operations handler.
type OpsConfig struct {
	// Server is the endpoint whose profiles /readyz checks. Required.
	Server *Server
	// Gatherer is served at /metrics, normally the registry given to NewMetrics.
	// Required: never the global registry by accident.
	Gatherer prometheus.Gatherer
	// MinReadyTTL: ready means every profile holds keys valid at least this long
	// (default DefaultMinReadyTTL).
	MinReadyTTL time.Duration
	// Logger gets errors of the metrics handler. Nil: no logs.
	Logger *zap.Logger
}

// NewOpsHandler returns the handler of the operations listener:
//
//   - /healthz: 200 "ok" while the process serves (liveness; it never depends on
//     upstream, so an outage upstream cannot crash-loop the pod);
//   - /readyz: 200 when every profile holds keys valid for at least MinReadyTTL,
//     else 503; the JSON body lists each profile, and why it is not ready;
//   - /metrics: Prometheus exposition of Gatherer.
//
// It answers GET and HEAD only. Nothing it serves is secret, so it does not require
// the token, but bind it to loopback or a pod-internal address all the same.
func NewOpsHandler(cfg OpsConfig) (http.Handler, error) {
	if cfg.Server == nil {
		return nil, errors.New("the operations handler needs the credentials server whose profiles it reports")
	}
	if cfg.Gatherer == nil {
		return nil, errors.New("the operations handler needs a metrics registry: pass the one given to NewMetrics")
	}
	if cfg.MinReadyTTL < 0 {
		return nil, errors.New("the minimum time-to-live for readiness must not be negative")
	}
	if cfg.MinReadyTTL == 0 {
		cfg.MinReadyTTL = DefaultMinReadyTTL
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	o := &ops{
		s:        cfg.Server,
		minTTL:   cfg.MinReadyTTL,
		notFound: newErrorResponse(http.StatusNotFound, "NotFound", "no such path: use /healthz, /readyz or /metrics"),
		metrics: promhttp.HandlerFor(cfg.Gatherer, promhttp.HandlerOpts{
			ErrorLog:      zap.NewStdLog(cfg.Logger.Named("metrics")),
			ErrorHandling: promhttp.ContinueOnError,
		}),
	}
	return o, nil
}

type ops struct {
	s        *Server
	minTTL   time.Duration
	notFound *errorResponse
	metrics  http.Handler
}

func (o *ops) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var serve func(http.ResponseWriter, *http.Request)
	switch r.URL.Path {
	case "/healthz":
		serve = o.healthz
	case "/readyz":
		serve = o.readyz
	case "/metrics":
		serve = o.metrics.ServeHTTP
	default:
		o.s.writeError(w, o.notFound)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		o.s.writeError(w, o.s.static.methodNotAllowed)
		return
	}
	serve(w, r)
}

func (o *ops) healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte("ok\n"))
}

// Readiness is the /readyz body.
type Readiness struct {
	Ready    bool               `json:"ready"`
	Reason   string             `json:"reason,omitempty"`
	Mode     string             `json:"mode,omitempty"` // "agent" for a node agent
	Profiles []ProfileReadiness `json:"profiles"`
}

// ProfileReadiness is one profile's entry in the /readyz body. It holds no key id
// and no secret.
type ProfileReadiness struct {
	Profile          string     `json:"profile"`
	Default          bool       `json:"default,omitempty"`
	Ready            bool       `json:"ready"`
	Reason           string     `json:"reason,omitempty"`
	Expiration       *time.Time `json:"expiration,omitempty"`
	ExpiresInSeconds int64      `json:"expires_in_seconds,omitempty"`
}

func (o *ops) readyz(w http.ResponseWriter, r *http.Request) {
	rd := o.s.Readiness(r.Context(), o.minTTL)
	body, err := json.Marshal(rd)
	if err != nil {
		o.s.writeError(w, newErrorResponse(http.StatusInternalServerError, "InternalError", "could not encode the readiness report"))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if rd.Ready {
		w.WriteHeader(http.StatusOK)
	} else {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	_, _ = w.Write(append(body, '\n'))
}

// Readiness reports whether every served profile holds keys valid for at least
// minTTL. Profiles whose provider has a Status are checked without fetching; the
// others are asked with Get, bounded by ColdWait.
//
// A node agent holds keys only for callers that asked, so it is ready when its
// AgentConfig.Ready says so (nil: always), whatever keys it holds.
func (s *Server) Readiness(ctx context.Context, minTTL time.Duration) Readiness {
	if s.agent != nil {
		rd := Readiness{Ready: true, Mode: AgentProfile, Profiles: []ProfileReadiness{}}
		if s.agent.ready != nil {
			var reason string
			rd.Ready, reason = s.agent.ready(ctx)
			rd.Reason = cleanMessage(reason)
		}
		return rd
	}
	set := s.set.Load()
	rd := Readiness{Ready: len(set.sorted) > 0, Profiles: make([]ProfileReadiness, 0, len(set.sorted))}
	if len(set.sorted) == 0 {
		rd.Reason = "no profiles are configured"
	}
	for _, p := range set.sorted {
		pr := s.profileReadiness(ctx, p, minTTL)
		pr.Default = p == set.def
		rd.Ready = rd.Ready && pr.Ready
		rd.Profiles = append(rd.Profiles, pr)
	}
	return rd
}

func (s *Server) profileReadiness(ctx context.Context, p *profile, minTTL time.Duration) ProfileReadiness {
	pr := ProfileReadiness{Profile: p.name}
	var remaining time.Duration
	var expiration time.Time
	var lastErr string
	if p.status != nil {
		st := p.status.Status()
		if st.AccessKeyID == "" {
			pr.Reason = "no valid keys yet"
			switch {
			case st.WaitingForInput:
				pr.Reason = "identity not usable; waiting for the identity input to change"
			case st.Fetching:
				pr.Reason = "no valid keys yet; an exchange is running"
			}
			if st.LastError != "" {
				pr.Reason += ": " + cleanMessage(st.LastError)
			}
			return pr
		}
		if !st.Propagated {
			pr.Reason = "keys were just minted and may not be accepted by S3 yet"
			return pr
		}
		remaining, expiration, lastErr = st.Remaining, st.Expiration, st.LastError
		if st.ConsecutiveFailures == 0 {
			lastErr = ""
		}
	} else {
		ctx, cancel := context.WithTimeout(ctx, s.coldWait)
		c, err := p.p.Get(ctx)
		cancel()
		if err != nil {
			pr.Reason = cleanMessage(err.Error())
			return pr
		}
		remaining, expiration = c.Expiration.Sub(s.clock.Now()), c.Expiration
	}
	exp := expiration.UTC()
	pr.Expiration = &exp
	pr.ExpiresInSeconds = int64(remaining.Seconds())
	if remaining < minTTL {
		pr.Reason = fmt.Sprintf("keys expire in %s, less than the %s minimum", remaining.Truncate(time.Second), minTTL)
		if lastErr != "" {
			pr.Reason += "; last exchange failed: " + cleanMessage(lastErr)
		}
		return pr
	}
	pr.Ready = true
	return pr
}
