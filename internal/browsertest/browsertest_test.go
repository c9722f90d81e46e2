package browsertest

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"testing"
	"time"
)

// The harness drives a plain login form through a real Chromium, reached through
// the $BROWSER shim as cwcreds will reach it.
func TestLoginFormThroughTheShim(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, `<html><body><form method="POST" action="/login">
<input name="username" type="text"><input name="password" type="password"><button type="submit">Log in</button>
</form></body></html>`)
	})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		if r.FormValue("username") == "dev" && r.FormValue("password") == "pw-123" {
			fmt.Fprint(w, "<html><body>logged in as dev</body></html>")
			return
		}
		http.Error(w, "wrong password", http.StatusForbidden)
	})
	srv := httptest.NewServer(mux) // 127.0.0.1:0
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	shim := NewShim(t)
	if err := exec.Command(shim.Command, srv.URL+"/login").Run(); err != nil {
		t.Fatal(err)
	}
	url, err := shim.Next(ctx)
	if err != nil || url != srv.URL+"/login" {
		t.Fatalf("shim saw %q, %v", url, err)
	}
	b := Start(t)
	if err := b.Open(ctx, url); err != nil {
		t.Fatal(err)
	}
	if err := b.LogIn(ctx, "dev", "pw-123"); err != nil {
		t.Fatal(err)
	}
	if err := b.WaitText(ctx, "logged in as dev"); err != nil {
		t.Fatal(err)
	}
	if n := len(shim.URLs()); n != 1 {
		t.Fatalf("shim ran %d times", n)
	}
}
