package cli

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cwcreds/cwcreds/internal/exchange"
)

func TestStatus(t *testing.T) {
	w := newWorld(t)
	w.writeProfiles("  ci:\n    source: {type: token_file, path: " + w.tokenFile + "}\n" +
		"  broken:\n    source: {type: token_file, path: " + w.dir + "/not-a-token}\n" +
		"  laptop:\n    source: {type: oidc_refresh, issuer: " + w.emu.DevIssuer().URL() + ", client_id: cwcreds}\n")
	if err := os.WriteFile(w.dir+"/not-a-token", []byte("not a jwt"), 0o600); err != nil {
		t.Fatal(err)
	}

	// Nothing cached yet: every profile listed, nothing fetched.
	code, out, errOut := w.run("status")
	if code != 0 || errOut != "" || !strings.HasPrefix(out, "PROFILE ") || strings.Count(out, "\n") != 4 ||
		!strings.Contains(out, "oidc_refresh "+w.emu.DevIssuer().URL()+" (login: none)") || w.exchanges() != 0 {
		t.Fatalf("cold: code %d, stderr %q, %d exchanges\n%s", code, errOut, w.exchanges(), out)
	}

	code, cp, _ := w.run("credential-process", "--profile", "ci")
	if code != 0 {
		t.Fatal("credential-process failed")
	}
	keys := w.processOutput(cp)
	if code, _, _ := w.run("credential-process", "--profile", "broken"); code == 0 {
		t.Fatal("the broken profile got keys")
	}
	exchanges := w.exchanges()

	code, out, errOut = w.run("status", "-o", "json")
	if code != 0 || errOut != "" {
		t.Fatalf("json: code %d, stderr %q", code, errOut)
	}
	var rows []profileStatus
	if err := json.Unmarshal([]byte(out), &rows); err != nil || len(rows) != 3 {
		t.Fatalf("%v: %s", err, out)
	}
	ci, broken := rows[0], rows[1]
	if ci.Profile != "ci" || ci.AccessKeyID != keys.AccessKeyID || !strings.Contains(ci.Principal, ":ci-job") ||
		ci.ExpiresInSeconds == nil || *ci.ExpiresInSeconds < 3000 || ci.LastRefresh == nil || ci.LastError != nil ||
		ci.CachePath != w.cacheFile("ci") || ci.Source.Type != "token_file" || ci.Exchange != "oidc" {
		t.Fatalf("ci: %+v", ci)
	}
	if broken.AccessKeyID != "" || broken.LastError == nil || broken.LastError.Class != "unrecoverable" ||
		!strings.Contains(broken.LastError.Message, "not-a-token") || broken.LastError.Count != 1 {
		t.Fatalf("broken: %+v %+v", broken, broken.LastError)
	}
	w.checkLeaks("status -o json", out)

	code, out, _ = w.run("status", "--profile", "broken")
	if code != 0 || strings.Count(out, "\n") != 2 || !strings.Contains(out, "ago: ") || !strings.Contains(out, "not-a-token") {
		t.Fatalf("table for broken: code %d\n%s", code, out)
	}
	w.checkLeaks("status", out)
	if w.exchanges() != exchanges {
		t.Fatal("status made an exchange")
	}

	code, _, errOut = w.run("status", "-o", "yaml")
	if code == 0 || !strings.Contains(errOut, `unknown --output "yaml": use table or json`) {
		t.Fatalf("yaml: code %d, stderr %q", code, errOut)
	}
	code, _, errOut = w.run("status", "--profile", "nope")
	if code == 0 || !strings.Contains(errOut, `unknown profile "nope"`) {
		t.Fatalf("unknown profile: code %d, stderr %q", code, errOut)
	}
	// A cache file that would not be trusted is shown as such.
	if err := os.Chmod(w.cacheFile("ci"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, _ = w.run("status", "--profile", "ci", "-o", "json")
	if code != 0 || !strings.Contains(out, `"cache_problem": "it has mode 0644, not 0600"`) || strings.Contains(out, keys.AccessKeyID) {
		t.Fatalf("loose cache file: %s", out)
	}
}

// brokenKeyring is a machine without a Secret Service.
type brokenKeyring struct{}

func (brokenKeyring) Get(string, string) (string, error) { return "", errors.New("no Secret Service") }
func (brokenKeyring) Set(string, string, string) error   { return errors.New("no Secret Service") }
func (brokenKeyring) Delete(string, string) error        { return errors.New("no Secret Service") }

// status says where a stored login is and when it was made, never the token;
// logout forgets it.
func TestStatusAndLogoutOfAStoredLogin(t *testing.T) {
	w := newWorld(t)
	w.writeProfiles("  laptop:\n    source: {type: oidc_refresh, issuer: " + w.emu.DevIssuer().URL() + ", client_id: cwcreds}\n")
	const token = "rt-secret-never-shown"
	w.addSecret(token)
	store := exchange.RefreshStoreFor("laptop", filepath.Join(w.env["XDG_STATE_HOME"], "cwcreds"), brokenKeyring{})
	if err := store.Save(token); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := w.run("status", "--profile", "laptop", "-o", "json")
	var rows []profileStatus
	if code != 0 || errOut != "" || json.Unmarshal([]byte(out), &rows) != nil || len(rows) != 1 {
		t.Fatalf("status: code %d, stderr %q\n%s", code, errOut, out)
	}
	src := rows[0].Source
	if src.Login != "stored" || !strings.HasPrefix(src.LoginStore, "file ") || src.LoginAt == nil || time.Since(*src.LoginAt) > time.Minute {
		t.Fatalf("status source %+v", src)
	}
	w.checkLeaks("status -o json", out)
	if code, out, _ = w.run("status", "--profile", "laptop"); code != 0 || !strings.Contains(out, "(login: stored in the file, ") {
		t.Fatalf("status table:\n%s", out)
	}
	if code, out, errOut = w.run("logout", "--profile", "laptop"); code != 0 || !strings.Contains(out, "removed the stored login") {
		t.Fatalf("logout: code %d, stdout %q, stderr %q", code, out, errOut)
	}
	if _, ok := store.Info(); ok {
		t.Fatal("the login survived logout")
	}
}
