package login

import (
	"bufio"
	"context"
	"io"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cwcreds/cwcreds/internal/emulator/devop"
	"github.com/cwcreds/cwcreds/internal/emulator/devop/devoptest"
	"github.com/cwcreds/cwcreds/internal/emulator/emutest"
)

const devPassword = emutest.Password

func configFor(p *devop.Provider) Config {
	return Config{Issuer: p.Issuer(), ClientID: p.ClientID()}
}

// lines is an io.Writer that hands each complete line to a channel, as a user
// reading the terminal would.
type lines struct {
	mu  sync.Mutex
	all strings.Builder
	pw  *io.PipeWriter
	ch  chan string
}

func newLines(t *testing.T) *lines {
	pr, pw := io.Pipe()
	l := &lines{pw: pw, ch: make(chan string, 64)}
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			l.ch <- sc.Text()
		}
	}()
	t.Cleanup(func() { pw.Close() })
	return l
}

func (l *lines) Write(b []byte) (int, error) {
	l.mu.Lock()
	l.all.Write(b)
	l.mu.Unlock()
	return l.pw.Write(b)
}

func (l *lines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.all.String()
}

// waitFor returns the first line with prefix.
func (l *lines) waitFor(t *testing.T, ctx context.Context, prefix string) string {
	t.Helper()
	for {
		select {
		case s := <-l.ch:
			if s = strings.TrimSpace(s); strings.HasPrefix(s, prefix) {
				return s
			}
		case <-ctx.Done():
			t.Fatalf("no line starting with %q in %q", prefix, l.String())
		}
	}
}

// seen records what a browser saw go by: the values that must never show up in
// an error or the output.
type seen struct {
	mu     sync.Mutex
	values []string
}

func (s *seen) add(v ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, x := range v {
		if x != "" {
			s.values = append(s.values, x)
		}
	}
}

func (s *seen) list() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.values...)
}

// browserOpener is an Opener that "opens" the URL in a devoptest.Browser: it
// logs in through the form in the background. rewriteAuth may change the
// authorization URL first; the browser's own Rewrite the redirect back.
type browserOpener struct {
	b           *devoptest.Browser
	rewriteAuth func(*url.URL)
	seen        *seen
	pages       chan *devoptest.Page
	errs        chan error
}

func newBrowserOpener(password string) *browserOpener {
	o := &browserOpener{b: devoptest.New(devop.UserName, password), seen: &seen{}, pages: make(chan *devoptest.Page, 1), errs: make(chan error, 1)}
	return o
}

func (o *browserOpener) watchRedirects(rewrite func(*url.URL) *url.URL) {
	o.b.Rewrite = func(u *url.URL) *url.URL {
		q := u.Query()
		o.seen.add(q.Get("code"), q.Get("state"), q.Get("authRequestID"), q.Get("id"))
		if rewrite != nil {
			return rewrite(u)
		}
		return nil
	}
}

func (o *browserOpener) Open(ctx context.Context, raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	q := u.Query()
	o.seen.add(q.Get("state"), q.Get("nonce"), q.Get("code_challenge"))
	if o.rewriteAuth != nil {
		o.rewriteAuth(u)
	}
	go func() {
		p, err := o.b.Login(context.WithoutCancel(ctx), u.String())
		if err != nil {
			o.errs <- err
			return
		}
		o.pages <- p
	}()
	return nil
}

// lastPage is what the browser tab ended on.
func (o *browserOpener) lastPage(t *testing.T) *devoptest.Page {
	t.Helper()
	select {
	case p := <-o.pages:
		return p
	case err := <-o.errs:
		t.Fatalf("browser: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("the browser did not finish")
	}
	return nil
}

// noSecrets fails when any secret appears in s.
func noSecrets(t *testing.T, what, s string, secrets ...string) {
	t.Helper()
	for _, sec := range secrets {
		if len(sec) >= 6 && strings.Contains(s, sec) {
			t.Errorf("%s contains a secret (%.8s…): %s", what, sec, s)
		}
	}
}

// memStore is an exchange.RefreshTokenStore in memory.
type memStore struct {
	mu sync.Mutex
	rt string
}

func (m *memStore) Load() (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.rt, nil
}

func (m *memStore) Save(rt string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.rt = rt
	return nil
}
