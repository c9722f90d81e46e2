package exchange

import (
	"errors"
	"fmt"
	"runtime"

	gokeyring "github.com/zalando/go-keyring"
)

// DefaultKeyringService is the keyring service name cwcreds stores secrets under.
const DefaultKeyringService = "cwcreds"

// ErrKeyringNotFound: the keyring holds no secret under that service and user.
var ErrKeyringNotFound = errors.New("no such secret in the OS keyring")

// Keyring is the little of an OS keyring cwcreds needs. Tests use a map.
type Keyring interface {
	Get(service, user string) (string, error)
	Set(service, user, secret string) error
	// Delete removes the secret; ErrKeyringNotFound when there is none.
	Delete(service, user string) error
}

// OSKeyring is the operating system's keyring through github.com/zalando/go-keyring:
// the macOS Keychain, the Windows Credential Manager, or the Secret Service
// (GNOME Keyring, KWallet) over D-Bus on Linux and BSD.
type OSKeyring struct{}

// Get returns the secret, ErrKeyringNotFound, or an error saying the keyring cannot
// be used here and what to use instead.
func (OSKeyring) Get(service, user string) (string, error) {
	s, err := gokeyring.Get(service, user)
	if err != nil {
		return "", keyringErr(err)
	}
	return s, nil
}

// Set stores the secret.
func (OSKeyring) Set(service, user, secret string) error {
	if err := gokeyring.Set(service, user, secret); err != nil {
		return keyringErr(err)
	}
	return nil
}

// Delete removes the secret.
func (OSKeyring) Delete(service, user string) error {
	if err := gokeyring.Delete(service, user); err != nil {
		return keyringErr(err)
	}
	return nil
}

func keyringErr(err error) error {
	switch {
	case errors.Is(err, gokeyring.ErrNotFound):
		return ErrKeyringNotFound
	case errors.Is(err, gokeyring.ErrSetDataTooBig):
		return errors.New("the secret is too big for the OS keyring: store it in a file instead")
	}
	return fmt.Errorf("the OS keyring cannot be used here (%v): %s", err, keyringHint())
}

func keyringHint() string {
	switch runtime.GOOS {
	case "darwin":
		return "unlock the login keychain, or store the secret in a file instead"
	case "windows":
		return "check the Credential Manager, or store the secret in a file instead"
	}
	return "no Secret Service is reachable on the D-Bus session bus; start and unlock gnome-keyring or KWallet, or store the secret in a file (or an environment variable) instead"
}
