package config

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestBadFiles loads every testdata/bad/*.yaml. Each file's first line says the
// exact error it must produce, without the file name:
//
//	# want: <line>: <problem>: <fix>
func TestBadFiles(t *testing.T) {
	files, err := filepath.Glob("testdata/bad/*.yaml")
	if err != nil || len(files) < 50 {
		t.Fatalf("testdata/bad holds %d files (%v)", len(files), err)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".yaml"), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			first, _, _ := strings.Cut(string(data), "\n")
			want, ok := strings.CutPrefix(first, "# want: ")
			if !ok {
				t.Fatalf("first line %q is not `# want: <error>`", first)
			}
			wantMsg := f + ": " + want
			if line, _, ok := strings.Cut(want, ": "); ok {
				if _, err := strconv.Atoi(line); err == nil {
					wantMsg = f + ":" + want
				}
			}
			_, err = loadErr(f, nil, Overrides{})
			ce := wantError(t, err, wantMsg)
			if ce.File != f {
				t.Errorf("Error.File = %q, want %q", ce.File, f)
			}
			if ce.Line > 0 && ce.Column == 0 && !strings.Contains(want, "invalid YAML") {
				t.Errorf("Error at line %d carries no column", ce.Line)
			}
			if ce.Fix == "" {
				t.Errorf("error has no fix: %v", err)
			}
		})
	}
}

// TestErrorsNeverRepeatSecrets: a token or password written where it does not
// belong is named, never echoed.
func TestErrorsNeverRepeatSecrets(t *testing.T) {
	const jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
	for name, body := range map[string]string{
		"token as env name":   "profiles:\n  a:\n    source: {type: api_token, env: CW-SECRET-abcdefghijkl}\n",
		"token as keyring":    "profiles:\n  a:\n    source: {type: api_token, keyring: CW-SECRET-abcdefghijkl}\n",
		"inline token":        "profiles:\n  a:\n    source: {type: api_token, token: CW-SECRET-abcdefghijkl}\n",
		"jwt as lifetime":     "org_id: o\nprofiles:\n  a:\n    source: {type: token_file, path: /t}\n    lifetime: " + jwt + "\n",
		"jwt as exchange":     "org_id: o\nprofiles:\n  a:\n    source: {type: token_file, path: /t}\n    exchange: " + jwt + "\n",
		"jwt as key":          "org_id: o\nprofiles:\n  a:\n    source: {type: token_file, path: /t}\n    " + jwt + ": x\n",
		"jwt as org id":       "org_id: '" + jwt + "!'\nprofiles:\n  a:\n    source: {type: token_file, path: /t}\n",
		"jwt as region":       "org_id: o\nregion: x" + jwt + "\nprofiles:\n  a:\n    source: {type: token_file, path: /t}\n",
		"password in url":     "org_id: o\napi_endpoint: https://u:CW-SECRET-abcdefghijkl@h\nprofiles:\n  a:\n    source: {type: token_file, path: /t}\n",
		"password in bad url": "org_id: o\napi_endpoint: 'https://u:hunter2@h:x'\nprofiles:\n  a:\n    source: {type: token_file, path: /t}\n",
		"token as profile":    "org_id: o\nprofiles:\n  CW-SECRET-abcdefghijkl:\n    source: {type: token_file, path: /t}\n",
		"token as scope":      "org_id: o\nprofiles:\n  a:\n    source: {type: oidc_refresh, issuer: https://i, client_id: c, scopes: [openid, 'CW-SECRET-abc def']}\n",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := loadErr(writeConfig(t, body), nil, Overrides{})
			if err == nil {
				t.Fatal("no error")
			}
			for _, secret := range []string{"CW-SECRET-", jwt, "hunter2", "eyJ"} {
				if strings.Contains(err.Error(), secret) {
					t.Fatalf("error repeats a secret: %v", err)
				}
			}
		})
	}
}

func TestMissingFiles(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "nope.yaml")

	_, err := loadErr(missing, nil, Overrides{})
	wantError(t, err, `flag --config: config file "`+missing+`" does not exist: create it, or point --config at an existing file`)

	_, err = loadErr("", map[string]string{EnvConfig: missing}, Overrides{})
	wantError(t, err, `env CWCREDS_CONFIG: config file "`+missing+`" does not exist: create it, or point CWCREDS_CONFIG at an existing file`)

	_, err = loadErr(dir, nil, Overrides{})
	wantError(t, err, `flag --config: config file "`+dir+`" is a folder: point --config at a config file`)

	// A missing file at the default location is not an error by itself: the
	// environment may describe the default profile (see env_test.go).
	_, err = loadErr("", map[string]string{"XDG_CONFIG_HOME": dir}, Overrides{})
	wantError(t, err, "config: no config file at "+filepath.Join(dir, "cwcreds", "config.yaml")+
		", and neither CWCREDS_TOKEN_FILE nor CW_API_TOKEN is set: create the file (or name one with --config or CWCREDS_CONFIG), or export CWCREDS_TOKEN_FILE and CWCREDS_ORG_ID, or CW_API_TOKEN")
}

func TestUnreadableFile(t *testing.T) {
	if os.Geteuid() == 0 {
		// root reads any file, so permission bits cannot make one unreadable.
		p := writeConfig(t, "org_id: o\n")
		if err := os.Chmod(p, 0); err != nil {
			t.Fatal(err)
		}
		_, err := loadErr(p, nil, Overrides{})
		if err == nil || !strings.Contains(err.Error(), "defines no profiles") {
			t.Fatalf("got %v", err)
		}
		return
	}
	p := writeConfig(t, "org_id: o\n")
	if err := os.Chmod(p, 0); err != nil {
		t.Fatal(err)
	}
	_, err := loadErr(p, nil, Overrides{})
	wantError(t, err, `flag --config: config file "`+p+`" cannot be read (permission denied): make it readable by this user`)
}

func TestOversizedFile(t *testing.T) {
	p := writeConfig(t, "# "+strings.Repeat("x", maxFileBytes)+"\n")
	_, err := loadErr(p, nil, Overrides{})
	wantError(t, err, p+": the file is over 1024 KiB: a cwcreds config is a few dozen lines: check the path")
}

func TestErrorFormat(t *testing.T) {
	for _, c := range []struct {
		e    Error
		want string
	}{
		{Error{File: "c.yaml", Line: 12, Column: 5, Problem: "p", Fix: "f"}, "c.yaml:12: p: f"},
		{Error{File: "c.yaml", Problem: "p", Fix: "f"}, "c.yaml: p: f"},
		{Error{Where: "env X", Problem: "p", Fix: "f"}, "env X: p: f"},
		{Error{Problem: "p\nq"}, "p q"},
	} {
		if got := c.e.Error(); got != c.want {
			t.Errorf("%+v: got %q, want %q", c.e, got, c.want)
		}
	}
	var target *Error
	if !errors.As(error(&Error{Problem: "x"}), &target) {
		t.Fatal("errors.As failed")
	}
}
