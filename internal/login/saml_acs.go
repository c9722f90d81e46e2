package login

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/crewjam/saml"

	"github.com/cwcreds/cwcreds/internal/cwobject"
)

// samlLoginStartPath serves the page that posts the AuthnRequest to an IdP
// whose SSO endpoint has only the HTTP-POST binding.
const samlLoginStartPath = "/saml/start"

const samlAssertionNS = "urn:oasis:names:tc:SAML:2.0:assertion"

// SAMLLoginErrorKind says why a SAML login failed.
type SAMLLoginErrorKind int

// The kinds of SAMLLoginError.
const (
	// SAMLLoginSetupFailed: the ACS could not listen, or the request could not be made.
	SAMLLoginSetupFailed SAMLLoginErrorKind = iota + 1
	// SAMLLoginTimedOut: no response arrived before the timeout.
	SAMLLoginTimedOut
	// SAMLLoginCanceled: the caller's context was canceled.
	SAMLLoginCanceled
	// SAMLLoginRefused: the posted response did not validate; Reason says why.
	SAMLLoginRefused
	// SAMLLoginIdPRefused: the IdP answered with an error status.
	SAMLLoginIdPRefused
	// SAMLLoginNoRole: the assertion carries no CoreWeave role.
	SAMLLoginNoRole
	// SAMLLoginRoleNotChosen: PickRole chose no role.
	SAMLLoginRoleNotChosen
)

// SAMLLoginRefusal names why a response was refused (SAMLLoginRefused).
type SAMLLoginRefusal string

// The reasons a response is refused.
const (
	SAMLLoginRefusedAudience    SAMLLoginRefusal = "audience"
	SAMLLoginRefusedExpired     SAMLLoginRefusal = "expired"
	SAMLLoginRefusedNotYetValid SAMLLoginRefusal = "not-yet-valid"
	SAMLLoginRefusedSignature   SAMLLoginRefusal = "signature"
	SAMLLoginRefusedIssuer      SAMLLoginRefusal = "issuer"
	SAMLLoginRefusedDestination SAMLLoginRefusal = "destination"
	SAMLLoginRefusedInResponse  SAMLLoginRefusal = "in-response-to"
	SAMLLoginRefusedReplayed    SAMLLoginRefusal = "replayed"
	SAMLLoginRefusedRelayState  SAMLLoginRefusal = "relay-state"
	SAMLLoginRefusedMalformed   SAMLLoginRefusal = "malformed"
	SAMLLoginRefusedUnsupported SAMLLoginRefusal = "unsupported"
	SAMLLoginRefusedInvalid     SAMLLoginRefusal = "invalid"
)

// SAMLLoginError is every error Run returns. Its text is fixed or names only
// URLs, roles and status codes: never the response or the assertion.
type SAMLLoginError struct {
	Kind   SAMLLoginErrorKind
	Reason SAMLLoginRefusal // for SAMLLoginRefused
	msg    string
	err    error // the cause, for setup failures and context errors only
}

func (e *SAMLLoginError) Error() string {
	if e.Kind == SAMLLoginSetupFailed && e.err != nil {
		return e.msg + ": " + e.err.Error()
	}
	return e.msg
}

// Unwrap is the context error of a timeout or cancellation, or the cause of a
// setup failure. Refusals keep no cause: crewjam's errors hold the response.
func (e *SAMLLoginError) Unwrap() error { return e.err }

func refused(reason SAMLLoginRefusal, format string, args ...any) *SAMLLoginError {
	return &SAMLLoginError{Kind: SAMLLoginRefused, Reason: reason, msg: "SAML login refused: " + fmt.Sprintf(format, args...)}
}

type samlOutcome struct {
	result SAMLLoginResult
	err    error
}

// samlACS is one login's loopback HTTP server: the ACS, and the start page for
// the HTTP-POST binding.
type samlACS struct {
	login      *SAMLLogin
	sp         *saml.ServiceProvider
	requestID  string
	relayState string
	postForm   []byte // the start page, for the HTTP-POST binding
	postNonce  string // its script's CSP nonce
	outcome    chan samlOutcome

	mu   sync.Mutex
	done bool
}

func (h *samlACS) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+cwobject.SAMLLoopbackACSPath, h.serveACS)
	if h.postForm != nil {
		mux.HandleFunc("GET "+samlLoginStartPath, func(w http.ResponseWriter, _ *http.Request) {
			setPageHeaders(w.Header())
			w.Header().Set("Content-Security-Policy", "default-src 'none'; script-src 'nonce-"+h.postNonce+"'")
			_, _ = w.Write(h.postForm)
		})
	}
	return mux
}

// claim reports whether this post is the first: only it decides the login.
func (h *samlACS) claim() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.done {
		return false
	}
	h.done = true
	return true
}

// finish makes later posts find the login over.
func (h *samlACS) finish() {
	h.mu.Lock()
	h.done = true
	h.mu.Unlock()
}

func (h *samlACS) serveACS(w http.ResponseWriter, r *http.Request) {
	if !h.claim() {
		writePage(w, http.StatusConflict, "Login already finished",
			"This login has already received a response. Return to the terminal; run cwcreds login again to log in anew.")
		return
	}
	res, err := h.validate(w, r)
	if err != nil {
		writePage(w, http.StatusBadRequest, "Login failed", err.Error()+". Return to the terminal.")
		h.outcome <- samlOutcome{err: err}
		return
	}
	writePage(w, http.StatusOK, "Login succeeded", "The login succeeded: you can close this tab and return to the terminal.")
	h.outcome <- samlOutcome{result: res}
}

// validate checks the posted response and returns what the login yields,
// before the role is picked.
func (h *samlACS) validate(w http.ResponseWriter, r *http.Request) (SAMLLoginResult, *SAMLLoginError) {
	r.Body = http.MaxBytesReader(w, r.Body, SAMLLoginMaxPostBytes)
	if err := r.ParseForm(); err != nil {
		return SAMLLoginResult{}, refused(SAMLLoginRefusedMalformed, "the identity provider's post to the ACS could not be read")
	}
	if r.PostForm.Get("SAMLart") != "" {
		return SAMLLoginResult{}, refused(SAMLLoginRefusedUnsupported, "the identity provider sent an artifact; configure it to post the response (HTTP-POST binding)")
	}
	raw := r.PostForm.Get("SAMLResponse")
	if raw == "" {
		return SAMLLoginResult{}, refused(SAMLLoginRefusedMalformed, "the identity provider's post carries no SAMLResponse")
	}
	if r.PostForm.Get("RelayState") != h.relayState {
		return SAMLLoginResult{}, refused(SAMLLoginRefusedRelayState, "the response's RelayState is not this login's: it answers another login")
	}
	doc, err := base64.StdEncoding.DecodeString(raw)
	if err != nil {
		return SAMLLoginResult{}, refused(SAMLLoginRefusedMalformed, "the SAMLResponse is not base64")
	}
	// A response whose assertion this SAMLLogin accepted before is refused as a
	// replay before anything else would refuse it for another reason. The ids
	// are read unverified: this can only refuse, never accept.
	if h.login.replay.SeenAny(unverifiedAssertionIDs(doc)) {
		return SAMLLoginResult{}, refused(SAMLLoginRefusedReplayed, "this SAML response was already used for a login; log in again")
	}
	assertion, err := h.sp.ParseResponse(r, []string{h.requestID})
	if err != nil {
		return SAMLLoginResult{}, h.classify(err)
	}
	res := SAMLLoginResult{
		SAMLResponse: base64.StdEncoding.EncodeToString(doc),
		ExchangeBy:   exchangeDeadline(assertion),
	}
	for _, st := range assertion.AttributeStatements {
		for _, attr := range st.Attributes {
			for _, v := range attr.Values {
				value := strings.TrimSpace(v.Value)
				if value == "" {
					continue
				}
				switch attr.Name {
				case cwobject.SAMLRoleAttribute:
					if !containsString(res.Roles, value) {
						res.Roles = append(res.Roles, value)
					}
				case cwobject.SAMLPrincipalNameAttribute:
					if res.PrincipalName == "" {
						res.PrincipalName = value
					}
				}
			}
		}
	}
	if len(res.Roles) == 0 {
		return SAMLLoginResult{}, &SAMLLoginError{Kind: SAMLLoginNoRole,
			msg: fmt.Sprintf("SAML login refused: the assertion carries no CoreWeave role (attribute %s): ask the IdP's administrator to map one", cwobject.SAMLRoleAttribute)}
	}
	return res, nil
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// exchangeDeadline is when CoreWeave stops accepting the assertion: MaxIssueDelay
// after its IssueInstant, or its Conditions NotOnOrAfter if earlier.
func exchangeDeadline(a *saml.Assertion) time.Time {
	deadline := a.IssueInstant.Add(saml.MaxIssueDelay)
	if a.Conditions != nil && !a.Conditions.NotOnOrAfter.IsZero() && a.Conditions.NotOnOrAfter.Before(deadline) {
		deadline = a.Conditions.NotOnOrAfter
	}
	return deadline
}

// classify turns crewjam's error into a refusal with a fixed message. crewjam's
// error itself is dropped: it holds the response.
func (h *samlACS) classify(err error) *SAMLLoginError {
	var bad saml.ErrBadStatus
	switch {
	case errors.As(err, &bad):
		return &SAMLLoginError{Kind: SAMLLoginIdPRefused,
			msg: fmt.Sprintf("SAML login refused by the identity provider (status %s)", statusCodeOnly(bad.Status))}
	case errors.Is(err, saml.ErrAssertionReplayed):
		return refused(SAMLLoginRefusedReplayed, "this SAML response was already used for a login; log in again")
	case errors.Is(err, saml.ErrUntrustedCertificate):
		return refused(SAMLLoginRefusedSignature, "the SAML response is signed with a certificate that is not in the identity provider's metadata")
	case errors.Is(err, saml.ErrCertificateNotValidNow):
		return refused(SAMLLoginRefusedSignature, "the identity provider's signing certificate is expired or not yet valid")
	case errors.Is(err, saml.ErrInvalidSignature):
		return refused(SAMLLoginRefusedSignature, "bad signature: the SAML response's signature does not verify against the identity provider's metadata (altered, or signed by another key)")
	case errors.Is(err, saml.ErrIssuerMismatch):
		return refused(SAMLLoginRefusedIssuer, "the SAML response's issuer is not the identity provider %q of the metadata", h.sp.IDPMetadata.EntityID)
	case errors.Is(err, saml.ErrRequestIDMismatch):
		return refused(SAMLLoginRefusedInResponse, "the SAML response does not answer this login's request (InResponseTo): finish only the newest login in the browser")
	case errors.Is(err, saml.ErrAudienceMismatch):
		return refused(SAMLLoginRefusedAudience, "wrong audience: the SAML assertion is for another service provider, not %q; check the IdP application is the one for this CoreWeave organization", h.sp.EntityID)
	case errors.Is(err, saml.ErrDestinationMismatch):
		return refused(SAMLLoginRefusedDestination, "the SAML response is addressed to another ACS, not %s", h.sp.AcsURL.String())
	case errors.Is(err, saml.ErrExpired):
		return refused(SAMLLoginRefusedExpired, "the SAML response has expired; log in again, and check this computer's clock")
	case errors.Is(err, saml.ErrNotYetValid):
		return refused(SAMLLoginRefusedNotYetValid, "the SAML response is not valid yet; check the clocks of this computer and of the identity provider")
	case errors.Is(err, saml.ErrDecryptionFailed):
		return refused(SAMLLoginRefusedUnsupported, "the SAML assertion is encrypted and cannot be decrypted here; configure the IdP not to encrypt it")
	case errors.Is(err, saml.ErrUnsupported):
		return refused(SAMLLoginRefusedUnsupported, "the SAML response uses a feature this login does not support")
	case errors.Is(err, saml.ErrMalformedMessage), errors.Is(err, saml.ErrMissingElement):
		return refused(SAMLLoginRefusedMalformed, "the SAML response is malformed")
	}
	return refused(SAMLLoginRefusedInvalid, "the SAML response is invalid")
}

// statusCodeOnly keeps a SAML status code URN, and nothing else a hostile IdP
// might put there.
func statusCodeOnly(s string) string {
	if len(s) > 100 || strings.ContainsFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(":._-", r))
	}) {
		return "unknown"
	}
	return s
}

// unverifiedAssertionIDs lists the ID of every saml:Assertion in doc, read
// without checking anything.
func unverifiedAssertionIDs(doc []byte) []string {
	var ids []string
	d := xml.NewDecoder(bytes.NewReader(doc))
	for {
		tok, err := d.Token()
		if err != nil {
			return ids
		}
		el, ok := tok.(xml.StartElement)
		if !ok || el.Name.Space != samlAssertionNS || el.Name.Local != "Assertion" {
			continue
		}
		for _, a := range el.Attr {
			if a.Name.Space == "" && a.Name.Local == "ID" && a.Value != "" {
				ids = append(ids, a.Value)
			}
		}
	}
}

func setPageHeaders(h http.Header) {
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
}

// samlLoginPage is the small page the browser tab ends on.
const samlLoginPage = `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>cwcreds: {{.Title}}</title></head>
<body style="font-family: sans-serif; margin: 3em"><h1>{{.Title}}</h1><p>{{.Message}}</p></body></html>
`

func writePage(w http.ResponseWriter, status int, title, message string) {
	setPageHeaders(w.Header())
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	w.WriteHeader(status)
	t := template.Must(template.New("page").Parse(samlLoginPage))
	_ = t.Execute(w, struct{ Title, Message string }{title, message})
}
