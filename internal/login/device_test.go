package login

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cwcreds/cwcreds/internal/emulator/devop"
	"github.com/cwcreds/cwcreds/internal/emulator/devop/devoptest"
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
	p := startOP(t, devop.Config{})
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
	p := startOP(t, devop.Config{})
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
	p := startOP(t, devop.Config{DeviceCodeLifetime: 2 * time.Second})
	_, done := startDevice(t, ctx, configFor(p))
	r := <-done
	if !errors.Is(r.err, ErrExpired) {
		t.Fatalf("err %v, want ErrExpired", r.err)
	}
	t.Logf("error: %v", r.err)
}

func TestDeviceLoginTimesOut(t *testing.T) {
	p := startOP(t, devop.Config{})
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
	p := startOP(t, devop.Config{})
	cfg := configFor(p)
	_ = p.Close()
	_, err := Device(t.Context(), cfg, DeviceOptions{})
	if err == nil || !strings.Contains(err.Error(), "could not discover") {
		t.Fatalf("err %v", err)
	}
}
