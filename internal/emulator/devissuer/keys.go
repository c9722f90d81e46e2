package devissuer

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"fmt"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/cryptosigner"
)

// minRSABits is the smallest RSA modulus accepted or generated.
const minRSABits = 2048

// signingKey is one key of the issuer: its private half signs, its public half is
// published in the JWKS under kid.
type signingKey struct {
	kid    string
	alg    jose.SignatureAlgorithm
	priv   crypto.Signer
	public jose.JSONWebKey
}

// newSigningKey wraps priv, choosing the algorithm from its public key and the kid as
// its RFC 7638 thumbprint (stable, and different for every key).
func newSigningKey(priv crypto.Signer) (*signingKey, error) {
	alg, err := algorithmFor(priv.Public())
	if err != nil {
		return nil, err
	}
	pub := jose.JSONWebKey{Key: priv.Public(), Algorithm: string(alg), Use: "sig"}
	tp, err := pub.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("could not compute the key thumbprint: %w", err)
	}
	pub.KeyID = base64.RawURLEncoding.EncodeToString(tp)
	return &signingKey{kid: pub.KeyID, alg: alg, priv: priv, public: pub}, nil
}

// algorithmFor picks the JWS algorithm for a public key. RSA keys use RS256, which
// every OIDC relying party supports.
func algorithmFor(pub crypto.PublicKey) (jose.SignatureAlgorithm, error) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < minRSABits {
			return "", fmt.Errorf("rsa key has %d bits; use at least %d", k.N.BitLen(), minRSABits)
		}
		return jose.RS256, nil
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return jose.ES256, nil
		case elliptic.P384():
			return jose.ES384, nil
		case elliptic.P521():
			return jose.ES512, nil
		}
		return "", fmt.Errorf("unsupported ecdsa curve %s; use P-256, P-384 or P-521", k.Curve.Params().Name)
	case ed25519.PublicKey:
		return jose.EdDSA, nil
	}
	return "", fmt.Errorf("unsupported key type %T; use an rsa (2048+ bits), ecdsa or ed25519 key", pub)
}

// generateLike makes a fresh private key of the same kind as pub, so a rotated or
// forged key keeps the algorithm relying parties were told about.
func generateLike(pub crypto.PublicKey) (crypto.Signer, error) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return rsa.GenerateKey(rand.Reader, max(minRSABits, k.N.BitLen()))
	case *ecdsa.PublicKey:
		return ecdsa.GenerateKey(k.Curve, rand.Reader)
	case ed25519.PublicKey:
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		return priv, err
	}
	return nil, fmt.Errorf("cannot generate a key like %T", pub)
}

// joseSigner signs with priv and labels the JWS with kid and typ JWT. Keys of the
// standard library types are used directly; any other crypto.Signer (an HSM, a KMS)
// goes through go-jose's opaque signer.
func joseSigner(priv crypto.Signer, alg jose.SignatureAlgorithm, kid string) (jose.Signer, error) {
	var key any
	switch priv.(type) {
	case *rsa.PrivateKey, *ecdsa.PrivateKey, ed25519.PrivateKey:
		key = priv
	default:
		key = cryptosigner.Opaque(priv)
	}
	s, err := jose.NewSigner(
		jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: key, KeyID: kid}},
		(&jose.SignerOptions{}).WithType("JWT"),
	)
	if err != nil {
		return nil, fmt.Errorf("could not create a %s signer: %w", alg, err)
	}
	return s, nil
}
