package exchange

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/cwcreds/cwcreds/internal/config"
)

// DefaultAPITokenEnv is the environment variable an API token is read from by default.
const DefaultAPITokenEnv = "CW_API_TOKEN"

// maxAPITokenBytes bounds an API token; real ones are well under 100 bytes.
const maxAPITokenBytes = 4 << 10

// APIToken yields a CoreWeave API token (CW-SECRET-…) from exactly one place: a
// file (File), the OS keyring (KeyringUser), or an environment variable (EnvVar,
// the default when neither of the others is set). It is re-read on every call, so a
// replaced token is used at the next exchange.
type APIToken struct {
	// EnvVar names the environment variable, default DefaultAPITokenEnv.
	EnvVar string
	// Getenv reads the environment, default os.Getenv.
	Getenv func(string) string
	// File is a file holding the token (whitespace trimmed).
	File string
	// KeyringUser selects the OS keyring: the account the token is stored under.
	KeyringUser string
	// KeyringService is the keyring service, default DefaultKeyringService.
	KeyringService string
	// Keyring is the keyring, default OSKeyring{}.
	Keyring Keyring
}

// NewAPIToken is the source a profile's api_token setting names: its environment
// variable, file or OS keyring entry. getenv and ring may be nil (os.Getenv,
// OSKeyring{}). It is the one place an APIToken is built from config.
func NewAPIToken(s *config.APITokenSource, getenv func(string) string, ring Keyring) *APIToken {
	t := &APIToken{EnvVar: s.Env, Getenv: getenv, File: s.File, Keyring: ring}
	if k := s.Keyring; k != nil {
		t.EnvVar, t.KeyringService, t.KeyringUser = "", k.Service, k.User
	}
	return t
}

type apiTokenPlace int

const (
	fromEnv apiTokenPlace = iota
	fromFile
	fromKeyring
)

func (a *APIToken) place() (apiTokenPlace, error) {
	n := 0
	for _, set := range []bool{a.EnvVar != "", a.File != "", a.KeyringUser != ""} {
		if set {
			n++
		}
	}
	switch {
	case n > 1:
		return 0, identityErr("the API token source is ambiguous",
			errors.New("set only one of an environment variable, a file or a keyring user"))
	case a.File != "":
		return fromFile, nil
	case a.KeyringUser != "":
		return fromKeyring, nil
	}
	return fromEnv, nil
}

func (a *APIToken) envVar() string {
	if a.EnvVar == "" {
		return DefaultAPITokenEnv
	}
	return a.EnvVar
}

func (a *APIToken) service() string {
	if a.KeyringService == "" {
		return DefaultKeyringService
	}
	return a.KeyringService
}

func (a *APIToken) keyring() Keyring {
	if a.Keyring == nil {
		return OSKeyring{}
	}
	return a.Keyring
}

// Describe names what the source yields.
func (a *APIToken) Describe() string {
	p, err := a.place()
	switch {
	case err != nil:
		return "the API token"
	case p == fromFile:
		return "the API token in file " + a.File
	case p == fromKeyring:
		return fmt.Sprintf("the API token in the OS keyring (service %s, user %s)", a.service(), a.KeyringUser)
	}
	return "the API token in $" + a.envVar()
}

// Token returns the API token. Every error is unrecoverable and never holds the token.
func (a *APIToken) Token(ctx context.Context) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", transientErr("could not read the API token", err)
	}
	raw, err := a.raw()
	if err != nil {
		return "", err
	}
	tok := strings.TrimSpace(raw)
	where := a.Describe()
	switch {
	case tok == "":
		return "", identityErr(where+" is empty", errors.New("create an API token in the CoreWeave console and store it there"))
	case len(tok) > maxAPITokenBytes:
		return "", identityErr(where+" is too long to be an API token", errors.New("check that it holds the token alone"))
	case strings.ContainsFunc(tok, func(r rune) bool { return r <= ' ' || r >= 0x7f }):
		return "", identityErr(where+" contains spaces, line breaks or non-ASCII characters", errors.New("store the token alone, on one line"))
	}
	return tok, nil
}

func (a *APIToken) raw() (string, error) {
	p, err := a.place()
	if err != nil {
		return "", err
	}
	switch p {
	case fromFile:
		data, err := readCapped(a.File, "API token file", maxAPITokenBytes)
		return string(data), err
	case fromKeyring:
		s, err := a.keyring().Get(a.service(), a.KeyringUser)
		if errors.Is(err, ErrKeyringNotFound) {
			return "", identityErr(a.Describe()+" is missing",
				errors.New("store the token in the keyring under that service and user, or use CW_API_TOKEN or a file"))
		}
		if err != nil {
			return "", identityErr("could not read the API token from the OS keyring", err)
		}
		return s, nil
	}
	getenv := a.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	v := getenv(a.envVar())
	if v == "" {
		return "", identityErr("environment variable "+a.envVar()+" is not set",
			errors.New("create an API token in the CoreWeave console and export it, or configure an API token file"))
	}
	return v, nil
}

// InputFingerprint is the sha256 of the token as stored; a missing or unreadable
// token has a fixed fingerprint so that its appearance counts as a change.
func (a *APIToken) InputFingerprint() (string, error) {
	raw, err := a.raw()
	if err != nil {
		return "unreadable:" + readFailureKind(err), nil
	}
	return fingerprint([]byte(raw)), nil
}
