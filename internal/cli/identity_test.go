//go:build unix

package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cwcreds/cwcreds/internal/cwobject"
	"github.com/cwcreds/cwcreds/internal/emulator"
	"github.com/cwcreds/cwcreds/internal/emulator/devissuer"
	"github.com/cwcreds/cwcreds/internal/emulator/emutest"
)

// identityStep is one edit of profile p that changes which identity or which keys
// it gets; steps apply in order, each to the previous one's config.
type identityStep struct {
	name    string
	profile string // the YAML of profile p, indented under profiles:
	api     *emulator.Emulator
}

// identityScene is two emulators sharing an org id and admin token (so that only
// the endpoint tells them apart) and two token files of different subjects.
type identityScene struct {
	emu, emu2      *emulator.Emulator
	tokenA, tokenB string
	adminToken     string
}

func newIdentityScene(t *testing.T, dir string, emu *emulator.Emulator) *identityScene {
	t.Helper()
	emu2 := emutest.Start(t, emulator.Config{OrgID: emu.OrgID(), AdminToken: emu.AdminToken()})
	s := &identityScene{emu: emu, emu2: emu2, adminToken: emu.AdminToken(),
		tokenA: filepath.Join(dir, "token-a"), tokenB: filepath.Join(dir, "token-b")}
	for path, sub := range map[string]string{s.tokenA: "job-a", s.tokenB: "job-b"} {
		tok, err := emu.DevIssuer().Mint(devissuer.MintOptions{Subject: sub, Audience: []string{cwobject.RecommendedAudience}, Lifetime: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(tok), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// steps changes one setting at a time, as in the adversarial run that got the org
// admin's keys for a token_file profile.
func (s *identityScene) steps() []identityStep {
	api := func(e *emulator.Emulator) string { return "    api_endpoint: " + e.APIURL() + "\n" }
	tokenFile := func(path string) string { return "    source: {type: token_file, path: " + path + "}\n" }
	return []identityStep{
		{"api_token source", api(s.emu) + "    source: {type: api_token, env: CW_API_TOKEN}\n", s.emu},
		{"api endpoint", api(s.emu2) + "    source: {type: api_token, env: CW_API_TOKEN}\n", s.emu2},
		{"exchange", api(s.emu2) + "    source: {type: api_token, env: CW_API_TOKEN}\n    exchange: api_token_get\n", s.emu2},
		{"token_file source", api(s.emu) + tokenFile(s.tokenA), s.emu},
		{"token file path", api(s.emu) + tokenFile(s.tokenB), s.emu},
		{"lifetime", api(s.emu) + tokenFile(s.tokenB) + "    lifetime: 2h\n", s.emu},
		{"org", api(s.emu) + tokenFile(s.tokenB) + "    lifetime: 2h\n    org_id: org-someoneelse\n", nil},
	}
}

func (s *identityScene) config(cacheDir string, step identityStep) string {
	// No propagation delay: the emulators' S3 takes new keys at once.
	return fmt.Sprintf("org_id: %s\ns3_endpoint: %s\nregion: %s\ncache_dir: %s\nprofiles:\n  p:\n    propagation_delay: 0s\n%s",
		s.emu.OrgID(), s.emu.S3URL(), s.emu.Region(), cacheDir, step.profile)
}

// Changing any setting that decides a profile's identity makes both
// credential-process binaries exchange again instead of serving the keys cached
// under the old settings; status then shows the new principal.
func TestIdentityChangeThroughBinaries(t *testing.T) {
	bin := buildCwcreds(t)
	w := newWorld(t)
	s := newIdentityScene(t, w.dir, w.emu)
	env := w.environWithout([]string{"CWCREDS_API_ENDPOINT", "CWCREDS_ORG_ID", "CWCREDS_TOKEN_FILE"}, "CW_API_TOKEN="+s.adminToken)
	cacheDir := filepath.Join(w.dir, "cache", "cwcreds")
	seen := map[string]string{} // access key id: step that got it
	for _, step := range s.steps() {
		w.writeConfig(s.config(cacheDir, step))
		for i, argv := range [][]string{{fastBinary(bin), "--profile", "p"}, {bin, "credential-process", "--profile", "p"}, {fastBinary(bin), "--profile", "p"}} {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			r := w.runProc(ctx, nil, env, argv...)
			cancel()
			var out struct{ AccessKeyId, SecretAccessKey string }
			if r.code == 0 {
				if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
					t.Fatalf("%s: %s printed no JSON", step.name, argv[0])
				}
				w.addSecret(out.SecretAccessKey)
			}
			if prev, ok := seen[out.AccessKeyId]; ok && prev != step.name {
				t.Fatalf("after changing %s, %s served the keys cached for %q", step.name, filepath.Base(argv[0]), prev)
			}
			if step.api == nil { // a setting the emulator refuses: no keys at all
				if r.code == 0 {
					t.Fatalf("%s: %s printed keys", step.name, filepath.Base(argv[0]))
				}
				continue
			}
			if r.code != 0 {
				t.Fatalf("%s: %s exited %d: %s", step.name, filepath.Base(argv[0]), r.code, r.stderr)
			}
			if i == 0 {
				seen[out.AccessKeyId] = step.name
				if step.api.PrincipalOf(out.AccessKeyId) == "" {
					t.Fatalf("%s: the keys are not from the profile's API endpoint", step.name)
				}
			} else if seen[out.AccessKeyId] != step.name {
				t.Fatalf("%s: %s did not serve the keys cached by the first call", step.name, filepath.Base(argv[0]))
			}
		}
		if step.api == nil {
			continue
		}
		r := w.mustRun(env, bin, "status", "--profile", "p", "-o", "json")
		var rows []struct {
			AccessKeyID string `json:"access_key_id"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &rows); err != nil || len(rows) != 1 {
			t.Fatalf("status -o json: %v\n%s", err, r.stdout)
		}
		if seen[rows[0].AccessKeyID] != step.name || step.api.PrincipalOf(rows[0].AccessKeyID) == "" {
			t.Fatalf("%s: status shows key %s, not this step's", step.name, rows[0].AccessKeyID)
		}
		if strings.Contains(step.profile, "type: token_file") && strings.Contains(r.stdout, w.emu.AdminPrincipal()) {
			t.Fatalf("%s: status shows the admin principal next to a token_file source:\n%s", step.name, r.stdout)
		}
	}
}

// serve keeps a profile's keys across SIGHUP only when nothing that decides its
// identity changed.
func TestIdentityChangeAcrossServeReload(t *testing.T) {
	w := newWorld(t)
	s := newIdentityScene(t, w.dir, w.emu)
	env := map[string]string{"HOME": w.env["HOME"], "XDG_CONFIG_HOME": w.env["XDG_CONFIG_HOME"], "XDG_CACHE_HOME": w.env["XDG_CACHE_HOME"],
		"XDG_STATE_HOME": w.env["XDG_STATE_HOME"], "CW_API_TOKEN": s.adminToken}
	cacheDir := filepath.Join(w.dir, "cache", "cwcreds")
	steps := s.steps()
	cfg := w.writeConfig(s.config(cacheDir, steps[0]))
	reload := make(chan os.Signal, 1)
	r := startServe(t, env, reload, "--config", cfg, "--listen", "127.0.0.1:0", "--ops-listen", "127.0.0.1:0", "--auth-token-file", filepath.Join(w.dir, "run", "auth-token"), "--log-level", "debug")
	r.started()
	prev := r.getCreds("p")
	for i, step := range steps[1:] {
		w.writeConfig(s.config(cacheDir, step))
		reload <- syscall.SIGHUP
		m := r.logs.waitMsg(t, "config reloaded", i+1)
		if !sameStrings(m["changed"], "p") {
			t.Fatalf("%s: reload %v, want p changed", step.name, m)
		}
		if step.api == nil {
			got := srvGet(t, r.url+"/v1/credentials/p", r.token())
			if got.status == 200 && strings.Contains(got.body, prev.AccessKeyID) {
				t.Fatalf("%s: serve still hands out the old identity's keys", step.name)
			}
			continue
		}
		got := r.getCreds("p")
		if got.AccessKeyID == prev.AccessKeyID {
			t.Fatalf("after changing %s, serve kept the old identity's keys", step.name)
		}
		if step.api.PrincipalOf(got.AccessKeyID) == "" {
			t.Fatalf("%s: the keys are not from the profile's API endpoint", step.name)
		}
		prev = got
	}
}

// Whose API token it is decides whose keys they are: a new token in the same
// variable or file is a new identity for both binaries.
func TestAPITokenChangeThroughBinaries(t *testing.T) {
	bin := buildCwcreds(t)
	w := newWorld(t)
	alice, bob := w.emu.AddUserToken("alice"), w.emu.AddUserToken("bob")
	w.secrets = append(w.secrets, alice, bob)
	admin, err := cwobject.New(cwobject.Config{BaseURL: w.emu.APIURL(), Token: w.emu.AdminToken()})
	if err != nil {
		t.Fatal(err)
	}
	if err := admin.EnsureAccessPolicy(t.Context(), cwobject.Policy{Name: "mint", Statements: []cwobject.PolicyStatement{
		{Name: "mint", Effect: cwobject.EffectAllow, Actions: []string{"cwobject:CreateAccessKey"},
			Resources: []string{"*"}, Principals: []string{"coreweave/alice", "coreweave/bob"}},
	}}); err != nil {
		t.Fatal(err)
	}
	tokenFile := filepath.Join(w.dir, "api-token")
	for _, tc := range []struct {
		name, source string
		use          func(token string) []string // the environment that selects token
	}{
		{"env", "{type: api_token, env: MY_TOKEN}", func(tok string) []string {
			return w.environWithout([]string{"CWCREDS_TOKEN_FILE"}, "MY_TOKEN="+tok)
		}},
		{"file", "{type: api_token, file: " + tokenFile + "}", func(tok string) []string {
			if err := os.WriteFile(tokenFile, []byte(tok+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			return w.environWithout([]string{"CWCREDS_TOKEN_FILE"})
		}},
	} {
		{ // no subtest: w's helpers fail the test that made w
			w.writeConfig("profiles:\n  p" + tc.name + ":\n    source: " + tc.source + "\n    propagation_delay: 0s\n")
			for _, argv := range [][]string{{fastBinary(bin), "--profile", "p" + tc.name}, {bin, "credential-process", "--profile", "p" + tc.name}} {
				for _, user := range []struct{ token, principal string }{{alice, "coreweave/alice"}, {bob, "coreweave/bob"}, {alice, "coreweave/alice"}} {
					env := tc.use(user.token)
					out := w.processOutput(w.mustRun(env, argv...).stdout)
					if got := w.emu.PrincipalOf(out.AccessKeyID); got != user.principal {
						t.Fatalf("%s with %s's token got keys of %q", filepath.Base(argv[0]), user.principal, got)
					}
					// Warm: the same token gets the same keys from the cache.
					if again := w.processOutput(w.mustRun(env, argv...).stdout); again.AccessKeyID != out.AccessKeyID {
						t.Fatalf("%s: the same token did not get the cached keys", filepath.Base(argv[0]))
					}
				}
			}
		}
	}
}
