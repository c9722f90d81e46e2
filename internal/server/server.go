package server

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

// DefaultColdWait is how long a request waits for a running exchange before it gets
// 503: below the 1 s timeout of the JS SDK, the strictest one.
const DefaultColdWait = 800 * time.Millisecond

// Config configures a Server.
type Config struct {
	// AuthToken is what callers must send as the Authorization header (the content
	// of AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE); see LoadAuthToken. Its Reload
	// takes effect at once. Set it or Token, not both.
	AuthToken *AuthToken
	// Token is a fixed token, for a caller that keeps no token file.
	Token string
	// ColdWait bounds how long a request waits for keys that are being fetched
	// (default DefaultColdWait).
	ColdWait time.Duration
	// Metrics receives request counts; nil keeps them in a private registry nobody
	// reads. Give the same Metrics to NewObserver.
	Metrics *Metrics
	// Logger gets refused and failed requests at debug level, 500s at error level;
	// the success path never logs. Nil: no logs.
	Logger *zap.Logger
	// Clock checks that served keys have not expired (default: the real clock).
	Clock clockwork.Clock
	// Agent, when set, makes this a node agent (see AgentConfig): set neither
	// AuthToken nor Token, and no profiles.
	Agent *AgentConfig
}

// Server holds what every listener of the credentials endpoint shares: the token,
// the profiles and the metrics. Handler returns an http.Handler per listener.
type Server struct {
	token    *AuthToken
	coldWait time.Duration
	log      *zap.Logger
	clock    clockwork.Clock
	metrics  *Metrics
	agent    *agent // nil: profile mode

	mu  sync.Mutex // serialises SetProfiles
	set atomic.Pointer[profileSet]

	// Header values shared by every response; never modified after New.
	hdrJSON, hdrNoStore, hdrAllow []string
	static                        staticResponses
}

// New checks cfg and returns a Server that serves no profile until SetProfiles.
func New(cfg Config) (*Server, error) {
	token := cfg.AuthToken
	switch {
	case cfg.Agent != nil && (token != nil || cfg.Token != ""):
		return nil, errors.New("cannot serve credentials: a node agent takes each caller's token as its identity; give it no auth token")
	case cfg.Agent != nil:
	case token != nil && cfg.Token != "":
		return nil, errors.New("cannot serve credentials: set Config.AuthToken or Config.Token, not both")
	case token == nil:
		var err error
		if token, err = fixedToken(cfg.Token); err != nil {
			return nil, fmt.Errorf("cannot serve credentials: %w", err)
		}
	}
	if cfg.ColdWait < 0 {
		return nil, errors.New("cold wait must not be negative")
	}
	s := &Server{
		token:      token,
		coldWait:   cfg.ColdWait,
		log:        cfg.Logger,
		clock:      cfg.Clock,
		metrics:    cfg.Metrics,
		hdrJSON:    []string{"application/json"},
		hdrNoStore: []string{"no-store"},
		hdrAllow:   []string{"GET, HEAD"},
		static:     newStaticResponses(),
	}
	if s.coldWait == 0 {
		s.coldWait = DefaultColdWait
	}
	if s.log == nil {
		s.log = zap.NewNop()
	}
	if s.clock == nil {
		s.clock = clockwork.NewRealClock()
	}
	if s.metrics == nil {
		m, err := NewMetrics(prometheus.NewRegistry(), s.clock)
		if err != nil {
			return nil, err
		}
		s.metrics = m
	}
	s.set.Store(&profileSet{byName: map[string]*profile{}})
	if cfg.Agent != nil {
		a, err := newAgent(cfg.Agent)
		if err != nil {
			return nil, fmt.Errorf("cannot serve credentials: %w", err)
		}
		s.agent = a
		s.metrics.setProfiles([]*profile{a.prof})
	}
	return s, nil
}

// ColdWait is the bound on a request's wait for keys being fetched.
func (s *Server) ColdWait() time.Duration { return s.coldWait }
