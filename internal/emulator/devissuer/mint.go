package devissuer

import (
	"crypto"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"go.uber.org/zap"

	"github.com/cwcreds/cwcreds/internal/cwobject"
)

const (
	// DefaultLifetime applies when MintOptions.Lifetime is zero; it matches the
	// default expirationSeconds of a Kubernetes projected service account token.
	DefaultLifetime = time.Hour
	// MaxLifetime bounds MintOptions.Lifetime.
	MaxLifetime = 24 * time.Hour
)

// MintOptions describes a token to mint.
type MintOptions struct {
	// Subject is the `sub` claim; required.
	Subject string
	// Audience is the `aud` claim; empty means [cwobject.RecommendedAudience].
	Audience []string
	// Lifetime is exp minus iat: zero means DefaultLifetime; it must not be negative
	// or exceed MaxLifetime.
	Lifetime time.Duration
	// Extra holds additional claims. It must not set a registered claim that the
	// issuer controls (iss, sub, aud, exp, iat, nbf, jti).
	Extra map[string]any
	// IssuedAt is the `iat` (and `nbf`); zero means the issuer's clock now. A past
	// value makes an already-expired token without moving the clock.
	IssuedAt time.Time
}

// reservedClaims are set by the issuer only.
var reservedClaims = [...]string{"iss", "sub", "aud", "exp", "iat", "nbf", "jti"}

// Mint returns a JWT signed with the current key (kid header set) carrying iss,
// sub, aud, exp, iat, nbf, jti and o.Extra.
func (i *Issuer) Mint(o MintOptions) (string, error) {
	i.mu.RLock()
	key := i.current
	i.mu.RUnlock()
	return i.mint(o, key.priv, key.alg, key.kid)
}

// MintForged returns a token like Mint's but signed by a key that is not in the
// JWKS, under the current kid, so a relying party must reject it. For tests of
// rejection only.
func (i *Issuer) MintForged(o MintOptions) (string, error) {
	i.mu.Lock()
	if i.forged == nil {
		forged, err := generateLike(i.current.priv.Public())
		if err != nil {
			i.mu.Unlock()
			return "", fmt.Errorf("could not generate the forging key: %w", err)
		}
		i.forged = forged
	}
	forged, key := i.forged, i.current
	i.mu.Unlock()
	return i.mint(o, forged, key.alg, key.kid)
}

func (i *Issuer) mint(o MintOptions, priv crypto.Signer, alg jose.SignatureAlgorithm, kid string) (string, error) {
	o, err := o.validate(i.clock.Now())
	if err != nil {
		return "", fmt.Errorf("cannot mint a token: %w", err)
	}
	jti, err := newJTI()
	if err != nil {
		return "", err
	}
	signer, err := joseSigner(priv, alg, kid)
	if err != nil {
		return "", err
	}
	exp := o.IssuedAt.Add(o.Lifetime)
	claims := jwt.Claims{
		Issuer:    i.url,
		Subject:   o.Subject,
		Audience:  jwt.Audience(o.Audience),
		Expiry:    jwt.NewNumericDate(exp),
		IssuedAt:  jwt.NewNumericDate(o.IssuedAt),
		NotBefore: jwt.NewNumericDate(o.IssuedAt),
		ID:        jti,
	}
	b := jwt.Signed(signer).Claims(claims)
	if len(o.Extra) > 0 {
		b = b.Claims(o.Extra)
	}
	token, err := b.Serialize()
	if err != nil {
		return "", fmt.Errorf("could not sign the token (are the extra claims JSON-encodable?): %w", err)
	}
	i.log.Debug("dev issuer minted a token",
		zap.String("sub", o.Subject), zap.Strings("aud", o.Audience),
		zap.String("jti", jti), zap.String("kid", kid), zap.Time("exp", exp))
	return token, nil
}

// validate checks o and fills in the defaults.
func (o MintOptions) validate(now time.Time) (MintOptions, error) {
	if o.Subject == "" {
		return o, errors.New("subject is empty; set the sub of the token")
	}
	if len(o.Audience) == 0 {
		o.Audience = []string{cwobject.RecommendedAudience}
	}
	for _, a := range o.Audience {
		if a == "" {
			return o, errors.New("audience contains an empty string; remove it")
		}
	}
	switch {
	case o.Lifetime < 0:
		return o, fmt.Errorf("lifetime %s is negative; use a positive lifetime up to %s", o.Lifetime, MaxLifetime)
	case o.Lifetime == 0:
		o.Lifetime = DefaultLifetime
	case o.Lifetime > MaxLifetime:
		return o, fmt.Errorf("lifetime %s is over the maximum %s; shorten it", o.Lifetime, MaxLifetime)
	}
	for _, c := range reservedClaims {
		if _, ok := o.Extra[c]; ok {
			return o, fmt.Errorf("extra claim %q is reserved; set it through the mint options or not at all", c)
		}
	}
	if o.IssuedAt.IsZero() {
		o.IssuedAt = now
	}
	return o, nil
}

// newJTI returns a random token id.
func newJTI() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("could not generate a token id: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
