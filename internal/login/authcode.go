package login

import (
	"context"
	"crypto/subtle"
	"fmt"
	"html/template"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"go.uber.org/zap"
	"golang.org/x/oauth2"

	"github.com/cwcreds/cwcreds/internal/redact"
)

// DefaultRedirectPath is the loopback redirect's path, http://127.0.0.1:<port>/callback.
const DefaultRedirectPath = "/callback"

// AuthCodeOptions tune AuthCode.
type AuthCodeOptions struct {
	// Out receives the login URL (always) and notices; required.
	Out io.Writer
	// Opener opens the URL in a browser; nil only prints it (no-browser mode).
	Opener Opener
	// RedirectPort is the loopback port, e.g. one forwarded over SSH; 0 picks a
	// free one.
	RedirectPort int
	// RedirectPath, default DefaultRedirectPath.
	RedirectPath string
}

// AuthCode runs the OIDC authorization-code login with PKCE (S256): it listens on
// 127.0.0.1, writes the provider's login URL to opts.Out and opens it with
// opts.Opener, waits for the redirect, checks state, exchanges the code with
// x/oauth2 and verifies the ID token with go-oidc (signature, issuer, audience,
// expiry, nonce). The browser tab ends on a page that says whether the login
// worked. ctx bounds the whole login: give it a deadline (a clear ErrTimeout
// error when it passes).
func AuthCode(ctx context.Context, cfg Config, opts AuthCodeOptions) (*Tokens, error) {
	if opts.Out == nil {
		opts.Out = io.Discard
	}
	path := opts.RedirectPath
	if path == "" {
		path = DefaultRedirectPath
	}
	p, err := discover(ctx, cfg)
	if err != nil {
		return nil, err
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(opts.RedirectPort)))
	if err != nil {
		return nil, fmt.Errorf("could not listen for the login redirect on 127.0.0.1:%d: %w; free the port or choose another", opts.RedirectPort, err)
	}
	conf := *p.conf
	conf.RedirectURL = "http://" + ln.Addr().String() + path

	f := &flow{p: p, conf: &conf, path: path, state: random(), nonce: random(), verifier: oauth2.GenerateVerifier(), done: make(chan result, 1)}
	srv := &http.Server{Handler: f, ReadHeaderTimeout: 10 * time.Second, BaseContext: func(net.Listener) context.Context { return ctx }}
	go func() { _ = srv.Serve(ln) }()
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()

	authURL := conf.AuthCodeURL(f.state, oauth2.S256ChallengeOption(f.verifier), oidc.Nonce(f.nonce))
	fmt.Fprintf(opts.Out, "To log in, open this URL in a browser:\n\n  %s\n\n", authURL)
	if opts.Opener != nil {
		if err := opts.Opener.Open(ctx, authURL); err != nil {
			fmt.Fprintf(opts.Out, "Could not open a browser (%s); open the URL above yourself.\n", redact.Text(err.Error(), nil, 200))
		}
	}
	cfg.logger().Debug("waiting for the login redirect", zap.String("issuer", cfg.Issuer), zap.String("redirect", conf.RedirectURL))

	select {
	case r := <-f.done:
		return r.tokens, r.err
	case <-ctx.Done():
		return nil, ctxErr(ctx, "waiting for the browser to come back from the identity provider")
	}
}

type result struct {
	tokens *Tokens
	err    error
}

// flow serves the loopback redirect of one login; the first answer ends it.
type flow struct {
	p                      *provider
	conf                   *oauth2.Config
	path                   string
	state, nonce, verifier string

	once sync.Once
	done chan result
}

func (f *flow) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != f.path || r.Method != http.MethodGet {
		http.NotFound(w, r)
		return
	}
	handled := false
	f.once.Do(func() {
		handled = true
		t, err := f.complete(r)
		if err != nil {
			page(w, http.StatusBadRequest, "Login failed", err.Error()+" You can close this tab.")
		} else {
			page(w, http.StatusOK, "Login succeeded", "You are logged in to cwcreds. You can close this tab.")
		}
		f.done <- result{t, err}
	})
	if !handled {
		page(w, http.StatusConflict, "Login already finished", "This login has already finished. You can close this tab.")
	}
}

func (f *flow) complete(r *http.Request) (*Tokens, error) {
	q := r.URL.Query()
	secrets := []string{f.state, f.nonce, f.verifier, q.Get("code"), q.Get("state")}
	if !equal(q.Get("state"), f.state) {
		return nil, fmt.Errorf("%w; nothing was exchanged, run the login again from this terminal", ErrStateMismatch)
	}
	if e := q.Get("error"); e != "" {
		msg := e
		if d := q.Get("error_description"); d != "" {
			msg += ": " + d
		}
		msg = redact.Text(msg, secrets, 300)
		if e == "access_denied" {
			return nil, fmt.Errorf("%w by the identity provider (%s)", ErrDenied, msg)
		}
		return nil, fmt.Errorf("%w (%s)", ErrProvider, msg)
	}
	code := q.Get("code")
	if code == "" {
		return nil, fmt.Errorf("%w: the redirect carried no authorization code", ErrProvider)
	}
	ctx := f.p.cfg.withClient(r.Context())
	t, err := f.conf.Exchange(ctx, code, oauth2.VerifierOption(f.verifier))
	if err != nil {
		return nil, providerErr(r.Context(), "exchanging the authorization code", err, secrets...)
	}
	return f.p.tokens(ctx, t, f.nonce)
}

func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

var resultPage = template.Must(template.New("").Parse(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{{.Title}} – cwcreds</title></head>
<body><h1>{{.Title}}</h1><p>{{.Message}}</p></body></html>`))

func page(w http.ResponseWriter, status int, title, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	_ = resultPage.Execute(w, struct{ Title, Message string }{title, msg})
}
