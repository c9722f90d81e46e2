package server

import (
	"errors"
	"testing"
	"time"

	"github.com/cwcreds/cwcreds/internal/cache"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

func TestObserverLogsWithoutSecrets(t *testing.T) {
	f := newFixture(t, 0, map[string]Provider{"default": &staticProvider{}})
	core, logs := observer.New(zapcore.DebugLevel)
	o := NewObserver(f.m, zap.New(core))
	c := sampleCreds(epoch.Add(time.Hour))
	o.Refreshed("default", c, 1500*time.Millisecond)
	o.Failed("default", cache.Transient, errors.New("upstream said 503\nsecond line"), epoch.Add(time.Minute))
	o.Failed("nosuch", cache.Unrecoverable, errors.New("access denied"), time.Time{})
	o.Served("default", true)
	o.ExpiredRefused("nosuch")

	entries := logs.All()
	if len(entries) != 3 {
		t.Fatalf("%d log lines, want one per refresh and per failure", len(entries))
	}
	refreshed := entries[0].ContextMap()
	for k, want := range map[string]any{"profile": "default", "access_key_id": "CWKEYID0001", "principal": c.Principal, "took": 1500 * time.Millisecond} {
		if refreshed[k] != want {
			t.Errorf("refresh line %s = %v, want %v", k, refreshed[k], want)
		}
	}
	if refreshed["expiration"] == nil {
		t.Error("refresh line lacks the expiry")
	}
	failed := entries[1].ContextMap()
	if entries[1].Level != zapcore.WarnLevel || failed["class"] != "transient" || failed["error"] != "upstream said 503 second line" || failed["next_retry"] == nil {
		t.Errorf("transient failure line: %v %v", entries[1].Level, failed)
	}
	if entries[2].Level != zapcore.ErrorLevel || entries[2].ContextMap()["class"] != "unrecoverable" {
		t.Errorf("unrecoverable failure line: %v %v", entries[2].Level, entries[2].ContextMap())
	}
	for _, e := range entries {
		assertNoLeak(t, "observer log", e.Message)
		for k, v := range e.ContextMap() {
			if s, ok := v.(string); ok {
				assertNoLeak(t, "observer field "+k, s)
			}
		}
	}
	// Without a logger the Observer only counts.
	NewObserver(f.m, nil).Refreshed("default", c, time.Second)
}
