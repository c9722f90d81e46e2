package emulator

import (
	"encoding/json"
	"net/url"
	"testing"

	"github.com/cwcreds/cwcreds/internal/cwobject"
)

// FuzzDecodeRequestBodies feeds arbitrary bodies to every request decoder: none
// may panic, and what one accepts must survive a round trip through the shared
// wire types.
func FuzzDecodeRequestBodies(f *testing.F) {
	seeds := []string{
		``, `{}`, `null`, `[]`, `"x"`, `{"durationSeconds":"3600"}`, `{"durationSeconds":3600}`,
		`{"duration_seconds":1e3,"attributes":{"a":"b"}}`, `{"durationSeconds":1.5}`, `{"durationSeconds":"9223372036854775808"}`,
		`{"orgId":"org-1","oidcToken":"a.b.c","durationSeconds":0}`,
		`{"org_id":"o","saml_response":"PD94","config_id":"c","attributes":null}`,
		`{"policy":{"version":"v1alpha1","name":"p","statements":[{"name":"s","effect":"Allow","actions":["*"],"resources":["*"],"principals":["*"]}]}}`,
		`{"policy":{"statements":[null]}}`, `{"policy":[]}`,
		`{"bucketName":"b","settings":{"auditLoggingEnabled":true,"archiveAfterLastAccessDays":"90","capacityCapBytes":"18446744073709551615"}}`,
		`{"settings":{"controlPlaneAuditLoggingEnabled":false,"bucket_audit_logging_enabled":null}}`,
		`{"principalName":"coreweave/a","status":2}`, `{"principalName":"p","status":"SUSPENDED"}`,
		`{"accessKey":"CWABCDEFGHIJKLMN"}`, `{"actions":["a"],"resources":["*"]}`, `{"a":1,"a":2}`,
		`{"orgId":"x","org_id":"y"}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	roundTrip := func(t *testing.T, v any, decode func([]byte) error) {
		data, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("accepted value does not marshal: %v", err)
		}
		if err := decode(data); err != nil {
			t.Fatalf("re-decoding %s: %v", data, err)
		}
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if r, err := decodeAuthCanI(body); err == nil {
			roundTrip(t, r, func(b []byte) error { return nilIfOK(decodeAuthCanI(b)) })
		}
		if r, err := decodeCreateAccessKeyFromJWT(body); err == nil {
			roundTrip(t, r, func(b []byte) error { return nilIfOK(decodeCreateAccessKeyFromJWT(b)) })
		}
		if r, err := decodeUpdateAccessKeyStatus(body); err == nil {
			if _, ok := parseKeyStatus(string(r.Status)); !ok {
				t.Fatalf("decoded an unknown status %q", r.Status)
			}
			roundTrip(t, r, func(b []byte) error { return nilIfOK(decodeUpdateAccessKeyStatus(b)) })
		}
		if r, err := decodeEnsureAccessPolicy(body); err == nil {
			_ = validatePolicy(r.Policy)
			roundTrip(t, r, func(b []byte) error { return nilIfOK(decodeEnsureAccessPolicy(b)) })
		}
		if r, err := decodeSetBucketSettings(body); err == nil {
			roundTrip(t, r, func(b []byte) error { return nilIfOK(decodeSetBucketSettings(b)) })
		}
		if r, err := decodeSetOrganizationSettings(body); err == nil {
			roundTrip(t, r, func(b []byte) error { return nilIfOK(decodeSetOrganizationSettings(b)) })
		}
		if r, err := decodeRevokeAccessKeyByAccessKey(body); err == nil {
			roundTrip(t, r, func(b []byte) error { return nilIfOK(decodeRevokeAccessKeyByAccessKey(b)) })
		}
		if r, err := decodeRevokeAccessKeysByPrincipal(body); err == nil {
			roundTrip(t, r, func(b []byte) error { return nilIfOK(decodeRevokeAccessKeysByPrincipal(b)) })
		}
		if r, err := decodeCreateAccessKeyFromOIDC(body); err == nil {
			_, _ = exchangeLifetime(r.DurationSeconds)
			roundTrip(t, r, func(b []byte) error { return nilIfOK(decodeCreateAccessKeyFromOIDC(b)) })
		}
		if r, err := decodeCreateAccessKeyFromSAML(body); err == nil {
			roundTrip(t, r, func(b []byte) error { return nilIfOK(decodeCreateAccessKeyFromSAML(b)) })
		}
		_, _, _ = decodeFaultRequest(body)
		_, _ = unverifiedIssuer(string(body))
	})
}

func nilIfOK[T any](_ T, err *apiError) error {
	if err != nil {
		return err
	}
	return nil
}

// FuzzDecodeListQuery: no query string may panic the list decoder, and what it
// accepts is in range.
func FuzzDecodeListQuery(f *testing.F) {
	for _, s := range []string{"offset=0&limit=10", "limit=1000&status=ACTIVE", "offset=-1", "limit=99999999999", "status=2&limit=1", "offset=1&offset=2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		off, lim, status, aerr := decodeListQuery(q, true)
		if aerr != nil {
			return
		}
		if off < 0 || lim < cwobject.MinListLimit || lim > cwobject.MaxListLimit {
			t.Fatalf("accepted offset %d limit %d", off, lim)
		}
		if _, ok := parseKeyStatus(string(status)); !ok {
			t.Fatalf("accepted status %q", status)
		}
	})
}
