package devop

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"slices"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// storage is the in-memory op.Storage of one provider, adapted from zitadel's
// example/server/storage (v3.52.0). Unlike the example it holds its own client
// (no package-level client map), one user, configurable lifetimes, and locks every
// map access.
type storage struct {
	cfg    Config
	client *client
	key    signingKey

	mu            sync.Mutex
	authRequests  map[string]*authRequest
	codes         map[string]string // code → auth request id
	accessTokens  map[string]*accessToken
	refreshTokens map[string]*refreshToken
	deviceCodes   map[string]*deviceEntry // device code → entry
	userCodes     map[string]string       // user code → device code
	approvals     map[string]approval     // one-time confirm-page token → pending device approval
}

type approval struct {
	userCode string
	subject  string
	expires  time.Time
}

type deviceEntry struct {
	state    *op.DeviceAuthorizationState
	lastPoll time.Time
}

func newStorage(cfg Config) (*storage, error) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	return &storage{
		cfg:           cfg,
		client:        newClient(cfg),
		key:           signingKey{id: randomID(), key: k},
		authRequests:  map[string]*authRequest{},
		codes:         map[string]string{},
		accessTokens:  map[string]*accessToken{},
		refreshTokens: map[string]*refreshToken{},
		deviceCodes:   map[string]*deviceEntry{},
		userCodes:     map[string]string{},
		approvals:     map[string]approval{},
	}, nil
}

func randomID() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}

var errWrongCredentials = errors.New("wrong user name or password")

// checkPassword checks the one user's credentials and returns its subject.
func (s *storage) checkPassword(username, password string) (string, error) {
	if subtle.ConstantTimeCompare([]byte(username), []byte(UserName)) != 1 ||
		subtle.ConstantTimeCompare([]byte(password), []byte(s.cfg.Password)) != 1 {
		return "", errWrongCredentials
	}
	return UserName, nil
}

// completeLogin marks the auth request id as authenticated by the user.
func (s *storage) completeLogin(id, username, password string) error {
	sub, err := s.checkPassword(username, password)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.authRequests[id]
	if !ok {
		return errors.New("the login request is unknown or expired; start the login again")
	}
	r.subject, r.done, r.authTime = sub, true, time.Now()
	return nil
}

// --- op.AuthStorage ---

func (s *storage) CreateAuthRequest(_ context.Context, req *oidc.AuthRequest, userID string) (op.AuthRequest, error) {
	if len(req.Prompt) == 1 && req.Prompt[0] == oidc.PromptNone {
		return nil, oidc.ErrLoginRequired()
	}
	r := &authRequest{
		id:           randomID(),
		created:      time.Now(),
		clientID:     req.ClientID,
		redirectURI:  req.RedirectURI,
		state:        req.State,
		nonce:        req.Nonce,
		scopes:       slices.Clone([]string(req.Scopes)),
		responseType: req.ResponseType,
		responseMode: req.ResponseMode,
		subject:      userID,
	}
	if req.CodeChallenge != "" {
		r.codeChallenge = &oidc.CodeChallenge{Challenge: req.CodeChallenge, Method: req.CodeChallengeMethod}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.authRequests[r.id] = r
	return r, nil
}

func (s *storage) AuthRequestByID(_ context.Context, id string) (op.AuthRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.authRequests[id]
	if !ok {
		return nil, errors.New("auth request not found")
	}
	return r, nil
}

func (s *storage) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	s.mu.Lock()
	id, ok := s.codes[code]
	s.mu.Unlock()
	if !ok {
		return nil, errors.New("code invalid or expired")
	}
	return s.AuthRequestByID(ctx, id)
}

func (s *storage) SaveAuthCode(_ context.Context, id, code string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.codes[code] = id
	return nil
}

func (s *storage) DeleteAuthRequest(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.authRequests, id)
	for code, rid := range s.codes {
		if rid == id {
			delete(s.codes, code)
		}
	}
	return nil
}

// requestInfo returns the client, auth time and AMR of any token request op hands us.
func requestInfo(req op.TokenRequest) (clientID string, authTime time.Time, amr []string) {
	switch r := req.(type) {
	case *authRequest:
		return r.clientID, r.authTime, r.GetAMR()
	case *refreshTokenRequest:
		return r.clientID, r.authTime, r.amr
	case *op.DeviceAuthorizationState:
		return r.ClientID, r.AuthTime, r.AMR
	case op.TokenExchangeRequest:
		return r.GetClientID(), r.GetAuthTime(), r.GetAMR()
	}
	return "", time.Time{}, nil
}

func (s *storage) newAccessTokenLocked(clientID, refreshID string, req op.TokenRequest) *accessToken {
	t := &accessToken{
		id:        randomID(),
		clientID:  clientID,
		refreshID: refreshID,
		subject:   req.GetSubject(),
		audience:  slices.Clone(req.GetAudience()),
		scopes:    slices.Clone(req.GetScopes()),
		expires:   time.Now().Add(s.cfg.AccessTokenLifetime),
	}
	s.accessTokens[t.id] = t
	return t
}

func (s *storage) CreateAccessToken(_ context.Context, req op.TokenRequest) (string, time.Time, error) {
	clientID, _, _ := requestInfo(req)
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.newAccessTokenLocked(clientID, "", req)
	return t.id, t.expires, nil
}

// CreateAccessAndRefreshTokens issues a refresh token with the first tokens and
// rotates it on every refresh: the presented one stops working.
func (s *storage) CreateAccessAndRefreshTokens(_ context.Context, req op.TokenRequest, current string) (string, string, time.Time, error) {
	clientID, authTime, amr := requestInfo(req)
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	if current != "" {
		old, ok := s.refreshTokens[current]
		if !ok {
			return "", "", time.Time{}, op.ErrInvalidRefreshToken
		}
		delete(s.refreshTokens, current)
		delete(s.accessTokens, old.accessID)
		if now.After(old.expires) {
			return "", "", time.Time{}, op.ErrInvalidRefreshToken
		}
		authTime, amr = old.authTime, old.amr
	}
	rt := &refreshToken{
		token:    randomID(),
		clientID: clientID,
		subject:  req.GetSubject(),
		audience: slices.Clone(req.GetAudience()),
		scopes:   slices.Clone(req.GetScopes()),
		amr:      slices.Clone(amr),
		authTime: authTime,
		expires:  now.Add(s.cfg.RefreshTokenLifetime),
	}
	at := s.newAccessTokenLocked(clientID, rt.token, req)
	rt.accessID = at.id
	s.refreshTokens[rt.token] = rt
	return at.id, rt.token, at.expires, nil
}

func (s *storage) TokenRequestByRefreshToken(_ context.Context, token string) (op.RefreshTokenRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rt, ok := s.refreshTokens[token]
	if !ok || time.Now().After(rt.expires) {
		return nil, op.ErrInvalidRefreshToken
	}
	return &refreshTokenRequest{
		clientID: rt.clientID, subject: rt.subject, audience: slices.Clone(rt.audience),
		scopes: slices.Clone(rt.scopes), amr: slices.Clone(rt.amr), authTime: rt.authTime,
	}, nil
}

func (s *storage) TerminateSession(_ context.Context, userID, clientID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, t := range s.accessTokens {
		if t.clientID == clientID && t.subject == userID {
			delete(s.accessTokens, id)
		}
	}
	for tok, rt := range s.refreshTokens {
		if rt.clientID == clientID && rt.subject == userID {
			delete(s.refreshTokens, tok)
		}
	}
	return nil
}

func (s *storage) RevokeToken(_ context.Context, tokenOrID, _ string, clientID string) *oidc.Error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.accessTokens[tokenOrID]; ok {
		if t.clientID != clientID {
			return oidc.ErrInvalidClient().WithDescription("token was not issued for this client")
		}
		delete(s.accessTokens, tokenOrID)
		return nil
	}
	if rt, ok := s.refreshTokens[tokenOrID]; ok {
		if rt.clientID != clientID {
			return oidc.ErrInvalidClient().WithDescription("token was not issued for this client")
		}
		delete(s.refreshTokens, tokenOrID)
		delete(s.accessTokens, rt.accessID)
	}
	return nil // unknown tokens are already "revoked" (RFC 7009)
}

// revokeRefresh forgets a refresh token; it reports whether it was known.
func (s *storage) revokeRefresh(token string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	rt, ok := s.refreshTokens[token]
	if ok {
		delete(s.refreshTokens, token)
		delete(s.accessTokens, rt.accessID)
	}
	return ok
}

func (s *storage) GetRefreshTokenInfo(_ context.Context, _ string, token string) (string, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rt, ok := s.refreshTokens[token]
	if !ok {
		return "", "", op.ErrInvalidRefreshToken
	}
	return rt.subject, rt.token, nil
}

func (s *storage) SigningKey(context.Context) (op.SigningKey, error) { return &s.key, nil }

func (s *storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.RS256}, nil
}

func (s *storage) KeySet(context.Context) ([]op.Key, error) {
	return []op.Key{&publicKey{s.key}}, nil
}

// --- op.OPStorage ---

func (s *storage) GetClientByClientID(_ context.Context, clientID string) (op.Client, error) {
	if clientID != s.client.id {
		return nil, errors.New("client not found")
	}
	return s.client, nil
}

func (s *storage) AuthorizeClientIDSecret(context.Context, string, string) error {
	return errors.New("the dev provider has only a public client, which has no secret")
}

func (s *storage) SetUserinfoFromScopes(context.Context, *oidc.UserInfo, string, string, []string) error {
	return nil
}

// SetUserinfoFromRequest implements op.CanSetUserinfoFromRequest (ID token claims).
func (s *storage) SetUserinfoFromRequest(_ context.Context, ui *oidc.UserInfo, req op.IDTokenRequest, scopes []string) error {
	setUserinfo(ui, req.GetSubject(), scopes)
	return nil
}

func (s *storage) SetUserinfoFromToken(_ context.Context, ui *oidc.UserInfo, tokenID, _, _ string) error {
	s.mu.Lock()
	t, ok := s.accessTokens[tokenID]
	s.mu.Unlock()
	if !ok || time.Now().After(t.expires) {
		return errors.New("token is invalid or has expired")
	}
	setUserinfo(ui, t.subject, t.scopes)
	return nil
}

func setUserinfo(ui *oidc.UserInfo, subject string, scopes []string) {
	ui.Subject = subject
	for _, sc := range scopes {
		switch sc {
		case oidc.ScopeProfile:
			ui.PreferredUsername = subject
			ui.Name = "Dev User"
		case oidc.ScopeEmail:
			ui.Email = subject + "@cwcreds.invalid"
			ui.EmailVerified = true
		}
	}
}

func (s *storage) SetIntrospectionFromToken(_ context.Context, resp *oidc.IntrospectionResponse, tokenID, _, clientID string) error {
	s.mu.Lock()
	t, ok := s.accessTokens[tokenID]
	s.mu.Unlock()
	if !ok || time.Now().After(t.expires) || t.clientID != clientID {
		return errors.New("token is invalid or has expired")
	}
	resp.Active = true
	resp.Subject = t.subject
	resp.ClientID = t.clientID
	resp.Scope = t.scopes
	resp.Audience = t.audience
	return nil
}

func (s *storage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}

func (s *storage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, errors.New("the dev provider accepts no JWT profile keys")
}

func (s *storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, errors.New("the dev provider does not support the JWT profile grant")
}

func (s *storage) Health(context.Context) error { return nil }

// --- op.DeviceAuthorizationStorage ---

func (s *storage) StoreDeviceAuthorization(_ context.Context, clientID, deviceCode, userCode string, expires time.Time, scopes []string) error {
	if clientID != s.client.id {
		return errors.New("client not found")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.userCodes[userCode]; ok {
		return op.ErrDuplicateUserCode
	}
	s.deviceCodes[deviceCode] = &deviceEntry{state: &op.DeviceAuthorizationState{
		ClientID: clientID, Scopes: slices.Clone(scopes), Expires: expires,
	}}
	s.userCodes[userCode] = deviceCode
	return nil
}

func (s *storage) GetDeviceAuthorizatonState(ctx context.Context, clientID, deviceCode string) (*op.DeviceAuthorizationState, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.deviceCodes[deviceCode]
	if !ok || e.state.ClientID != clientID {
		return nil, errors.New("device code not found for client")
	}
	if e.state.Done || e.state.Denied {
		// one answer per device code: later polls get "not found" (access_denied)
		delete(s.deviceCodes, deviceCode)
	}
	st := *e.state
	return &st, nil
}

// tooFast records a device-code poll and reports whether it came sooner than the
// poll interval after the previous one (RFC 8628 §3.5: answer slow_down).
func (s *storage) tooFast(deviceCode string, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.deviceCodes[deviceCode]
	if !ok {
		return false
	}
	fast := !e.lastPoll.IsZero() && now.Sub(e.lastPoll) < s.cfg.DevicePollInterval/2
	e.lastPoll = now
	return fast
}

func (s *storage) deviceByUserCode(userCode string) (*op.DeviceAuthorizationState, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.deviceCodes[s.userCodes[userCode]]
	if !ok || time.Now().After(e.state.Expires) || e.state.Done || e.state.Denied {
		return nil, false
	}
	st := *e.state
	return &st, true
}

func (s *storage) newApproval(userCode, subject string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := randomID()
	s.approvals[id] = approval{userCode: userCode, subject: subject, expires: time.Now().Add(10 * time.Minute)}
	return id
}

// decideDevice applies the user's answer for the approval token from the confirm page.
func (s *storage) decideDevice(approvalID string, allow bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.approvals[approvalID]
	delete(s.approvals, approvalID)
	if !ok || time.Now().After(a.expires) {
		return errors.New("this approval page has expired; enter the code again")
	}
	e, ok := s.deviceCodes[s.userCodes[a.userCode]]
	if !ok || time.Now().After(e.state.Expires) {
		return errors.New("the code is unknown or has expired")
	}
	delete(s.userCodes, a.userCode)
	if !allow {
		e.state.Denied = true
		return nil
	}
	e.state.Subject, e.state.Done = a.subject, true
	e.state.AuthTime, e.state.AMR = time.Now(), []string{"pwd"}
	return nil
}

// --- models ---

type authRequest struct {
	id            string
	created       time.Time
	clientID      string
	redirectURI   string
	state         string
	nonce         string
	scopes        []string
	responseType  oidc.ResponseType
	responseMode  oidc.ResponseMode
	codeChallenge *oidc.CodeChallenge
	subject       string
	done          bool
	authTime      time.Time
}

func (a *authRequest) GetID() string  { return a.id }
func (a *authRequest) GetACR() string { return "" }
func (a *authRequest) GetAudience() []string {
	return []string{a.clientID}
}
func (a *authRequest) GetAMR() []string {
	if a.done {
		return []string{"pwd"}
	}
	return nil
}
func (a *authRequest) GetAuthTime() time.Time                { return a.authTime }
func (a *authRequest) GetClientID() string                   { return a.clientID }
func (a *authRequest) GetCodeChallenge() *oidc.CodeChallenge { return a.codeChallenge }
func (a *authRequest) GetNonce() string                      { return a.nonce }
func (a *authRequest) GetRedirectURI() string                { return a.redirectURI }
func (a *authRequest) GetResponseType() oidc.ResponseType    { return a.responseType }
func (a *authRequest) GetResponseMode() oidc.ResponseMode    { return a.responseMode }
func (a *authRequest) GetScopes() []string                   { return a.scopes }
func (a *authRequest) GetState() string                      { return a.state }
func (a *authRequest) GetSubject() string                    { return a.subject }
func (a *authRequest) Done() bool                            { return a.done }

type accessToken struct {
	id, clientID, refreshID, subject string
	audience, scopes                 []string
	expires                          time.Time
}

type refreshToken struct {
	token, clientID, subject, accessID string
	audience, scopes, amr              []string
	authTime, expires                  time.Time
}

type refreshTokenRequest struct {
	clientID, subject     string
	audience, scopes, amr []string
	authTime              time.Time
}

func (r *refreshTokenRequest) GetAMR() []string             { return r.amr }
func (r *refreshTokenRequest) GetAudience() []string        { return r.audience }
func (r *refreshTokenRequest) GetAuthTime() time.Time       { return r.authTime }
func (r *refreshTokenRequest) GetClientID() string          { return r.clientID }
func (r *refreshTokenRequest) GetScopes() []string          { return r.scopes }
func (r *refreshTokenRequest) GetSubject() string           { return r.subject }
func (r *refreshTokenRequest) SetCurrentScopes(sc []string) { r.scopes = sc }

type signingKey struct {
	id  string
	key *rsa.PrivateKey
}

func (k *signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k *signingKey) Key() any                                    { return k.key }
func (k *signingKey) ID() string                                  { return k.id }

type publicKey struct{ signingKey }

func (k *publicKey) Algorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k *publicKey) Use() string                        { return "sig" }
func (k *publicKey) Key() any                           { return &k.key.PublicKey }

// client is the one public native client.
type client struct {
	id          string
	idLifetime  time.Duration
	redirectURI []string
}

func newClient(cfg Config) *client {
	return &client{
		id:         cfg.ClientID,
		idLifetime: cfg.IDTokenLifetime,
		// A native client's loopback redirect matches on any port (RFC 8252 §7.3).
		redirectURI: []string{"http://127.0.0.1/callback", "http://localhost/callback", "http://[::1]/callback"},
	}
}

func (c *client) GetID() string                       { return c.id }
func (c *client) RedirectURIs() []string              { return slices.Clone(c.redirectURI) }
func (c *client) PostLogoutRedirectURIs() []string    { return nil }
func (c *client) ApplicationType() op.ApplicationType { return op.ApplicationTypeNative }
func (c *client) AuthMethod() oidc.AuthMethod         { return oidc.AuthMethodNone }
func (c *client) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}
func (c *client) GrantTypes() []oidc.GrantType {
	return []oidc.GrantType{oidc.GrantTypeCode, oidc.GrantTypeRefreshToken, oidc.GrantTypeDeviceCode}
}
func (c *client) LoginURL(id string) string            { return loginPath + "?authRequestID=" + id }
func (c *client) AccessTokenType() op.AccessTokenType  { return op.AccessTokenTypeBearer }
func (c *client) IDTokenLifetime() time.Duration       { return c.idLifetime }
func (c *client) DevMode() bool                        { return false }
func (c *client) IsScopeAllowed(string) bool           { return false }
func (c *client) IDTokenUserinfoClaimsAssertion() bool { return true }
func (c *client) ClockSkew() time.Duration             { return 0 }
func (c *client) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (c *client) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
