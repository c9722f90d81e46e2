// Package browsertest drives a real headless Chromium for the laptop-login tests.
// The flow under test is the user's: cwcreds runs $BROWSER with the login URL, the
// person logs in on the identity provider's page, and the provider redirects to
// cwcreds's loopback listener. Shim gives a $BROWSER command that hands each URL
// it is run with to the test, which opens it in the Browser.
//
// Test support only: nothing in a cwcreds binary imports it.
package browsertest

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Browser is one headless Chromium with a fresh profile.
type Browser struct {
	ctx context.Context // a chromedp tab context
}

// ExecPath finds Chromium; scripts/install-test-deps installs it.
func ExecPath() (string, error) {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("no Chromium on PATH: run scripts/install-test-deps (apt-get install chromium)")
}

// Start launches Chromium for the test; it is stopped when the test ends.
func Start(t testing.TB) *Browser {
	t.Helper()
	path, err := ExecPath()
	if err != nil {
		t.Fatal(err)
	}
	// The flags testing.md found to work on these machines.
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatalf("starting Chromium: %v", err)
	}
	return &Browser{ctx: ctx}
}

// tab bounds one action by ctx as well as the browser's life.
func (b *Browser) tab(ctx context.Context) (context.Context, context.CancelFunc) {
	tctx, cancel := context.WithCancel(b.ctx)
	stop := context.AfterFunc(ctx, cancel)
	return tctx, func() { stop(); cancel() }
}

// Open navigates to url.
func (b *Browser) Open(ctx context.Context, url string) error {
	tctx, done := b.tab(ctx)
	defer done()
	return chromedp.Do(tctx, chromedp.Navigate(url))
}

// LogIn fills the login form of the page shown — one text field for the user
// name, one password field — and submits it.
func (b *Browser) LogIn(ctx context.Context, user, password string) error {
	tctx, done := b.tab(ctx)
	defer done()
	return chromedp.Do(tctx,
		chromedp.WaitVisible(chromedp.CSS(`input[type=password]`)),
		chromedp.SendKeys(chromedp.CSS(`input[type=text],input:not([type])`), user),
		chromedp.SendKeys(chromedp.CSS(`input[type=password]`), password),
		chromedp.Click(chromedp.CSS(`[type=submit]`)),
	)
}

// Click clicks the first element matching the CSS selector.
func (b *Browser) Click(ctx context.Context, selector string) error {
	tctx, done := b.tab(ctx)
	defer done()
	return chromedp.Do(tctx, chromedp.Click(chromedp.CSS(selector)))
}

// Text is the text of the page shown.
func (b *Browser) Text(ctx context.Context) (string, error) {
	tctx, done := b.tab(ctx)
	defer done()
	return chromedp.Run(tctx, chromedp.Evaluate[string]("document.body.innerText"))
}

// Location is the URL of the page shown.
func (b *Browser) Location(ctx context.Context) (string, error) {
	tctx, done := b.tab(ctx)
	defer done()
	return chromedp.Run(tctx, chromedp.Location())
}

// WaitText waits until the page's text contains want.
func (b *Browser) WaitText(ctx context.Context, want string) error {
	for {
		txt, err := b.Text(ctx)
		if err == nil && strings.Contains(txt, want) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the page never said %q (last: %q, %v)", want, txt, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Shim is a $BROWSER for cwcreds: a script that records each URL it is run with.
type Shim struct {
	// Command is the value to give $BROWSER.
	Command string
	log     string
	mu      sync.Mutex
	seen    int
}

// NewShim writes the script into a test folder.
func NewShim(t testing.TB) *Shim {
	t.Helper()
	dir := t.TempDir()
	s := &Shim{Command: filepath.Join(dir, "browser"), log: filepath.Join(dir, "urls")}
	script := "#!/bin/sh\nprintf '%s\\n' \"$1\" >> '" + s.log + "'\n"
	if err := os.WriteFile(s.Command, []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	return s
}

// URLs are every URL the shim was run with so far.
func (s *Shim) URLs() []string {
	f, err := os.Open(s.log)
	if err != nil {
		return nil
	}
	defer f.Close()
	var urls []string
	for sc := bufio.NewScanner(f); sc.Scan(); {
		urls = append(urls, sc.Text())
	}
	return urls
}

// Next waits for the next URL the shim is run with.
func (s *Shim) Next(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		if urls := s.URLs(); len(urls) > s.seen {
			s.seen++
			return urls[s.seen-1], nil
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("$BROWSER was not run: %w", ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}
