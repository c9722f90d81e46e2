package server

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cwcreds/cwcreds/internal/cache"
)

// maxMessageLen caps the message of an error body; provider errors are safe to show
// but may be long.
const maxMessageLen = 512

// errorResponse is an encoded error body with its status. The body carries both
// spellings: Go v2 and Java read "code"/"message", JS reads "Code"/"Message".
type errorResponse struct {
	status        int
	code          string
	body          []byte
	contentLength []string
	retryAfter    []string // 503 only
}

func newErrorResponse(status int, code, message string) *errorResponse {
	message = cleanMessage(message)
	body, err := json.Marshal(struct {
		LowerCode    string `json:"code"`
		LowerMessage string `json:"message"`
		Code         string
		Message      string
	}{code, message, code, message})
	if err != nil { // cannot happen for strings; keep a valid body anyway
		body = []byte(`{"code":"InternalError","message":"internal error","Code":"InternalError","Message":"internal error"}`)
	}
	return &errorResponse{status: status, code: code, body: body, contentLength: []string{strconv.Itoa(len(body))}}
}

// cleanMessage keeps a message on one line and within maxMessageLen bytes, so an
// error text can neither split a log line nor bloat a response.
func cleanMessage(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
	if len(s) <= maxMessageLen {
		return s
	}
	cut := maxMessageLen - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// staticResponses are the refusals that never change, encoded once.
type staticResponses struct {
	forwarded, misdirected, notFound, methodNotAllowed, missingToken, wrongToken *errorResponse
}

func newStaticResponses() staticResponses {
	return staticResponses{
		forwarded: newErrorResponse(http.StatusForbidden, "ForwardedRequestRefused",
			"requests relayed by a proxy are refused: call the endpoint directly, without X-Forwarded-For, Forwarded, X-Real-Ip or X-Forwarded-Host"),
		misdirected: newErrorResponse(http.StatusMisdirectedRequest, "MisdirectedRequest",
			"the Host header does not name this endpoint: use the address it listens on, a loopback address or localhost, with its port (a forwarded port keeps its number: docker run -p 127.0.0.1:9911:9911)"),
		notFound: newErrorResponse(http.StatusNotFound, "NotFound",
			"no such credentials path: use "+CredentialsPath+" or "+CredentialsPath+"/<profile> with a configured profile"),
		methodNotAllowed: newErrorResponse(http.StatusMethodNotAllowed, "MethodNotAllowed",
			"only GET and HEAD are allowed"),
		missingToken: newErrorResponse(http.StatusUnauthorized, "MissingAuthorizationToken",
			"no Authorization header: send the token from AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"),
		wrongToken: newErrorResponse(http.StatusForbidden, "InvalidAuthorizationToken",
			"the Authorization header does not match this endpoint's token: send the content of AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"),
	}
}

// responseFor maps a provider's error to a response. Provider errors never hold
// secrets (the cache guarantees it for its own), so their text is shown, cleaned.
func (s *Server) responseFor(profile string, err error) *errorResponse {
	var nc *cache.NoCredentialsError
	var unrecoverable interface{ Unrecoverable() bool }
	switch {
	case errors.As(err, &nc):
		r := newErrorResponse(http.StatusServiceUnavailable, "CredentialsUnavailable", nc.Error())
		r.retryAfter = []string{retryAfterSeconds(nc.NextRetry, s.clock.Now())}
		return r
	case errors.Is(err, errInvalidKeys):
		r := newErrorResponse(http.StatusServiceUnavailable, "CredentialsUnavailable",
			"profile "+strconv.Quote(profile)+": no valid keys: "+err.Error())
		r.retryAfter = []string{"1"}
		return r
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		r := newErrorResponse(http.StatusServiceUnavailable, "CredentialsUnavailable",
			"profile "+strconv.Quote(profile)+": no valid keys yet: the exchange is still running; try again in a moment")
		r.retryAfter = []string{"1"}
		return r
	case errors.As(err, &unrecoverable) && unrecoverable.Unrecoverable():
		r := newErrorResponse(http.StatusServiceUnavailable, "CredentialsUnavailable",
			"profile "+strconv.Quote(profile)+": identity not usable: "+err.Error())
		r.retryAfter = []string{"1"}
		return r
	default:
		return newErrorResponse(http.StatusInternalServerError, "InternalError",
			"profile "+strconv.Quote(profile)+": could not get keys: "+err.Error())
	}
}

// retryAfterSeconds is the delay until next, rounded up, at least 1 s; 1 s when
// unknown.
func retryAfterSeconds(next, now time.Time) string {
	if next.IsZero() {
		return "1"
	}
	secs := math.Ceil(next.Sub(now).Seconds())
	if secs < 1 {
		secs = 1
	}
	return strconv.FormatInt(int64(secs), 10)
}

// writeError writes r; net/http drops the body of a HEAD response by itself.
func (s *Server) writeError(w http.ResponseWriter, r *errorResponse) {
	h := w.Header()
	h["Content-Type"] = s.hdrJSON
	h["Cache-Control"] = s.hdrNoStore
	h["Content-Length"] = r.contentLength
	if r.status == http.StatusMethodNotAllowed {
		h["Allow"] = s.hdrAllow
	}
	if r.retryAfter != nil {
		h["Retry-After"] = r.retryAfter
	}
	w.WriteHeader(r.status)
	_, _ = w.Write(r.body)
}

// errInvalidKeys: a provider returned keys that are incomplete or already expired.
// The cache never does; the check keeps any other provider from serving them.
var errInvalidKeys = errors.New("the provider returned incomplete or expired keys; they are not served")
