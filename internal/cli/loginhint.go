package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/cwcreds/cwcreds/internal/cache"
	"github.com/cwcreds/cwcreds/internal/config"
	"github.com/cwcreds/cwcreds/internal/exchange"
)

// loginRequiredError says that only an interactive login can give the profile
// keys. Its text is one line naming the command to run.
type loginRequiredError struct {
	profile string
	reason  string
}

func (e *loginRequiredError) Error() string {
	return fmt.Sprintf("profile %s needs an interactive login (%s): run `cwcreds login --profile %s`", e.profile, e.reason, e.profile)
}

// loginCommandMention is how the exchange layer's messages tell the user to log in
// again (a refused or expired refresh token); the cache keeps only the text of a
// remembered failure, so the text is what later processes can go by.
const loginCommandMention = "`cwcreds login`"

// loginRequired turns a failed GetOrFetch into a *loginRequiredError when the
// profile's source needs a person: an oidc_refresh source with no stored login or
// a refused one, or a saml_file source reading standard input with nothing there.
func loginRequired(env Env, p *config.Profile, stdin *countingReader, err error) *loginRequiredError {
	unrecoverable := false
	if nc, ok := errorsAsNoCreds(err); ok {
		unrecoverable = nc.Class == cache.Unrecoverable
	}
	switch p.Source.Type {
	case config.SourceOIDCRefresh:
		if errors.Is(err, exchange.ErrNoRefreshToken) || !loginStored(env, p.Name) {
			return &loginRequiredError{profile: p.Name, reason: "no login is stored"}
		}
		if unrecoverable && strings.Contains(err.Error(), loginCommandMention) {
			return &loginRequiredError{profile: p.Name, reason: "the stored login was refused or has expired"}
		}
	case config.SourceSAMLLogin:
		return &loginRequiredError{profile: p.Name, reason: "SAML has no refresh, and no keys of a login are left"}
	case config.SourceSAMLFile:
		if p.Source.SAMLFile.Path == "-" && (isTerminal(env.Stdin) || stdin.empty()) {
			return &loginRequiredError{profile: p.Name, reason: "no SAML response on standard input"}
		}
	}
	return nil
}

// loginStored reports whether a refresh token is stored for the profile. Only
// "certainly none" counts as false: an unreadable store is left to the exchange's
// own error.
func loginStored(env Env, profile string) bool {
	dir, err := exchange.DefaultLoginDir(env.Getenv)
	if err != nil {
		return true
	}
	_, ok := exchange.RefreshStoreFor(profile, dir, nil).Info()
	return ok
}

// ttyOpener opens the controlling terminal; it fails when there is none (a
// daemon, CI, a process started with setsid).
type ttyOpener func() (io.WriteCloser, error)

func openControllingTTY() (io.WriteCloser, error) {
	return os.OpenFile("/dev/tty", os.O_WRONLY, 0)
}

// tellTTY writes msg to the terminal, where a person sees it even when the AWS
// CLI swallows our stderr. It reports whether there was a terminal.
func tellTTY(open ttyOpener, msg string) bool {
	if open == nil {
		return false
	}
	tty, err := open()
	if err != nil {
		return false
	}
	defer tty.Close()
	_, err = io.WriteString(tty, "cwcreds: "+msg+"\n")
	return err == nil
}

func isTerminal(r any) bool {
	f, ok := r.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
