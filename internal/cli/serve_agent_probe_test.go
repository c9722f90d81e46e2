package cli

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// The agent starts while the CoreWeave API is unreachable: /readyz says not
// ready, but the log never says why — the warning is written only on a change
// from ok to not ok, and the probe starts as "not ok".
// An API unreachable from the start (a wrong --api-endpoint, blocked egress, a
// bad CA bundle) is logged at the first check, not only on a change from ok:
// otherwise the operator sees only a failing readiness probe.
func TestAgentProbeFirstFailureIsLogged(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	url := dead.URL + "/"
	dead.Close() // connection refused from now on
	core, logs := observer.New(zapcore.DebugLevel)
	p := &apiProbe{client: &http.Client{Timeout: time.Second}, url: url, interval: time.Minute, clock: clockwork.NewRealClock(), log: zap.New(core)}
	p.check(context.Background())
	if ok, reason := p.ready(context.Background()); ok || reason == "" {
		t.Fatalf("ready %v %q, want not ready with a reason", ok, reason)
	}
	if logs.FilterLevelExact(zapcore.WarnLevel).Len() == 0 {
		t.Errorf("the API is unreachable from the start, but nothing was logged (%d lines): the operator sees only a failing readiness probe", logs.Len())
	}
}
