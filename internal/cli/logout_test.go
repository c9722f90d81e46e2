package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cwcreds/cwcreds/internal/emulator/s3emu"
)

func TestLogout(t *testing.T) {
	w := newWorld(t)
	w.writeProfiles("  ci:\n    source: {type: token_file, path: " + w.tokenFile + "}\n" +
		"  other:\n    source: {type: token_file, path: " + w.tokenFile + "}\n" +
		"  laptop:\n    source: {type: oidc_refresh, issuer: " + w.emu.DevIssuer().URL() + ", client_id: cwcreds}\n")
	stored := filepath.Join(w.env["XDG_STATE_HOME"], "cwcreds", "oidc-laptop.refresh")
	if err := os.MkdirAll(filepath.Dir(stored), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(stored, []byte("stored-refresh-token"), 0o600); err != nil {
		t.Fatal(err)
	}
	w.addSecret("stored-refresh-token")
	get := func(profile string) string {
		t.Helper()
		code, out, errOut := w.run("credential-process", "--profile", profile)
		if code != 0 {
			t.Fatalf("credential-process %s: %s", profile, errOut)
		}
		return w.processOutput(out).AccessKeyID
	}

	// Without --revoke: local only; the key still works until it expires.
	key := get("ci")
	code, out, errOut := w.run("logout", "--profile", "ci")
	if code != 0 || errOut != "" || out != "profile ci: removed cached keys "+key+"\n" {
		t.Fatalf("logout: code %d, stdout %q, stderr %q", code, out, errOut)
	}
	if _, err := os.Stat(w.cacheFile("ci")); !os.IsNotExist(err) {
		t.Fatal("the cache file is still there")
	}
	if _, st := w.emu.ResolveKey(key); st != s3emu.KeyValid {
		t.Fatalf("key state %v after a logout without --revoke", st)
	}
	code, out, _ = w.run("logout", "--profile", "ci")
	if code != 0 || out != "profile ci: nothing was cached or stored\n" {
		t.Fatalf("second logout: %q", out)
	}

	// --revoke with no API token: removed anyway, and a clear error for the rest.
	key = get("ci")
	code, out, errOut = w.run("logout", "--profile", "ci", "--revoke")
	if code == 0 || !strings.Contains(out, "removed cached keys "+key) ||
		!strings.Contains(errOut, "the cached keys were removed, but "+key+" could not be revoked: no API token to revoke with: export CW_API_TOKEN") {
		t.Fatalf("revoke without a token: code %d, stdout %q, stderr %q", code, out, errOut)
	}
	if _, err := os.Stat(w.cacheFile("ci")); !os.IsNotExist(err) {
		t.Fatal("the cache file is still there")
	}

	// --all --revoke with CW_API_TOKEN: every cached key revoked, the stored login gone.
	k1, k2 := get("ci"), get("other")
	w.env["CW_API_TOKEN"] = w.emu.AdminToken()
	code, out, errOut = w.run("logout", "--all", "--revoke")
	if code != 0 || errOut != "" {
		t.Fatalf("logout --all: code %d, stderr %q", code, errOut)
	}
	for _, want := range []string{"profile ci: removed cached keys " + k1 + "\n", "profile other: removed cached keys " + k2 + "\n",
		"profile laptop: removed the stored login\n", "revoked " + k1 + "\n", "revoked " + k2 + "\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	for _, k := range []string{k1, k2} {
		if _, st := w.emu.ResolveKey(k); st == s3emu.KeyValid {
			t.Errorf("%s still valid after --revoke", k)
		}
	}
	if _, err := os.Stat(stored); !os.IsNotExist(err) {
		t.Fatal("the stored login is still there")
	}
	w.checkLeaks("logout output", out)

	code, _, errOut = w.run("logout", "--all", "--profile", "ci")
	if code == 0 || !strings.Contains(errOut, "--all and --profile exclude each other") {
		t.Fatalf("--all --profile: code %d, stderr %q", code, errOut)
	}
}

// --revoke picks its token as exchange.Revoker documents: the profile's own
// api_token source first, else CW_API_TOKEN, never another profile's token.
func TestLogoutRevokeTokenPrecedence(t *testing.T) {
	w := newWorld(t)
	w.writeConfig("org_id: " + w.emu.OrgID() + "\napi_endpoint: " + w.emu.APIURL() + "\nprofiles:\n" +
		"  ops:\n    source: {type: api_token, env: OWN_TOKEN}\n" +
		"  ci:\n    source: {type: token_file, path: " + w.tokenFile + "}\n")
	w.env["OWN_TOKEN"] = w.emu.AdminToken()
	get := func(profile string) string {
		t.Helper()
		code, out, errOut := w.run("credential-process", "--profile", profile)
		if code != 0 {
			t.Fatalf("credential-process %s: %s", profile, errOut)
		}
		return w.processOutput(out).AccessKeyID
	}

	// The profile's own token revokes, though CW_API_TOKEN (unknown) is set.
	key := get("ops")
	w.env["CW_API_TOKEN"] = "CW-SECRET-unknownunknownunknown"
	w.addSecret("CW-SECRET-unknownunknownunknown")
	code, out, errOut := w.run("logout", "--profile", "ops", "--revoke")
	if code != 0 || errOut != "" || !strings.Contains(out, "revoked "+key+"\n") {
		t.Fatalf("logout ops: code %d, stdout %q, stderr %q", code, out, errOut)
	}
	if _, st := w.emu.ResolveKey(key); st == s3emu.KeyValid {
		t.Fatalf("%s still valid after --revoke", key)
	}

	// A profile without one uses CW_API_TOKEN, not the other profile's token.
	delete(w.env, "CW_API_TOKEN")
	key = get("ci")
	code, out, errOut = w.run("logout", "--profile", "ci", "--revoke")
	if code == 0 || !strings.Contains(out, "removed cached keys "+key) ||
		!strings.Contains(errOut, "could not be revoked: no API token to revoke with: export CW_API_TOKEN") {
		t.Fatalf("logout ci without CW_API_TOKEN: code %d, stdout %q, stderr %q", code, out, errOut)
	}
	if _, st := w.emu.ResolveKey(key); st != s3emu.KeyValid {
		t.Fatalf("%s is %s: revoked with another profile's token", key, st)
	}
	w.checkLeaks("logout output", out+errOut)
}
