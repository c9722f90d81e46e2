package devissuer

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// Routes, relative to the issuer URL.
const (
	discoveryPath = "/.well-known/openid-configuration"
	jwksPath      = "/jwks"
	mintPath      = "/mint"
	authorizePath = "/authorize"
	tokenPath     = "/token"
)

// maxMintRequestBytes caps the body of a mint request.
const maxMintRequestBytes = 64 << 10

// Handler serves the issuer's routes under the issuer URL's path, seeing the full
// request path (mount it on the server's mux at that path, without StripPrefix):
//
//	GET  <path>/.well-known/openid-configuration  discovery
//	GET  <path>/jwks                              public keys, current and retired
//	POST <path>/mint                              {"sub","aud","lifetimeSeconds"} → {"token"}; unauthenticated, loopback peers only
//	*    <path>/authorize, <path>/token           501: this issuer has no login
//
// Errors are OAuth-style JSON, {"error":"…","error_description":"…"}. The mint
// route is unauthenticated; it answers only loopback peers (an httptest.NewRequest
// must set RemoteAddr to 127.0.0.1:port) unless Config.InsecureAllowRemoteMint, and
// only Content-Type application/json.
func (i *Issuer) Handler() http.Handler {
	return http.HandlerFunc(i.serveHTTP)
}

func (i *Issuer) serveHTTP(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, i.routePrefix)
	if !ok {
		rest = ""
	}
	switch rest {
	case discoveryPath:
		if allowMethods(w, r, http.MethodGet, http.MethodHead) {
			i.serveDiscovery(w)
		}
	case jwksPath:
		if allowMethods(w, r, http.MethodGet, http.MethodHead) {
			i.serveJWKS(w)
		}
	case mintPath:
		if allowMethods(w, r, http.MethodPost) {
			i.serveMint(w, r)
		}
	case authorizePath:
		writeError(w, http.StatusNotImplemented, "unsupported_response_type",
			"this development issuer has no login; mint tokens with POST "+i.url+mintPath)
	case tokenPath:
		writeError(w, http.StatusNotImplemented, "unsupported_grant_type",
			"this development issuer has no token endpoint; mint tokens with POST "+i.url+mintPath)
	default:
		writeError(w, http.StatusNotFound, "not_found",
			"no such route; the issuer serves "+i.url+discoveryPath+", "+i.url+jwksPath+" and "+i.url+mintPath)
	}
}

// discovery is the OpenID Provider Metadata this issuer publishes.
type discovery struct {
	Issuer                string   `json:"issuer"`
	AuthorizationEndpoint string   `json:"authorization_endpoint"`
	TokenEndpoint         string   `json:"token_endpoint"`
	JWKSURI               string   `json:"jwks_uri"`
	ResponseTypes         []string `json:"response_types_supported"`
	SubjectTypes          []string `json:"subject_types_supported"`
	IDTokenSigningAlgs    []string `json:"id_token_signing_alg_values_supported"`
	Scopes                []string `json:"scopes_supported"`
	Claims                []string `json:"claims_supported"`
	GrantTypes            []string `json:"grant_types_supported"`
}

func (i *Issuer) serveDiscovery(w http.ResponseWriter) {
	writeJSON(w, http.StatusOK, discovery{
		Issuer:                i.url,
		AuthorizationEndpoint: i.url + authorizePath,
		TokenEndpoint:         i.url + tokenPath,
		JWKSURI:               i.url + jwksPath,
		ResponseTypes:         []string{"id_token"},
		SubjectTypes:          []string{"public"},
		IDTokenSigningAlgs:    i.algorithms(),
		Scopes:                []string{"openid"},
		Claims:                []string{"iss", "sub", "aud", "exp", "iat", "nbf", "jti"},
	})
}

func (i *Issuer) serveJWKS(w http.ResponseWriter) {
	// Relying parties should see a rotation at once.
	w.Header().Set("Cache-Control", "no-cache")
	writeJSON(w, http.StatusOK, jose.JSONWebKeySet{Keys: i.publicKeys()})
}

// mintRequest is the body of POST <issuer>/mint.
type mintRequest struct {
	Subject         string   `json:"sub"`
	Audience        []string `json:"aud"`
	LifetimeSeconds int64    `json:"lifetimeSeconds"`
}

type mintResponse struct {
	Token string `json:"token"`
}

func (i *Issuer) serveMint(w http.ResponseWriter, r *http.Request) {
	if !i.allowRemote && !isLoopbackPeer(r.RemoteAddr) {
		writeError(w, http.StatusForbidden, "access_denied",
			"minting is only allowed from a loopback address; call it from this machine")
		return
	}
	// Requiring JSON makes a browser preflight the request, so a web page cannot
	// make a developer's browser mint tokens.
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		writeError(w, http.StatusUnsupportedMediaType, "invalid_request",
			"send the mint request as Content-Type: application/json")
		return
	}
	req, err := decodeMintRequest(http.MaxBytesReader(w, r.Body, maxMintRequestBytes))
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	if err := req.check(); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	token, err := i.Mint(MintOptions{
		Subject:  req.Subject,
		Audience: req.Audience,
		Lifetime: time.Duration(req.LifetimeSeconds) * time.Second,
	})
	if err != nil {
		// Options were checked above, so what is left is a signing failure.
		writeError(w, http.StatusInternalServerError, "server_error", err.Error())
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, mintResponse{Token: token})
}

// decodeMintRequest reads exactly one JSON object with known fields.
func decodeMintRequest(body io.Reader) (mintRequest, error) {
	var req mintRequest
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return req, errors.New("mint request is too large; send only sub, aud and lifetimeSeconds")
		}
		return req, errors.New("mint request is not valid json of the form {\"sub\":\"…\",\"aud\":[\"…\"],\"lifetimeSeconds\":N}: " + err.Error())
	}
	if _, err := dec.Token(); err != io.EOF {
		return req, errors.New("mint request has data after the json object; send a single object")
	}
	return req, nil
}

// check validates the request in the units the client used, so the errors name
// its fields.
func (m mintRequest) check() error {
	maxSeconds := int64(MaxLifetime / time.Second)
	switch {
	case m.Subject == "":
		return errors.New("sub is missing; set the subject of the token")
	case m.LifetimeSeconds < 0:
		return errors.New("lifetimeSeconds is negative; use 1 to " + strconv.FormatInt(maxSeconds, 10) + ", or 0 for the default")
	case m.LifetimeSeconds > maxSeconds:
		return errors.New("lifetimeSeconds is over " + strconv.FormatInt(maxSeconds, 10) + " (24h); shorten it")
	}
	for _, a := range m.Audience {
		if a == "" {
			return errors.New("aud contains an empty string; remove it")
		}
	}
	return nil
}

// isLoopbackPeer reports whether a request's RemoteAddr is a loopback address.
func isLoopbackPeer(remoteAddr string) bool {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// allowMethods answers 405 unless r uses one of methods.
func allowMethods(w http.ResponseWriter, r *http.Request, methods ...string) bool {
	for _, m := range methods {
		if r.Method == m {
			return true
		}
	}
	w.Header().Set("Allow", strings.Join(methods, ", "))
	writeError(w, http.StatusMethodNotAllowed, "invalid_request", "use "+strings.Join(methods, " or ")+" on this route")
	return false
}

// errorBody is an OAuth 2.0 style error (RFC 6749 §5.2).
type errorBody struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

func writeError(w http.ResponseWriter, status int, code, description string) {
	writeJSON(w, status, errorBody{Error: code, Description: description})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		body = []byte(`{"error":"server_error","error_description":"could not encode the response"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	// A failed write means the client went away; there is no one left to tell.
	_, _ = w.Write(append(body, '\n'))
}
