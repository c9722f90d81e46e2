// Package cwobject is a typed client of the CoreWeave AI Object Storage API
// (coreweave.cwobject.v1 over HTTP/JSON). The wire contract it assumes lives in
// contract.go and types.go; every operation goes through one request path (do),
// one retry loop (retry.go) and one set of tolerant decoders (decode.go, wire.go).
package cwobject

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/jonboulle/clockwork"
	"go.uber.org/zap"

	"github.com/cwcreds/cwcreds/internal/redact"
)

// DefaultRequestTimeout bounds one HTTP attempt when Config.RequestTimeout is 0.
const DefaultRequestTimeout = 10 * time.Second

// DefaultUserAgent is sent when Config.UserAgent is empty; callers pass
// "cwcreds/<version>".
const DefaultUserAgent = "cwcreds/dev"

// Config configures a Client. Only Token is usually needed; every other field has
// a default.
type Config struct {
	// BaseURL is the API root, default DefaultBaseURL. A path prefix is kept.
	BaseURL string
	// HTTPClient sends the requests, default a new http.Client. The client does not
	// change it and does not rely on it to retry.
	HTTPClient *http.Client
	// UserAgent is sent on every request, default DefaultUserAgent.
	UserAgent string
	// Token is the CoreWeave API bearer token (CW-SECRET-…), a secret. Surrounding
	// whitespace is trimmed. Needed by every operation with AuthBearer.
	Token string
	// Clock times retry waits, default the real clock.
	Clock clockwork.Clock
	// Logger receives warnings about values the server sent that this client does
	// not know (a new policy effect, version or key status). Default: no logging.
	Logger *zap.Logger
	// Retry bounds retries; zero fields take DefaultRetryPolicy's values.
	Retry RetryPolicy
	// RequestTimeout bounds each attempt (not the whole call: use ctx for that).
	// Default DefaultRequestTimeout.
	RequestTimeout time.Duration
	// Rand returns a number in [0, 1) for backoff jitter, default math/rand/v2.Float64.
	Rand func() float64
}

// Client is a typed client of the CWObject API. It is safe for concurrent use and
// immutable; WithToken returns a modified copy.
type Client struct {
	base           string // scheme://host[/prefix], no trailing slash
	httpClient     *http.Client
	userAgent      string
	token          string // bearer token
	jwt            string // raw JWT, set only on the per-call copy for AuthRawJWT
	clock          clockwork.Clock
	logger         *zap.Logger
	retryPolicy    RetryPolicy
	requestTimeout time.Duration
	rand           func() float64
}

// New checks cfg and returns a Client.
func New(cfg Config) (*Client, error) {
	base, err := parseBaseURL(cfg.BaseURL)
	if err != nil {
		return nil, err
	}
	policy, err := cfg.Retry.withDefaults()
	if err != nil {
		return nil, err
	}
	if cfg.RequestTimeout < 0 {
		return nil, &ValidationError{Op: "New", Field: "RequestTimeout", Reason: "must not be negative"}
	}
	c := &Client{
		base:           base,
		httpClient:     cfg.HTTPClient,
		userAgent:      strings.TrimSpace(cfg.UserAgent),
		token:          strings.TrimSpace(cfg.Token),
		clock:          cfg.Clock,
		logger:         cfg.Logger,
		retryPolicy:    policy,
		requestTimeout: cfg.RequestTimeout,
		rand:           cfg.Rand,
	}
	if c.httpClient == nil {
		c.httpClient = &http.Client{}
	}
	if c.userAgent == "" {
		c.userAgent = DefaultUserAgent
	}
	if strings.ContainsFunc(c.userAgent, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return nil, &ValidationError{Op: "New", Field: "UserAgent", Reason: "must not contain control characters"}
	}
	if c.clock == nil {
		c.clock = clockwork.NewRealClock()
	}
	if c.logger == nil {
		c.logger = zap.NewNop()
	}
	if c.requestTimeout == 0 {
		c.requestTimeout = DefaultRequestTimeout
	}
	if c.rand == nil {
		c.rand = rand.Float64
	}
	return c, nil
}

func parseBaseURL(raw string) (string, error) {
	if raw == "" {
		raw = DefaultBaseURL
	}
	bad := func(reason string) (string, error) {
		return "", &ValidationError{Op: "New", Field: "BaseURL", Reason: reason}
	}
	u, err := url.Parse(strings.TrimSpace(raw))
	switch {
	case err != nil || !u.IsAbs() || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Opaque != "":
		return bad("must be an absolute http or https URL such as " + DefaultBaseURL)
	case u.User != nil:
		return bad("must not contain a user name or password; pass the API token as Token")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return bad("must not have a query or fragment")
	}
	return u.Scheme + "://" + u.Host + strings.TrimRight(u.EscapedPath(), "/"), nil
}

// WithToken returns a copy of c that sends token as its bearer token.
func (c *Client) WithToken(token string) *Client {
	cp := *c
	cp.token = strings.TrimSpace(token)
	return &cp
}

// withJWT returns a copy of c for one AuthRawJWT call.
func (c *Client) withJWT(jwt string) *Client {
	cp := *c
	cp.jwt = strings.TrimSpace(jwt)
	return &cp
}

// do is the one path every operation takes: build the URL, pick the credential,
// encode the body once, then send it through the retry loop and decode into out
// (nil for operations that answer google.protobuf.Empty).
func (c *Client) do(ctx context.Context, op Operation, pathParams map[string]string, query url.Values, body any, out wireDecoder) error {
	if ctx == nil {
		return &ValidationError{Op: op.Name, Field: "ctx", Reason: "must not be nil"}
	}
	target, err := c.endpoint(op, pathParams, query)
	if err != nil {
		return err
	}
	auth, err := c.authorization(op)
	if err != nil {
		return err
	}
	var payload []byte
	if body != nil {
		if payload, err = json.Marshal(body); err != nil {
			return &ValidationError{Op: op.Name, Field: "request", Reason: "cannot be encoded as JSON"}
		}
	}
	secrets := c.secrets(body)
	return c.retry(ctx, op, func(ctx context.Context) error {
		return c.attempt(ctx, op, target, auth, payload, secrets, out)
	})
}

// endpoint fills the `{name}` segments of op.Path, escaped, and appends query.
func (c *Client) endpoint(op Operation, params map[string]string, query url.Values) (string, error) {
	var b strings.Builder
	b.WriteString(c.base)
	path := op.Path
	for {
		i := strings.IndexByte(path, '{')
		j := strings.IndexByte(path, '}')
		if i < 0 || j < i {
			b.WriteString(path)
			break
		}
		name := path[i+1 : j]
		v := params[name]
		if err := checkPathParam(op.Name, name, v); err != nil {
			return "", err
		}
		b.WriteString(path[:i])
		b.WriteString(url.PathEscape(v))
		path = path[j+1:]
	}
	if len(query) > 0 {
		b.WriteByte('?')
		b.WriteString(query.Encode())
	}
	return b.String(), nil
}

// authorization returns the Authorization header value the operation needs.
func (c *Client) authorization(op Operation) (string, error) {
	switch op.Auth {
	case AuthNone:
		return "", nil
	case AuthBearer:
		if err := checkCredential(op.Name, "token", c.token, "a CoreWeave API token (Config.Token or WithToken)"); err != nil {
			return "", err
		}
		return "Bearer " + c.token, nil
	case AuthRawJWT:
		if err := checkCredential(op.Name, "jwt", c.jwt, "the workload's JWT"); err != nil {
			return "", err
		}
		return c.jwt, nil
	}
	return "", &ValidationError{Op: op.Name, Field: "auth", Reason: "names an unknown authentication scheme"}
}

// secretHolder is implemented by requests that carry a credential in their body.
type secretHolder interface {
	secretValues() []string
}

// secrets lists every credential this call carries, for redaction.
func (c *Client) secrets(body any) []string {
	s := []string{c.token, c.jwt}
	if h, ok := body.(secretHolder); ok {
		s = append(s, h.secretValues()...)
	}
	return s
}

// attempt sends one request and reads one answer.
func (c *Client) attempt(parent context.Context, op Operation, target, auth string, payload []byte, secrets []string, out wireDecoder) error {
	// The per-attempt timeout runs on wall time, not the injected clock: it bounds
	// network I/O, which happens in wall time whatever clock the tests inject.
	ctx, cancel := context.WithTimeout(parent, c.requestTimeout)
	defer cancel()
	var body io.Reader
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, op.Method, target, body)
	if err != nil {
		return &ValidationError{Op: op.Name, Field: "request", Reason: "cannot be built: " + redact.Text(err.Error(), secrets, 200)}
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := c.httpClient.Do(req)
	if err != nil {
		return c.transportError(op, parent, ctx, err, secrets)
	}
	defer resp.Body.Close()
	data, readErr := readBody(resp.Body)
	ct := mediaType(resp.Header.Get("Content-Type"))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return statusError(op, resp.StatusCode, ct, resp.Header.Get("Retry-After"), data, readErr, secrets, c.clock.Now())
	}
	if readErr != nil {
		if errors.Is(readErr, errBodyTooLarge) {
			return &MalformedResponseError{Op: op.Name, HTTPStatus: resp.StatusCode, ContentType: ct, Reason: tooLargeReason()}
		}
		return c.transportError(op, parent, ctx, readErr, secrets)
	}
	return decodeSuccess(op, resp.StatusCode, ct, data, out)
}

// transportError classifies a failure to get a complete answer.
func (c *Client) transportError(op Operation, parent, attemptCtx context.Context, err error, secrets []string) *TransportError {
	te := &TransportError{Op: op.Name, Err: err}
	var ne net.Error
	switch {
	case parent.Err() != nil:
		te.Err = &callerDone{msg: err.Error(), errs: []error{parent.Err(), err}}
	case errors.Is(attemptCtx.Err(), context.DeadlineExceeded):
		te.Timeout = true
	case errors.As(err, &ne) && ne.Timeout():
		te.Timeout = true
	}
	te.Dial = isDialError(err)
	te.detail = redact.Text(err.Error(), secrets, maxMessageBytes)
	if te.Timeout {
		te.detail = "per-attempt timeout " + c.requestTimeout.String() + ": " + te.detail
	}
	return te
}

// callerDone marks a transport failure caused by the caller's own context: it
// matches errors.Is(err, ctx.Err()) and keeps the transport's message.
type callerDone struct {
	msg  string
	errs []error
}

func (w *callerDone) Error() string   { return w.msg }
func (w *callerDone) Unwrap() []error { return w.errs }

// isDialError reports failures where no connection to the server was made.
func isDialError(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && (op.Op == "dial" || op.Op == "proxyconnect") {
		return true
	}
	var dns *net.DNSError
	return errors.As(err, &dns) || errors.Is(err, syscall.ECONNREFUSED)
}
