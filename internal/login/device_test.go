package login

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cwcreds/cwcreds/internal/emulator/devop"
	"github.com/cwcreds/cwcreds/internal/emulator/devop/devoptest"
	"github.com/cwcreds/cwcreds/internal/emulator/emutest"
)

type deviceRun struct {
	tok *Tokens
	err error
}

func startDevice(t *testing.T, ctx context.Context, cfg Config) (*lines, chan deviceRun) {
	out := newLines(t)
	done := make(chan deviceRun, 1)
	go func() {
		tok, err := Device(ctx, cfg, DeviceOptions{Out: out})
		done <- deviceRun{tok, err}
	}()
	return out, done
}

func TestDeviceLogin(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	p := emutest.StartDevOP(t, devop.Config{})
	out, done := startDevice(t, ctx, configFor(p))

	first := out.waitFor(t, ctx, "To log in, open "+p.Issuer()+"/device and enter the code ")
	code := strings.TrimPrefix(first, "To log in, open "+p.Issuer()+"/device and enter the code ")
	complete := strings.TrimPrefix(out.waitFor(t, ctx, "or open "), "or open ")
	if complete != p.Issuer()+"/device?user_code="+code {
		t.Fatalf("verification_uri_complete %q for code %q", complete, code)
	}
	page, err := devoptest.New(devop.UserName, devPassword).ApproveDevice(ctx, complete, true)
	if err != nil || !strings.Contains(page.Body, "Device allowed") {
		t.Fatalf("approve: %v %v", err, page)
	}
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.tok.IDToken == "" || r.tok.RefreshToken == "" || r.tok.Subject != devop.UserName {
		t.Fatalf("tokens %v", r.tok)
	}
	noSecrets(t, "output", out.String(), r.tok.IDToken, r.tok.RefreshToken)
}

func TestDeviceLoginDenied(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	p := emutest.StartDevOP(t, devop.Config{})
	out, done := startDevice(t, ctx, configFor(p))
	complete := strings.TrimPrefix(out.waitFor(t, ctx, "or open "), "or open ")
	if _, err := devoptest.New(devop.UserName, devPassword).ApproveDevice(ctx, complete, false); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if !errors.Is(r.err, ErrDenied) || strings.Contains(r.err.Error(), "\n") {
		t.Fatalf("err %v, want a one-line ErrDenied", r.err)
	}
	t.Logf("error: %v", r.err)
}

func TestDeviceCodeExpires(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	p := emutest.StartDevOP(t, devop.Config{DeviceCodeLifetime: 2 * time.Second})
	_, done := startDevice(t, ctx, configFor(p))
	r := <-done
	if !errors.Is(r.err, ErrExpired) {
		t.Fatalf("err %v, want ErrExpired", r.err)
	}
	t.Logf("error: %v", r.err)
}

func TestDeviceLoginTimesOut(t *testing.T) {
	p := emutest.StartDevOP(t, devop.Config{})
	ctx, cancel := context.WithTimeout(t.Context(), 1500*time.Millisecond)
	defer cancel()
	_, done := startDevice(t, ctx, configFor(p))
	r := <-done
	if !errors.Is(r.err, ErrTimeout) {
		t.Fatalf("err %v, want ErrTimeout", r.err)
	}
	t.Logf("error: %v", r.err)
}

func TestDeviceLoginIssuerDown(t *testing.T) {
	p := emutest.StartDevOP(t, devop.Config{})
	cfg := configFor(p)
	_ = p.Close()
	_, err := Device(t.Context(), cfg, DeviceOptions{})
	if err == nil || !strings.Contains(err.Error(), "could not discover") {
		t.Fatalf("err %v", err)
	}
}

// pollTwice is a transport that, on the first device-code poll only, sends the
// same poll twice in a row, so the real provider answers slow_down to the
// second one, which the login then sees. It records when each poll went out.
type pollTwice struct {
	base    http.RoundTripper
	mu      sync.Mutex
	doubled bool
	polls   []time.Time
	codes   []string
}

func (p *pollTwice) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method != http.MethodPost || r.GetBody == nil {
		return p.base.RoundTrip(r)
	}
	body, _ := r.GetBody()
	b, _ := io.ReadAll(body)
	form, _ := url.ParseQuery(string(b))
	if form.Get("grant_type") != "urn:ietf:params:oauth:grant-type:device_code" {
		return p.base.RoundTrip(r)
	}
	p.mu.Lock()
	first := !p.doubled
	p.doubled = true
	p.polls = append(p.polls, time.Now())
	p.mu.Unlock()
	if first {
		dup := r.Clone(r.Context())
		dup.Body, _ = r.GetBody()
		resp, err := p.base.RoundTrip(dup)
		if err != nil {
			return nil, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	resp, err := p.base.RoundTrip(r)
	if err == nil {
		rb, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var e struct {
			Error string `json:"error"`
		}
		_ = json.Unmarshal(rb, &e)
		p.mu.Lock()
		p.codes = append(p.codes, e.Error)
		p.mu.Unlock()
		resp.Body = io.NopCloser(bytes.NewReader(rb))
	}
	return resp, err
}

func TestDeviceLoginSlowsDownWhenTold(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the 5 s slow_down back-off")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	p := emutest.StartDevOP(t, devop.Config{})
	tr := &pollTwice{base: http.DefaultTransport}
	cfg := configFor(p)
	cfg.HTTPClient = &http.Client{Transport: tr}
	out, done := startDevice(t, ctx, cfg)
	complete := strings.TrimPrefix(out.waitFor(t, ctx, "or open "), "or open ")

	// Approve only after the provider has said slow_down.
	for {
		tr.mu.Lock()
		n := len(tr.codes)
		tr.mu.Unlock()
		if n > 0 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := devoptest.New(devop.UserName, devPassword).ApproveDevice(ctx, complete, true); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if tr.codes[0] != "slow_down" {
		t.Fatalf("the provider answered %q, want slow_down", tr.codes)
	}
	if len(tr.polls) < 2 {
		t.Fatalf("polls %v", tr.polls)
	}
	// interval 1 s + 5 s after slow_down (RFC 8628 §3.5)
	if gap := tr.polls[1].Sub(tr.polls[0]); gap < 5500*time.Millisecond {
		t.Errorf("the next poll came %s after slow_down, want ≥ 6 s", gap)
	}
}
