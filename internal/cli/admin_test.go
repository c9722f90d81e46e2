package cli

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/cwcreds/cwcreds/internal/config"
	"github.com/cwcreds/cwcreds/internal/cwobject"
	"github.com/cwcreds/cwcreds/internal/emulator"
	"github.com/cwcreds/cwcreds/internal/emulator/emutest"
	"github.com/cwcreds/cwcreds/internal/exchange"
)

// mapKeyring is an OS keyring in memory.
type mapKeyring map[string]string

func (k mapKeyring) Get(service, user string) (string, error) {
	if v, ok := k[service+"/"+user]; ok {
		return v, nil
	}
	return "", exchange.ErrKeyringNotFound
}
func (k mapKeyring) Set(service, user, secret string) error { k[service+"/"+user] = secret; return nil }
func (k mapKeyring) Delete(service, user string) error      { delete(k, service+"/"+user); return nil }

// With no token anywhere else, the admin commands read the keyring entry
// cwcreds/api-token.
func TestAdminTokenFromKeyring(t *testing.T) {
	emu := emutest.Start(t, emulator.Config{})
	dir := t.TempDir()
	env := map[string]string{"HOME": dir, "XDG_CONFIG_HOME": dir, "CWCREDS_API_ENDPOINT": emu.APIURL()}
	run := func(ring exchange.Keyring) (int, string, string) {
		var stdout, stderr bytes.Buffer
		code := Run(context.Background(), Env{Args: []string{"policies", "list", "-o", "json"}, Getenv: func(k string) string { return env[k] },
			Stdout: &stdout, Stderr: &stderr, Keyring: ring})
		return code, stdout.String(), stderr.String()
	}
	code, out, errOut := run(mapKeyring{adminKeyringService + "/" + adminKeyringUser: emu.AdminToken()})
	if code != 0 || !strings.Contains(out, `"name": "emulator-admin"`) || errOut != "" {
		t.Fatalf("keyring token: %d %q %q", code, out, errOut)
	}
	code, _, errOut = run(mapKeyring{})
	if code != exitInvalidInput || !strings.Contains(errOut, "OS keyring (service cwcreds, user api-token)") {
		t.Fatalf("empty keyring: %d %q", code, errOut)
	}
}

func TestExitCodeFor(t *testing.T) {
	status := func(c cwobject.Code) error {
		return &cwobject.StatusError{Op: "X", Code: c, HTTPStatus: cwobject.HTTPStatusForCode(c)}
	}
	for _, tc := range []struct {
		err  error
		want int
	}{
		{nil, exitOK},
		{errors.New("other"), exitFailure},
		{invalidInput("bad"), exitInvalidInput},
		{&config.Error{Problem: "bad"}, exitInvalidInput},
		{&cwobject.ValidationError{Op: "X", Field: "f", Reason: "r"}, exitInvalidInput},
		{status(cwobject.CodeInvalidArgument), exitInvalidInput},
		{status(cwobject.CodeNotFound), exitNotFound},
		{status(cwobject.CodePermissionDenied), exitPermissionDenied},
		{status(cwobject.CodeUnauthenticated), exitPermissionDenied},
		{status(cwobject.CodeUnavailable), exitUnavailable},
		{status(cwobject.CodeResourceExhausted), exitUnavailable},
		{status(cwobject.CodeInternal), exitUnavailable},
		{&cwobject.TransportError{Op: "X", Err: errors.New("refused"), Dial: true}, exitUnavailable},
		{&cwobject.TransportError{Op: "X", Err: context.Canceled}, exitFailure},
		{&cwobject.MalformedResponseError{Op: "X"}, exitUnavailable},
		{&exitError{code: 7, err: errors.New("x")}, 7},
	} {
		if got := exitCodeFor(tc.err); got != tc.want {
			t.Errorf("%v: exit %d, want %d", tc.err, got, tc.want)
		}
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]uint64{"0": 0, "none": 0, "1024": 1024, "10TiB": 10 << 40, "500GB": 500e9, "1.5 KiB": 1536, "2kB": 2000} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("%s: %d %v, want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"10T", "", "-1GB", "1.3B", "99999999999EiB", "NaN"} {
		if _, err := parseSize(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if got := formatSize(10 << 40); got != "10 TiB" {
		t.Errorf("formatSize: %s", got)
	}
}
