package login

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestSystemOpenerCommand(t *testing.T) {
	const u = "http://127.0.0.1:1/authorize?a=1&b=2"
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	for _, c := range []struct {
		o    SystemOpener
		name string
		args []string
	}{
		{SystemOpener{Getenv: env(map[string]string{"BROWSER": "/opt/my browser"}), GOOS: "linux"}, "/opt/my browser", []string{u}},
		{SystemOpener{Getenv: env(nil), GOOS: "linux"}, "xdg-open", []string{u}},
		{SystemOpener{Getenv: env(nil), GOOS: "freebsd"}, "xdg-open", []string{u}},
		{SystemOpener{Getenv: env(nil), GOOS: "darwin"}, "open", []string{u}},
		{SystemOpener{Getenv: env(nil), GOOS: "windows"}, "rundll32", []string{"url.dll,FileProtocolHandler", u}},
		{SystemOpener{Getenv: env(map[string]string{"BROWSER": "firefox"}), GOOS: "windows"}, "firefox", []string{u}},
	} {
		name, args := c.o.Command(u)
		if name != c.name || !slices.Equal(args, c.args) {
			t.Errorf("%s/%v: %s %q, want %s %q", c.o.GOOS, c.o.Getenv("BROWSER"), name, args, c.name, c.args)
		}
	}
}

// $BROWSER runs with the URL as its only argument, and Open does not wait for it.
func TestSystemOpenerRunsBROWSER(t *testing.T) {
	dir := t.TempDir()
	got := filepath.Join(dir, "args")
	script := filepath.Join(dir, "browser")
	body := "#!/bin/sh\nprintf '%s\\n' \"$#\" \"$@\" > " + got + ".tmp && mv " + got + ".tmp " + got + "\nsleep 5\n"
	if err := os.WriteFile(script, []byte(body), 0o700); err != nil {
		t.Fatal(err)
	}
	const u = "http://127.0.0.1:1/authorize?state=x&scope=openid offline_access"
	o := SystemOpener{Getenv: func(k string) string {
		if k == "BROWSER" {
			return script
		}
		return ""
	}}
	start := time.Now()
	if err := o.Open(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	if time.Since(start) > 3*time.Second {
		t.Error("Open waited for the browser")
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		b, err := os.ReadFile(got)
		if err == nil {
			if want := "1\n" + u + "\n"; string(b) != want {
				t.Fatalf("the browser got %q, want %q", b, want)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the browser did not run")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestSystemOpenerMissingProgram(t *testing.T) {
	o := SystemOpener{Getenv: func(string) string { return "/nonexistent/browser" }}
	err := o.Open(context.Background(), "http://127.0.0.1:1/?state=secret-state-value")
	if err == nil || strings.Contains(err.Error(), "secret-state-value") {
		t.Fatalf("err %v", err)
	}
}
