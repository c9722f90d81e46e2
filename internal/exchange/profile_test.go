package exchange

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cwcreds/cwcreds/internal/config"
	"github.com/cwcreds/cwcreds/internal/cwobject"
)

// TestNewFetcherFromProfiles builds every kind of profile from a real config file
// and exchanges its identity at the emulator, so the mapping from configuration to
// source and exchange is covered end to end.
func TestNewFetcherFromProfiles(t *testing.T) {
	v := newTestEnv(t)
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	writeFile(t, tokenFile, v.mint("workload", time.Hour))
	apiTokenFile := filepath.Join(dir, "api-token")
	writeFile(t, apiTokenFile, v.emu.AdminToken())
	idp, configID := newSAMLIdP(t, v)
	samlFile := filepath.Join(dir, "saml.b64")
	writeFile(t, samlFile, idp.response(t, "engineers"))
	script := filepath.Join(dir, "print-token")
	writeFile(t, script, "#!/bin/sh\ncat "+tokenFile+"\n")
	if err := os.Chmod(script, 0o700); err != nil {
		t.Fatal(err)
	}

	cfgPath := filepath.Join(dir, "config.yaml")
	writeFile(t, cfgPath, fmt.Sprintf(`api_endpoint: %s
org_id: %s
profiles:
  file:     {source: {type: token_file, path: %s}, lifetime: 2h}
  file-get: {source: {type: token_file, path: %s}, exchange: container_creds}
  command:  {source: {type: token_command, command: [%s]}}
  api:      {source: {type: api_token, file: %s}, lifetime: 30m}
  api-get:  {source: {type: api_token, env: MY_TOKEN}, exchange: api_token_get}
  saml:     {source: {type: saml_file, path: %s, config_id: %s}}
`, v.api.URL, v.emu.OrgID(), tokenFile, tokenFile, script, apiTokenFile, samlFile, configID))
	env := map[string]string{"MY_TOKEN": v.emu.AdminToken()}
	cfg, err := config.Load(config.LoadOptions{Path: cfgPath, Getenv: func(k string) string { return env[k] }, HomeDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	oidcPrincipal := v.principal("workload")
	admin := v.emu.AdminPrincipal()
	for _, tc := range []struct {
		profile   string
		lifetime  time.Duration
		principal string
	}{
		{"file", 2 * time.Hour, oidcPrincipal},
		{"file-get", cwobject.ContainerCredsLifetime, oidcPrincipal},
		{"command", time.Hour, oidcPrincipal},
		{"api", 30 * time.Minute, admin},
		{"api-get", cwobject.ContainerCredsLifetime, ""},
		{"saml", time.Hour, "saml/engineers"},
	} {
		t.Run(tc.profile, func(t *testing.T) {
			p, err := cfg.Profile(tc.profile)
			if err != nil {
				t.Fatal(err)
			}
			f, err := NewFetcher(p, Deps{Getenv: func(k string) string { return env[k] }, Clock: v.clock, HTTPClient: v.api.Client(), LoginDir: dir})
			if err != nil {
				t.Fatal(err)
			}
			c, err := f.Fetch(ctx(t))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(c.AccessKeyID, "CW") || c.SecretAccessKey == "" {
				t.Fatalf("bad keys %v", c)
			}
			if got := c.Expiration.Sub(v.clock.Now()); got != tc.lifetime {
				t.Errorf("lifetime %s, want %s", got, tc.lifetime)
			}
			if c.Principal != tc.principal {
				t.Errorf("principal %q, want %q", c.Principal, tc.principal)
			}
			if _, err := f.InputFingerprint(); err != nil && tc.profile != "command" {
				t.Errorf("fingerprint: %v", err)
			}
		})
	}
}

func TestNewFetcherOIDCRefreshWithoutLogin(t *testing.T) {
	v := newTestEnv(t)
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "config.yaml")
	writeFile(t, cfgPath, fmt.Sprintf(`api_endpoint: %s
org_id: %s
profiles:
  laptop: {source: {type: oidc_refresh, issuer: %s, client_id: cwcreds}}
`, v.api.URL, v.emu.OrgID(), "http://127.0.0.1:1/no-idp"))
	cfg, err := config.Load(config.LoadOptions{Path: cfgPath, HomeDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	p, _ := cfg.Profile("laptop")
	f, err := NewFetcher(p, Deps{Clock: v.clock, HTTPClient: v.api.Client(), LoginDir: filepath.Join(dir, "logins")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.Fetch(ctx(t))
	wantErr(t, err, true, "login")
}

func TestSafeFileNameStaysInFolder(t *testing.T) {
	for _, name := range []string{"../x", "a/b", "..", "ok-name_1"} {
		got := safeFileName(name)
		if strings.ContainsAny(got, "/.") {
			t.Errorf("safeFileName(%q) = %q", name, got)
		}
	}
}
