package login

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
)

// Opener opens a URL in the user's browser. Open must not wait for the browser
// to close.
type Opener interface {
	Open(ctx context.Context, url string) error
}

// OpenerFunc adapts a function to Opener.
type OpenerFunc func(ctx context.Context, url string) error

// Open calls f.
func (f OpenerFunc) Open(ctx context.Context, url string) error { return f(ctx, url) }

// SystemOpener opens URLs the way `xdg-open` and `gh` do: when BROWSER is set,
// it runs $BROWSER with the URL as its only argument; otherwise the platform's
// opener (xdg-open on Linux and the BSDs, open on macOS, rundll32
// url.dll,FileProtocolHandler on Windows). The command is started, not waited
// for, so a browser that stays open does not hold the login up.
type SystemOpener struct {
	// Getenv reads BROWSER; default os.Getenv.
	Getenv func(string) string
	// GOOS picks the platform opener; default runtime.GOOS.
	GOOS string
}

// Command returns the program and arguments that Open runs for url.
func (o SystemOpener) Command(url string) (string, []string) {
	getenv, goos := o.Getenv, o.GOOS
	if getenv == nil {
		getenv = os.Getenv
	}
	if goos == "" {
		goos = runtime.GOOS
	}
	if b := getenv("BROWSER"); b != "" {
		return b, []string{url}
	}
	switch goos {
	case "darwin":
		return "open", []string{url}
	case "windows":
		return "rundll32", []string{"url.dll,FileProtocolHandler", url}
	default:
		return "xdg-open", []string{url}
	}
}

// Open starts the opener command and reaps it in the background.
func (o SystemOpener) Open(_ context.Context, url string) error {
	name, args := o.Command(url)
	// Not exec.CommandContext: the browser may outlive the login.
	cmd := exec.Command(name, args...)
	if err := cmd.Start(); err != nil {
		var ee *exec.Error
		if errors.As(err, &ee) {
			return fmt.Errorf("%s was not found", name)
		}
		return fmt.Errorf("could not start %s", name)
	}
	go func() { _ = cmd.Wait() }()
	return nil
}
