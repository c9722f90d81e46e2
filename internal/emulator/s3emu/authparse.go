package s3emu

import (
	"errors"
	"strings"
	"time"
)

// SigV4 vocabulary. [fact: AWS SigV4 for S3]
const (
	sigV4Algorithm   = "AWS4-HMAC-SHA256"
	sigV4Terminator  = "aws4_request"
	sigV4Service     = "s3"
	amzDateLayout    = "20060102T150405Z"
	scopeDateLayout  = "20060102"
	maxAuthHeaderLen = 8 << 10 // far above any real header; bounds parsing work
)

// credential is the Credential= part of a SigV4 authorization:
// AKID/yyyymmdd/region/s3/aws4_request.
type credential struct {
	AccessKeyID string
	Date        string // yyyymmdd
	Region      string
	Service     string
}

// authorization is a parsed `Authorization: AWS4-HMAC-SHA256 …` header.
type authorization struct {
	Credential    credential
	SignedHeaders []string // lower-case names as the client listed them
	Signature     string   // lower-case hex; never log or echo it
}

// errNotSigV4 marks an Authorization header of another scheme (SigV2, SigV4a, Bearer).
var errNotSigV4 = errors.New("the authorization mechanism is not supported; sign requests with AWS4-HMAC-SHA256")

// parseAuthorization parses a SigV4 Authorization header. The error text is safe to
// show the client: it never quotes the header, so never the signature.
func parseAuthorization(h string) (authorization, error) {
	var a authorization
	if len(h) > maxAuthHeaderLen {
		return a, errors.New("the authorization header is too long")
	}
	alg, rest, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || alg != sigV4Algorithm {
		return a, errNotSigV4
	}
	var haveCred, haveSigned, haveSig bool
	for part := range strings.SplitSeq(rest, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, value, ok := strings.Cut(part, "=")
		if !ok {
			return a, errors.New("the authorization header is malformed; each component must be name=value")
		}
		switch name {
		case "Credential":
			if haveCred {
				return a, errors.New("the authorization header is malformed; Credential appears twice")
			}
			c, err := parseCredential(value)
			if err != nil {
				return a, err
			}
			a.Credential, haveCred = c, true
		case "SignedHeaders":
			if haveSigned {
				return a, errors.New("the authorization header is malformed; SignedHeaders appears twice")
			}
			sh, err := parseSignedHeaders(value)
			if err != nil {
				return a, err
			}
			a.SignedHeaders, haveSigned = sh, true
		case "Signature":
			if haveSig {
				return a, errors.New("the authorization header is malformed; Signature appears twice")
			}
			if !isLowerHex(value, 64) {
				return a, errors.New("the authorization header is malformed; Signature must be 64 lower-case hex digits")
			}
			a.Signature, haveSig = value, true
		default:
			return a, errors.New("the authorization header is malformed; components must be Credential, SignedHeaders and Signature")
		}
	}
	switch {
	case !haveCred:
		return a, errors.New("the authorization header is malformed; it lacks Credential")
	case !haveSigned:
		return a, errors.New("the authorization header is malformed; it lacks SignedHeaders")
	case !haveSig:
		return a, errors.New("the authorization header is malformed; it lacks Signature")
	}
	return a, nil
}

// parseCredential parses AKID/yyyymmdd/region/s3/aws4_request.
func parseCredential(v string) (credential, error) {
	parts := strings.Split(v, "/")
	if len(parts) != 5 {
		return credential{}, errors.New("the authorization header is malformed; the Credential must be <key id>/<yyyymmdd>/<region>/s3/aws4_request")
	}
	c := credential{AccessKeyID: parts[0], Date: parts[1], Region: parts[2], Service: parts[3]}
	if c.AccessKeyID == "" || c.Region == "" {
		return credential{}, errors.New("the authorization header is malformed; the Credential has an empty key id or region")
	}
	if _, err := time.Parse(scopeDateLayout, c.Date); err != nil || len(c.Date) != 8 {
		return credential{}, errors.New("the authorization header is malformed; the Credential date must be yyyymmdd")
	}
	if c.Service != sigV4Service {
		return credential{}, errors.New("the authorization header is malformed; the Credential service must be s3")
	}
	if parts[4] != sigV4Terminator {
		return credential{}, errors.New("the authorization header is malformed; the Credential must end in aws4_request")
	}
	return c, nil
}

// parseSignedHeaders parses host;x-amz-date;… into its names.
func parseSignedHeaders(v string) ([]string, error) {
	if v == "" {
		return nil, errors.New("the authorization header is malformed; SignedHeaders is empty")
	}
	names := strings.Split(v, ";")
	for _, n := range names {
		if !isHeaderToken(n) {
			return nil, errors.New("the authorization header is malformed; SignedHeaders must be lower-case header names joined by ;")
		}
	}
	return names, nil
}

// isHeaderToken reports whether s is a non-empty lower-case HTTP header name.
func isHeaderToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

func isLowerHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// quoteShort quotes client input for an error message, cut to a sane length.
func quoteShort(s string) string {
	const limit = 64
	if len(s) > limit {
		s = s[:limit] + "…"
	}
	return "\"" + strings.ToValidUTF8(s, "?") + "\""
}
