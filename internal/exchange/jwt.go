package exchange

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"
)

const (
	// MaxJWTBytes bounds the tokens CheckJWT looks at; identity tokens are a few KiB.
	MaxJWTBytes = 64 << 10
	// JWTExpiryLeeway: a token that expires within this much of now is treated as
	// expired, since it would be by the time the exchange reaches the server.
	JWTExpiryLeeway = 10 * time.Second
)

// Claims are the registered claims CheckJWT reads. Nothing in them is verified: the
// signature is checked by the server that accepts the token.
type Claims struct {
	Issuer   string
	Subject  string
	Audience []string
	Expiry   time.Time
	IssuedAt time.Time // zero when the token has no iat
}

// CheckJWT checks that token has the shape of a signed JWT — three base64url parts,
// a JSON header naming an algorithm other than "none", a JSON claims object with a
// numeric exp — and that it has not expired at now (with JWTExpiryLeeway). It does
// not verify the signature. Its errors match ErrNotJWT or ErrExpired with
// errors.Is and never contain the token or any part of it.
func CheckJWT(token string, now time.Time) (Claims, error) {
	if len(token) > MaxJWTBytes {
		return Claims{}, fmt.Errorf("%w: it is %d bytes, more than the %d a JWT may have here", ErrNotJWT, len(token), MaxJWTBytes)
	}
	if token == "" {
		return Claims{}, fmt.Errorf("%w: it is empty", ErrNotJWT)
	}
	for i := 0; i < len(token); i++ {
		if !isJWTByte(token[i]) {
			return Claims{}, fmt.Errorf("%w: it contains a character that is not base64url or '.' at byte %d (spaces, line breaks and quotes are not allowed)", ErrNotJWT, i)
		}
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return Claims{}, fmt.Errorf("%w: it has %d part(s) separated by '.', a JWT has 3 (an encrypted JWE or an opaque token cannot be used)", ErrNotJWT, len(parts))
	}
	header, err := decodeSegment(parts[0])
	if err != nil {
		return Claims{}, fmt.Errorf("%w: its header is not base64url", ErrNotJWT)
	}
	var h struct {
		Alg any `json:"alg"`
	}
	if !isJSONObject(header) || json.Unmarshal(header, &h) != nil {
		return Claims{}, fmt.Errorf("%w: its header is not a JSON object", ErrNotJWT)
	}
	alg, _ := h.Alg.(string)
	switch {
	case alg == "":
		return Claims{}, fmt.Errorf("%w: its header has no alg", ErrNotJWT)
	case strings.EqualFold(alg, "none"):
		return Claims{}, fmt.Errorf("%w: it is unsigned (alg none)", ErrNotJWT)
	}
	if parts[2] == "" {
		return Claims{}, fmt.Errorf("%w: its signature is empty", ErrNotJWT)
	}
	if _, err := decodeSegment(parts[2]); err != nil {
		return Claims{}, fmt.Errorf("%w: its signature is not base64url", ErrNotJWT)
	}
	payload, err := decodeSegment(parts[1])
	if err != nil {
		return Claims{}, fmt.Errorf("%w: its claims are not base64url", ErrNotJWT)
	}
	c, err := parseClaims(payload)
	if err != nil {
		return Claims{}, err
	}
	if !c.Expiry.After(now.Add(JWTExpiryLeeway)) {
		if !c.Expiry.After(now) {
			return c, fmt.Errorf("token %w at %s (it is now %s): get a fresh token", ErrExpired, stamp(c.Expiry), stamp(now))
		}
		return c, fmt.Errorf("token expires at %s, too soon to be exchanged (it is now %s), so it is treated as %w: get a fresh token",
			stamp(c.Expiry), stamp(now), ErrExpired)
	}
	return c, nil
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// decodeSegment decodes base64url, tolerating the padding some issuers add.
func decodeSegment(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}

func isJWTByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '_' || c == '.' || c == '='
}

func isJSONObject(b []byte) bool {
	b = bytes.TrimLeft(b, " \t\r\n")
	return len(b) > 0 && b[0] == '{'
}

// parseClaims reads iss, sub, aud, exp and iat. Messages name the claim, never a
// value taken from the token.
func parseClaims(payload []byte) (Claims, error) {
	var raw map[string]json.RawMessage
	if !isJSONObject(payload) || json.Unmarshal(payload, &raw) != nil {
		return Claims{}, fmt.Errorf("%w: its claims are not a JSON object", ErrNotJWT)
	}
	var c Claims
	var ok bool
	if v, present := raw["iss"]; present {
		if c.Issuer, ok = jsonString(v); !ok {
			return Claims{}, fmt.Errorf("%w: its iss claim is not a string", ErrNotJWT)
		}
	}
	if v, present := raw["sub"]; present {
		if c.Subject, ok = jsonString(v); !ok {
			return Claims{}, fmt.Errorf("%w: its sub claim is not a string", ErrNotJWT)
		}
	}
	if v, present := raw["aud"]; present {
		if c.Audience, ok = jsonAudience(v); !ok {
			return Claims{}, fmt.Errorf("%w: its aud claim is neither a string nor a list of strings", ErrNotJWT)
		}
	}
	v, present := raw["exp"]
	if !present {
		return Claims{}, fmt.Errorf("%w: it has no exp claim (a token that never expires is not accepted)", ErrNotJWT)
	}
	if c.Expiry, ok = numericDate(v); !ok {
		return Claims{}, fmt.Errorf("%w: its exp claim is not a number of seconds", ErrNotJWT)
	}
	if v, present := raw["iat"]; present {
		if c.IssuedAt, ok = numericDate(v); !ok {
			return Claims{}, fmt.Errorf("%w: its iat claim is not a number of seconds", ErrNotJWT)
		}
	}
	return c, nil
}

func jsonString(v json.RawMessage) (string, bool) {
	var s string
	if json.Unmarshal(v, &s) != nil {
		return "", false
	}
	return s, true
}

func jsonAudience(v json.RawMessage) ([]string, bool) {
	if s, ok := jsonString(v); ok {
		return []string{s}, true
	}
	var l []string
	if json.Unmarshal(v, &l) != nil {
		return nil, false
	}
	return l, true
}

// numericDate reads a JWT NumericDate: seconds since the epoch, maybe fractional.
// Values beyond year 9999 or before 1970 are refused as malformed.
func numericDate(v json.RawMessage) (time.Time, bool) {
	var f float64
	if json.Unmarshal(v, &f) != nil || math.IsNaN(f) || f < 0 || f > 253402300799 {
		return time.Time{}, false
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC(), true
}
