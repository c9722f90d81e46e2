package creds

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

func sample() Credentials {
	return Credentials{
		AccessKeyID:     "CWABCDEFGHIJKLMN",
		SecretAccessKey: "cwo-very-secret",
		SessionToken:    "session-secret",
		Expiration:      time.Date(2026, 11, 26, 23, 0, 0, 0, time.UTC),
		Principal:       "role/https://issuer:sub",
	}
}

func TestFormattingNeverShowsSecrets(t *testing.T) {
	c := sample()
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		out := fmt.Sprintf(verb, c)
		if strings.Contains(out, "secret") {
			t.Errorf("%s printed a secret: %s", verb, out)
		}
		if !strings.Contains(out, c.AccessKeyID) {
			t.Errorf("%s lost the key id: %s", verb, out)
		}
	}
	out := fmt.Sprintf("%v", &c)
	if strings.Contains(out, "secret") {
		t.Errorf("pointer %%v printed a secret: %s", out)
	}
}

func TestZapNeverShowsSecrets(t *testing.T) {
	core, logs := observer.New(zap.DebugLevel)
	zap.New(core).Info("refreshed", zap.Object("credentials", sample()), zap.Any("any", sample()))
	for _, e := range logs.All() {
		for k, v := range e.ContextMap() {
			if s := fmt.Sprint(v); strings.Contains(s, "secret") {
				t.Errorf("field %s leaks a secret: %s", k, s)
			}
		}
	}
}

func TestValid(t *testing.T) {
	c := sample()
	now := c.Expiration.Add(-time.Minute)
	if !c.Valid(now, 30*time.Second) {
		t.Error("a key with 1m left is valid above a 30s floor")
	}
	if c.Valid(now, time.Minute) {
		t.Error("a key with exactly the floor left is not valid")
	}
	if (Credentials{Expiration: c.Expiration}).Valid(now, 0) {
		t.Error("a key without id and secret is not valid")
	}
}
