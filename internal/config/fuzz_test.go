package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzLoad feeds arbitrary bytes to the file loader: it must not panic, every
// error must be a one-line *Error, and whatever loads must render and resolve.
func FuzzLoad(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.yaml")
	bad, _ := filepath.Glob("testdata/bad/*.yaml")
	for _, p := range append(files, bad...) {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("a: &a [*a]\nprofiles: *a\n"))
	f.Add([]byte("profiles: {x: {source: {type: token_command, command: &c [*c]}}}\n"))
	f.Add([]byte("\xff\xfe"))
	f.Add([]byte("{"))
	f.Add([]byte("? [a]\n: b\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := newLoader(LoadOptions{Getenv: envOf(map[string]string{"HOME": testHome}), WorkDir: "/work"})
		if err != nil {
			t.Fatal(err)
		}
		c, err := l.fromFile("fuzz.yaml", "/work/fuzz.yaml", data)
		if err != nil {
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("error %T is not a *config.Error: %v", err, err)
			}
			if msg := err.Error(); strings.ContainsAny(msg, "\r\n") || !strings.HasPrefix(msg, "fuzz.yaml") {
				t.Fatalf("bad error message %q", msg)
			}
			return
		}
		if len(c.ProfileNames()) == 0 {
			t.Fatal("a config loaded with no profiles")
		}
		for _, n := range c.ProfileNames() {
			p, err := c.Profile(n)
			if err != nil {
				t.Fatal(err)
			}
			if p.Lifetime <= 0 || p.RefreshMargin >= p.Lifetime || p.MinTTL+p.PropagationDelay >= p.RefreshMargin {
				t.Fatalf("profile %s breaks the timing rules: %+v", n, plain(p))
			}
		}
		if _, err := c.Show(""); err != nil {
			t.Fatal(err)
		}
	})
}
