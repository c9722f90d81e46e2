package s3emu

import (
	"crypto/hmac"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/smithy-go/logging"
	"go.uber.org/zap"
)

// Payload hash values S3 accepts in x-amz-content-sha256. [fact: AWS S3 SigV4 docs]
const (
	payloadUnsigned              = "UNSIGNED-PAYLOAD"
	payloadStreamingUnsignedTrlr = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
	payloadStreamingSigned       = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
	payloadStreamingSignedTrlr   = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
)

const (
	// maxRequestSkew is how far X-Amz-Date may be from the server clock. [fact: S3]
	maxRequestSkew = 15 * time.Minute
	// maxPresignExpiry is the longest X-Amz-Expires S3 accepts (7 days). [fact: S3]
	maxPresignExpiry = 7 * 24 * time.Hour
)

// caller is who an authenticated request comes from.
type caller struct {
	AccessKeyID string
	Principal   string // empty when the key store does not say
	// PayloadHash is the x-amz-content-sha256 the signature covers; the body
	// reader holds the body to it.
	PayloadHash string
}

// sigV4Request is what either form of SigV4 (header or query) carries.
type sigV4Request struct {
	Credential    credential
	SignedHeaders []string
	Signature     string
	Date          time.Time
	Expires       time.Duration // presigned only
	PayloadHash   string
	Presigned     bool
}

// authenticate checks a request's SigV4 signature and the state of its key.
func (s *Server) authenticate(r *http.Request) (caller, *s3Error) {
	query := r.URL.Query()
	presigned := query.Has("X-Amz-Signature") || query.Has("X-Amz-Credential") || query.Has("X-Amz-Algorithm")
	authz, hasAuthz := r.Header["Authorization"]
	switch {
	case !hasAuthz && !presigned:
		return caller{}, newErrMsg("AccessDenied", "Access Denied: the request is not signed; sign it with SigV4 (AWS4-HMAC-SHA256)")
	case hasAuthz && presigned:
		return caller{}, newErrMsg("InvalidArgument", "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter or the Authorization header should be specified")
	}

	// An empty token is a client bug worth naming: some SDKs send the header with
	// an empty value when a credential source returns Token "".
	tokens := r.Header.Values("X-Amz-Security-Token")
	if presigned && query.Has("X-Amz-Security-Token") {
		tokens = append(tokens, query["X-Amz-Security-Token"]...)
	}
	for _, t := range tokens {
		if strings.TrimSpace(t) == "" {
			s.cfg.Logger.Warn("s3 request carries an empty X-Amz-Security-Token; the client should omit the header when it has no session token",
				zap.String("user_agent", r.UserAgent()))
			return caller{}, &s3Error{Code: "InvalidToken", HeaderName: "X-Amz-Security-Token",
				Message: "The provided token is malformed or otherwise invalid: X-Amz-Security-Token is present but empty; a client must omit it when the credentials have no session token"}
		}
	}

	var sr sigV4Request
	var perr *s3Error
	if presigned {
		sr, perr = parsePresigned(query)
	} else {
		sr, perr = parseHeaderAuth(r, authz)
	}
	if perr != nil {
		return caller{}, perr
	}
	who := caller{AccessKeyID: sr.Credential.AccessKeyID} // for the request log
	if sr.Credential.Region != s.cfg.Region {
		code := "AuthorizationHeaderMalformed"
		if sr.Presigned {
			code = "AuthorizationQueryParametersError"
		}
		return who, &s3Error{Code: code, Region: s.cfg.Region,
			Message: fmt.Sprintf("The authorization header is malformed; the region %s is wrong; expecting %s", quoteShort(sr.Credential.Region), quoteShort(s.cfg.Region))}
	}
	if perr := s.checkTime(sr); perr != nil {
		return who, perr
	}

	secret, state := s.cfg.Keys.ResolveKey(sr.Credential.AccessKeyID)
	if state != KeyValid {
		code, ok := keyRefusals[state]
		if !ok {
			code = keyRefusals[KeyUnknown]
		}
		e := newErr(code)
		if code == "InvalidAccessKeyId" {
			e.AccessKeyID = sr.Credential.AccessKeyID
		}
		s.cfg.Logger.Debug("s3 key refused", keyIDField(sr.Credential.AccessKeyID), stateField(state))
		return who, e
	}
	// Keys minted by CoreWeave carry no session token, so any token is foreign.
	if len(tokens) > 0 {
		return who, newErrMsg("InvalidToken", "The provided token is malformed or otherwise invalid: this access key has no session token, so send no X-Amz-Security-Token")
	}

	if perr := s.verifySignature(r, sr, secret); perr != nil {
		return who, perr
	}
	c := caller{AccessKeyID: sr.Credential.AccessKeyID, PayloadHash: sr.PayloadHash}
	if p, ok := s.cfg.Keys.(PrincipalResolver); ok {
		c.Principal = p.PrincipalOf(sr.Credential.AccessKeyID)
	}
	return c, nil
}

// parseHeaderAuth reads the SigV4 parts of a request signed in its headers.
func parseHeaderAuth(r *http.Request, authz []string) (sigV4Request, *s3Error) {
	if len(authz) != 1 {
		return sigV4Request{}, newErrMsg("InvalidArgument", "send exactly one Authorization header")
	}
	a, err := parseAuthorization(authz[0])
	if errors.Is(err, errNotSigV4) {
		return sigV4Request{}, newErrMsg("InvalidRequest", "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.")
	}
	if err != nil {
		return sigV4Request{}, newErrMsg("AuthorizationHeaderMalformed", err.Error())
	}
	sr := sigV4Request{Credential: a.Credential, SignedHeaders: a.SignedHeaders, Signature: a.Signature}
	// The SDK signer always dates requests with X-Amz-Date; the Date header form of
	// SigV4 is not supported here.
	dates := r.Header.Values("X-Amz-Date")
	if len(dates) != 1 {
		return sr, newErrMsg("AccessDenied", "AWS authentication requires a valid Date or x-amz-date header; this endpoint needs exactly one X-Amz-Date")
	}
	t, err := time.Parse(amzDateLayout, strings.TrimSpace(dates[0]))
	if err != nil {
		return sr, newErrMsg("AccessDenied", "AWS authentication requires a valid Date or x-amz-date header; X-Amz-Date must look like 20060102T150405Z")
	}
	sr.Date = t
	hashes := r.Header.Values("X-Amz-Content-Sha256")
	if len(hashes) != 1 {
		return sr, &s3Error{Code: "InvalidRequest", HeaderName: "x-amz-content-sha256",
			Message: "Missing required header for this request: x-amz-content-sha256"}
	}
	sr.PayloadHash = strings.TrimSpace(hashes[0])
	switch sr.PayloadHash {
	case payloadUnsigned, payloadStreamingUnsignedTrlr, payloadStreamingSigned, payloadStreamingSignedTrlr:
	default:
		if !isLowerHex(strings.ToLower(sr.PayloadHash), 64) {
			return sr, &s3Error{Code: "InvalidArgument", ArgumentName: "x-amz-content-sha256",
				Message: "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD(-TRAILER), or a valid sha256 value."}
		}
	}
	if sr.Credential.Date != sr.Date.Format(scopeDateLayout) {
		return sr, newErrMsg("AuthorizationHeaderMalformed", "The authorization header is malformed; Invalid credential date. Date is not the same as X-Amz-Date.")
	}
	return sr, nil
}

// parsePresigned reads the SigV4 parts of a presigned URL.
func parsePresigned(q url.Values) (sigV4Request, *s3Error) {
	bad := func(msg string) (sigV4Request, *s3Error) {
		return sigV4Request{}, newErrMsg("AuthorizationQueryParametersError", msg)
	}
	for _, k := range []string{"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "X-Amz-Date", "X-Amz-SignedHeaders", "X-Amz-Expires"} {
		if len(q[k]) != 1 {
			return bad("Query-string authentication version 4 requires exactly one of each of the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters; " + k + " is missing or repeated")
		}
	}
	if q.Get("X-Amz-Algorithm") != sigV4Algorithm {
		return bad("X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"")
	}
	c, err := parseCredential(q.Get("X-Amz-Credential"))
	if err != nil {
		return bad(strings.Replace(err.Error(), "the authorization header", "X-Amz-Credential", 1))
	}
	sh, err := parseSignedHeaders(q.Get("X-Amz-SignedHeaders"))
	if err != nil {
		return bad(strings.Replace(err.Error(), "the authorization header", "X-Amz-SignedHeaders", 1))
	}
	if !isLowerHex(q.Get("X-Amz-Signature"), 64) {
		return bad("X-Amz-Signature must be 64 lower-case hex digits")
	}
	t, err := time.Parse(amzDateLayout, q.Get("X-Amz-Date"))
	if err != nil {
		return bad("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"")
	}
	if c.Date != t.Format(scopeDateLayout) {
		return bad("Invalid credential date. Date is not the same as X-Amz-Date.")
	}
	secs, err := strconv.ParseInt(q.Get("X-Amz-Expires"), 10, 64)
	if err != nil || secs < 1 {
		return bad("X-Amz-Expires should be a number of seconds from 1 to 604800")
	}
	if time.Duration(secs)*time.Second > maxPresignExpiry {
		return bad("X-Amz-Expires must be less than a week (in seconds) that is 604800")
	}
	hash := payloadUnsigned
	if v := q.Get("X-Amz-Content-Sha256"); v != "" {
		hash = v
	}
	return sigV4Request{Credential: c, SignedHeaders: sh, Signature: q.Get("X-Amz-Signature"),
		Date: t, Expires: time.Duration(secs) * time.Second, PayloadHash: hash, Presigned: true}, nil
}

// checkTime refuses requests dated too far from the server clock, and expired
// presigned URLs.
func (s *Server) checkTime(sr sigV4Request) *s3Error {
	now := s.cfg.Clock.Now().UTC()
	if sr.Presigned {
		if now.After(sr.Date.Add(sr.Expires)) {
			return newErrMsg("AccessDenied", "Request has expired")
		}
		if sr.Date.After(now.Add(maxRequestSkew)) {
			return newErrMsg("AccessDenied", "Request is not valid yet: X-Amz-Date is in the future")
		}
		return nil
	}
	skew := now.Sub(sr.Date)
	if skew < 0 {
		skew = -skew
	}
	if skew > maxRequestSkew {
		return &s3Error{Code: "RequestTimeTooSkewed",
			RequestTime:    sr.Date.Format(amzDateLayout),
			ServerTime:     now.Format(time.RFC3339),
			MaxAllowedSkew: strconv.FormatInt(maxRequestSkew.Milliseconds(), 10)}
	}
	return nil
}

// verifySignature re-signs a copy of the request, made of only the headers the
// client signed, with the SDK's own signer and compares the results.
func (s *Server) verifySignature(r *http.Request, sr sigV4Request, secret string) *s3Error {
	creds := aws.Credentials{AccessKeyID: sr.Credential.AccessKeyID, SecretAccessKey: secret}
	got, _, err := s.resign(r, sr, creds, false)
	if err != nil {
		return err
	}
	if hmac.Equal([]byte(got), []byte(sr.Signature)) {
		return nil
	}
	// Sign once more with the signer's logging on, to show the client what was
	// signed (S3 does too). Neither part contains the secret or a signature.
	_, canon, _ := s.resign(r, sr, creds, true)
	e := &s3Error{Code: "SignatureDoesNotMatch", AccessKeyID: sr.Credential.AccessKeyID,
		CanonicalReq: canon.canonical, StringToSign: canon.stringToSign}
	s.cfg.Logger.Debug("s3 signature mismatch", keyIDField(sr.Credential.AccessKeyID))
	return e
}

type signedStrings struct{ canonical, stringToSign string }

// resign builds the request the client signed and signs it with creds, returning
// the signature the server computes.
func (s *Server) resign(r *http.Request, sr sigV4Request, creds aws.Credentials, withLog bool) (string, signedStrings, *s3Error) {
	req, perr := rebuildSigned(r, sr)
	if perr != nil {
		return "", signedStrings{}, perr
	}
	capture := &signingCapture{}
	opts := func(o *v4.SignerOptions) {
		o.DisableURIPathEscaping = true // S3 signs the path exactly as sent
		o.DisableHeaderHoisting = true  // presigned: keep headers as headers
		o.DisableSessionToken = true
		if withLog {
			o.LogSigning = true
			o.Logger = capture
		}
	}
	ctx := r.Context()
	var sig string
	if sr.Presigned {
		signed, _, err := s.signer.PresignHTTP(ctx, creds, req, sr.PayloadHash, sigV4Service, sr.Credential.Region, sr.Date, opts)
		if err != nil {
			return "", signedStrings{}, newErrMsg("InternalError", "could not sign the request copy")
		}
		const marker = "X-Amz-Signature="
		if i := strings.LastIndex(signed, marker); i >= 0 {
			sig = signed[i+len(marker):]
		}
	} else {
		if err := s.signer.SignHTTP(ctx, creds, req, sr.PayloadHash, sigV4Service, sr.Credential.Region, sr.Date, opts); err != nil {
			return "", signedStrings{}, newErrMsg("InternalError", "could not sign the request copy")
		}
		a, err := parseAuthorization(req.Header.Get("Authorization"))
		if err != nil {
			return "", signedStrings{}, newErrMsg("InternalError", "could not read the signer's authorization header")
		}
		sig = a.Signature
	}
	return sig, capture.strings(), nil
}

// rebuildSigned makes a request that holds exactly what the client signed: method,
// the raw path and query as sent, the Host, and the signed headers.
//
// Quirks of the SDK signer this works around:
//   - it signs Host from req.Host and strips a default port only for the http and
//     https schemes, so the copy has no scheme and keeps Host verbatim;
//   - it skips User-Agent, Expect, Transfer-Encoding, X-Amzn-Trace-Id and
//     Authorization by their canonical spelling, and signs Content-Length only from
//     req.ContentLength > 0; headers go in under lower-case keys so a client that
//     signed, say, user-agent still verifies;
//   - it sets X-Amz-Date itself from the signing time.
func rebuildSigned(r *http.Request, sr sigV4Request) (*http.Request, *s3Error) {
	rawPath := requestPath(r)
	query := r.URL.RawQuery
	if sr.Presigned {
		q := r.URL.Query()
		q.Del("X-Amz-Signature")
		query = q.Encode()
	}
	req := &http.Request{
		Method: r.Method,
		// "//h" is a placeholder authority: the signer reads the path after it.
		URL:    &url.URL{Opaque: "//h" + rawPath, RawQuery: query},
		Host:   r.Host,
		Header: http.Header{},
	}
	for _, name := range sr.SignedHeaders {
		switch name {
		case "host":
			continue
		case "x-amz-date":
			if !sr.Presigned {
				continue
			}
		case "content-length":
			n, err := strconv.ParseInt(r.Header.Get("Content-Length"), 10, 64)
			if err != nil {
				n = r.ContentLength
			}
			if n <= 0 {
				return nil, newErrMsg("SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided. This emulator cannot verify a signed content-length of 0 or a signed content-length on a chunked request; do not sign content-length for such requests")
			}
			req.ContentLength = n
			continue
		}
		vals := r.Header.Values(name)
		if len(vals) == 0 {
			continue // absent: the signer leaves it out and the signature will differ
		}
		req.Header[name] = vals
	}
	return req, nil
}

// requestPath is the path exactly as it arrived on the wire, which is what S3
// clients sign (each segment URI-encoded once).
func requestPath(r *http.Request) string {
	if p, _, _ := strings.Cut(r.RequestURI, "?"); strings.HasPrefix(p, "/") {
		return p
	}
	return r.URL.EscapedPath()
}

// signingCapture receives the signer's debug log of the canonical request.
type signingCapture struct{ msg string }

func (c *signingCapture) Logf(_ logging.Classification, format string, v ...any) {
	c.msg = fmt.Sprintf(format, v...)
}

// strings extracts the canonical request and string to sign from the signer's log
// and drops the rest (a presigned URL there carries the server's signature).
func (c *signingCapture) strings() signedStrings {
	const canonHead = "---[ CANONICAL STRING  ]-----------------------------\n"
	const stsHead = "\n---[ STRING TO SIGN ]--------------------------------\n"
	_, rest, ok := strings.Cut(c.msg, canonHead)
	if !ok {
		return signedStrings{}
	}
	canon, rest, ok := strings.Cut(rest, stsHead)
	if !ok {
		return signedStrings{}
	}
	sts, _, _ := strings.Cut(rest, "\n---")
	return signedStrings{canonical: canon, stringToSign: sts}
}
