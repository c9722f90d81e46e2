package cwobject

import (
	"net/url"
	"strconv"
	"strings"

	"github.com/cwcreds/cwcreds/internal/redact"
)

// Client-side checks, run before anything is sent so that a mistake gets a clear
// message instead of a round trip and a terse 400. Reasons never quote secrets.

type checker struct {
	op  string
	err *ValidationError
}

func newChecker(op Operation) *checker { return &checker{op: op.Name} }

func (v *checker) fail(field, reason string) {
	if v.err == nil {
		v.err = &ValidationError{Op: v.op, Field: field, Reason: reason}
	}
}

// result avoids returning a typed nil inside a non-nil error.
func (v *checker) result() error {
	if v.err == nil {
		return nil
	}
	return v.err
}

func (v *checker) required(field, value string) {
	if strings.TrimSpace(value) == "" {
		v.fail(field, "is required")
	}
}

func (v *checker) list(field string, l []string) {
	if len(l) == 0 {
		v.fail(field, "must have at least one entry")
	}
	for i, s := range l {
		if strings.TrimSpace(s) == "" {
			v.fail(field+"["+strconv.Itoa(i)+"]", "is empty")
		}
	}
}

func (v *checker) duration(field string, seconds int64) {
	if seconds < 0 || seconds > MaxDurationSeconds {
		v.fail(field, "must be between 0 and "+strconv.Itoa(MaxDurationSeconds)+
			" seconds (12 h), got "+strconv.FormatInt(seconds, 10))
	}
}

func (v *checker) attributes(field string, m map[string]string) {
	for k := range m {
		if strings.TrimSpace(k) == "" {
			v.fail(field, "has an empty key")
		}
	}
}

// page checks offset and limit and returns the limit to send: 0 means MaxListLimit.
func (v *checker) page(offset, limit int) int {
	if offset < 0 {
		v.fail("offset", "must not be negative, got "+strconv.Itoa(offset))
	}
	if limit == 0 {
		return MaxListLimit
	}
	if limit < MinListLimit || limit > MaxListLimit {
		v.fail("limit", "must be between "+strconv.Itoa(MinListLimit)+" and "+strconv.Itoa(MaxListLimit)+
			" (0 means "+strconv.Itoa(MaxListLimit)+"), got "+strconv.Itoa(limit))
	}
	return limit
}

// quoteValue shows a non-secret value in a reason, bounded and on one line.
func quoteValue(s string) string {
	return strconv.Quote(redact.Text(s, nil, 64))
}

func checkPathParam(op, field, value string) error {
	v := &checker{op: op}
	v.required(field, value)
	if value == "." || value == ".." {
		v.fail(field, "must not be . or ..")
	}
	return v.result()
}

// checkCredential refuses a missing credential, or one that cannot be a header
// value (a token read from a file with an inner line break, say).
func checkCredential(op, field, value, what string) error {
	if value == "" {
		return &ValidationError{Op: op, Field: field, Reason: "is not set; pass " + what}
	}
	for i := 0; i < len(value); i++ {
		if c := value[i]; c <= ' ' || c >= 0x7f {
			return &ValidationError{Op: op, Field: field, Reason: "contains spaces, line breaks or non-ASCII characters; copy it again"}
		}
	}
	return nil
}

// looksLikeSecretKey spots a secret key passed where a key id belongs.
func looksLikeSecretKey(s string) bool {
	if len(s) != len(SecretKeyPrefix)+SecretKeySuffixLen || !strings.HasPrefix(s, SecretKeyPrefix) {
		return false
	}
	for _, c := range s[len(SecretKeyPrefix):] {
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

func (v *checker) keyID(field, id string) {
	v.required(field, id)
	if looksLikeSecretKey(id) {
		v.fail(field, "looks like a secret key; pass the access key id ("+AccessKeyIDPrefix+"…) instead")
	}
}

func (r AuthCanIRequest) validate() error {
	v := newChecker(OpAuthCanI)
	v.list("actions", r.Actions)
	v.list("resources", r.Resources)
	return v.result()
}

func (r CreateAccessKeyFromJWTRequest) validate() error {
	v := newChecker(OpCreateAccessKeyFromJWT)
	v.duration("durationSeconds", r.DurationSeconds)
	v.attributes("attributes", r.Attributes)
	return v.result()
}

// query checks the request and returns its query string. Limit 0 means 1000;
// Status may be empty or UNSPECIFIED (no filter), ACTIVE or SUSPENDED in any of
// the spellings ParseAccessKeyStatus accepts.
func (r ListAccessKeyInfoRequest) query() (url.Values, error) {
	v := newChecker(OpListAccessKeyInfo)
	limit := v.page(r.Offset, r.Limit)
	st, ok := ParseAccessKeyStatus(string(r.Status))
	if !ok {
		v.fail("status", "must be ACTIVE, SUSPENDED or empty for no filter, got "+quoteValue(string(r.Status)))
	}
	if err := v.result(); err != nil {
		return nil, err
	}
	q := url.Values{"offset": {strconv.Itoa(r.Offset)}, "limit": {strconv.Itoa(limit)}}
	if st != AccessKeyStatusUnspecified {
		q.Set("status", string(st))
	}
	return q, nil
}

// normalized checks the request and returns it with Status in wire form.
func (r UpdateAccessKeyStatusRequest) normalized() (UpdateAccessKeyStatusRequest, error) {
	v := newChecker(OpUpdateAccessKeyStatus)
	v.required("principalName", r.PrincipalName)
	st, ok := ParseAccessKeyStatus(string(r.Status))
	if !ok || st == AccessKeyStatusUnspecified {
		v.fail("status", "must be ACTIVE or SUSPENDED (the API rejects UNSPECIFIED), got "+quoteValue(string(r.Status)))
	}
	r.Status = st
	return r, v.result()
}

// normalized checks a policy for EnsureAccessPolicy; an empty Version becomes
// PolicyVersion.
func (p Policy) normalized() (Policy, error) {
	v := newChecker(OpEnsureAccessPolicy)
	if p.Version == "" {
		p.Version = PolicyVersion
	}
	if p.Version != PolicyVersion {
		v.fail("policy.version", "must be "+PolicyVersion+", got "+quoteValue(p.Version))
	}
	v.required("policy.name", p.Name)
	if len(p.Statements) == 0 {
		v.fail("policy.statements", "must have at least one statement")
	}
	for i, s := range p.Statements {
		f := "policy.statements[" + strconv.Itoa(i) + "]."
		v.required(f+"name", s.Name)
		if s.Effect != EffectAllow && s.Effect != EffectDeny {
			v.fail(f+"effect", "must be "+EffectAllow+" or "+EffectDeny+" (case-sensitive), got "+quoteValue(s.Effect))
		}
		v.list(f+"actions", s.Actions)
		v.list(f+"resources", s.Resources)
		v.list(f+"principals", s.Principals)
	}
	return p, v.result()
}

func (r SetBucketSettingsRequest) validate() error {
	v := newChecker(OpSetBucketSettings)
	v.required("bucketName", r.BucketName)
	return v.result()
}

// query checks the request and returns its query string; Limit 0 means 1000.
func (r ListBucketInfoRequest) query() (url.Values, error) {
	v := newChecker(OpListBucketInfo)
	limit := v.page(r.Offset, r.Limit)
	if err := v.result(); err != nil {
		return nil, err
	}
	return url.Values{"offset": {strconv.Itoa(r.Offset)}, "limit": {strconv.Itoa(limit)}}, nil
}

func (r RevokeAccessKeyByAccessKeyRequest) validate() error {
	v := newChecker(OpRevokeAccessKeyByAccessKey)
	v.keyID("accessKey", r.AccessKey)
	return v.result()
}

func (r RevokeAccessKeysByPrincipalRequest) validate() error {
	v := newChecker(OpRevokeAccessKeysByPrincipal)
	v.required("principalName", r.PrincipalName)
	return v.result()
}

func (r CreateAccessKeyFromSAMLRequest) validate() error {
	v := newChecker(OpCreateAccessKeyFromSAML)
	v.duration("durationSeconds", r.DurationSeconds)
	v.required("orgId", r.OrgID)
	v.required("samlResponse", r.SAMLResponse)
	v.required("configId", r.ConfigID)
	v.attributes("attributes", r.Attributes)
	return v.result()
}

func (r CreateAccessKeyFromSAMLRequest) secretValues() []string { return []string{r.SAMLResponse} }

func (r CreateAccessKeyFromOIDCRequest) validate() error {
	v := newChecker(OpCreateAccessKeyFromOIDC)
	v.duration("durationSeconds", r.DurationSeconds)
	v.required("orgId", r.OrgID)
	v.required("oidcToken", r.OIDCToken)
	v.attributes("attributes", r.Attributes)
	return v.result()
}

func (r CreateAccessKeyFromOIDCRequest) secretValues() []string { return []string{r.OIDCToken} }
