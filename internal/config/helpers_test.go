package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// envOf returns a Getenv reading m only, so no test sees the real environment.
func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// testHome is the home folder tests pretend to have.
const testHome = "/home/tester"

// load reads path with env (HOME defaults to testHome) and fails the test on error.
func load(t *testing.T, path string, env map[string]string, flags Overrides) *Config {
	t.Helper()
	c, err := loadErr(path, env, flags)
	if err != nil {
		t.Fatalf("Load(%s): %v", path, err)
	}
	return c
}

func loadErr(path string, env map[string]string, flags Overrides) (*Config, error) {
	e := map[string]string{"HOME": testHome}
	for k, v := range env {
		e[k] = v
	}
	return Load(LoadOptions{Path: path, Getenv: envOf(e), Flags: flags})
}

// writeConfig writes body to config.yaml in a new temporary folder and returns its path.
func writeConfig(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func profile(t *testing.T, c *Config, name string) *Profile {
	t.Helper()
	p, err := c.Profile(name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// wantError checks that err is a one-line *Error with exactly msg.
func wantError(t *testing.T, err error, msg string) *Error {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %q", msg)
	}
	if err.Error() != msg {
		t.Fatalf("error\n got: %s\nwant: %s", err, msg)
	}
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("error %T is not a *config.Error", err)
	}
	if strings.ContainsAny(err.Error(), "\r\n") {
		t.Fatalf("error is not one line: %q", err)
	}
	return ce
}
