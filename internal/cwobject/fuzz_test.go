package cwobject

import (
	"strings"
	"testing"
	"time"
)

// Fuzz targets for every decoder of untrusted response bytes. Each asserts that
// decoding never panics and that no error ever carries the secret planted in the
// seed corpus.

// fuzzSecret is planted in every seed; no error may contain it.
var fuzzSecret = "cwo" + strings.Repeat("fuzzs3cret", 4)

func checkFuzzError(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	msg := err.Error()
	if strings.Contains(msg, fuzzSecret) || strings.Contains(msg, testToken) {
		t.Fatalf("error contains a secret: %q", msg)
	}
	if strings.ContainsAny(msg, "\n\r") {
		t.Fatalf("error is not one line: %q", msg)
	}
}

func addSeeds(f *testing.F, seeds ...string) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Add([]byte(""))
	f.Add([]byte("{"))
	f.Add([]byte("null"))
	f.Add([]byte(`"` + fuzzSecret + `"`))
	f.Add([]byte("<html>" + fuzzSecret + "</html>"))
}

func fuzzDecode(f *testing.F, op Operation, newOut func() wireDecoder, seeds ...string) {
	addSeeds(f, seeds...)
	f.Fuzz(func(t *testing.T, data []byte) {
		checkFuzzError(t, decodeSuccess(op, 200, "application/json", data, newOut()))
	})
}

func FuzzDecodeAccessKey(f *testing.F) {
	fuzzDecode(f, OpCreateAccessKeyFromJWT, func() wireDecoder { return &AccessKey{} },
		`{"accessKeyId":"CW1","secretKey":"`+fuzzSecret+`","principalName":"p","expiry":"2025-01-01T00:00:00.5Z","attributes":{"a":"b"}}`,
		`{"accessKeyID":"CW1","secretKey":"`+fuzzSecret+`","expiry":"`+fuzzSecret+`"}`,
		`{"accessKeyId":1,"secretKey":["`+fuzzSecret+`"]}`)
}

func FuzzDecodeContainerCredentials(f *testing.F) {
	fuzzDecode(f, OpCreateAccessKeyFromApiToken, func() wireDecoder { return &ContainerCredentials{} },
		`{"AccessKeyId":"CW1","SecretAccessKey":"`+fuzzSecret+`","Token":"","Expiration":"2025-01-01T00:15:00Z"}`,
		`{"AccessKeyId":"CW1","SecretAccessKey":"`+fuzzSecret+`","Expiration":"`+fuzzSecret+`"}`,
		`{"AccessKeyId":"CW1","SecretAccessKey":"`+fuzzSecret+`"}`)
}

func FuzzDecodeAccessKeyInfo(f *testing.F) {
	fuzzDecode(f, OpGetAccessKeyInfo, func() wireDecoder { return &accessKeyInfoOne{} },
		`{"info":{"accessKeyId":"CW1","status":"ACTIVE","multiAttributes":{"g":{"values":["`+fuzzSecret+`"]}},"expiry":"2025-01-01T00:00:00Z"}}`,
		`{"info":{"accessKeyId":"CW1","status":2,"multiAttributes":{"g":["a"]}}}`,
		`{"info":{"accessKeyId":"CW1","status":{"`+fuzzSecret+`":1}}}`)
}

func FuzzDecodeAccessKeyInfoList(f *testing.F) {
	fuzzDecode(f, OpListAccessKeyInfo, func() wireDecoder { return &accessKeyInfoList{} },
		`{"info":[{"accessKeyId":"CW1"},{"accessKeyID":"CW2","status":"ACCESS_KEY_STATUS_SUSPENDED"}]}`,
		`{"info":[{"accessKeyId":"`+fuzzSecret+`","expiry":"`+fuzzSecret+`"}]}`,
		`{"info":{}}`)
}

func FuzzDecodePolicies(f *testing.F) {
	fuzzDecode(f, OpListAccessPolicies, func() wireDecoder { return &policyList{} },
		`{"policies":[{"version":"v1alpha1","name":"p","statements":[{"name":"s","effect":"Allow","actions":["a"],"resources":["*"],"principals":["*"]}]}]}`,
		`{"policies":[{"name":"p","statements":[{"actions":"`+fuzzSecret+`"}]}]}`)
}

func FuzzDecodeBucketInfo(f *testing.F) {
	fuzzDecode(f, OpListBucketInfo, func() wireDecoder { return &bucketInfoList{} },
		`{"info":[{"name":"b","creationTime":"2024-01-01T00:00:00Z","settings":{"auditLoggingEnabled":true,"capacityCapBytes":"10"},"usage":[{"value":"5"}]}]}`,
		`{"info":[{"name":"b","usage":[{"value":"`+fuzzSecret+`"}]}]}`)
}

func FuzzDecodeSettings(f *testing.F) {
	addSeeds(f,
		`{"settings":{"auditLoggingEnabled":{"value":true},"archiveAfterLastAccessDays":60,"configuredCapacityCapBytes":"1"}}`,
		`{"settings":{"controlPlaneAuditLoggingEnabled":"`+fuzzSecret+`"}}`)
	f.Fuzz(func(t *testing.T, data []byte) {
		checkFuzzError(t, decodeSuccess(OpSetBucketSettings, 200, "", data, &SetBucketSettingsResponse{}))
		checkFuzzError(t, decodeSuccess(OpSetOrganizationSettings, 200, "", data, &SetOrganizationSettingsResponse{}))
		checkFuzzError(t, decodeSuccess(OpAuthCanI, 200, "", data, &AuthCanIResponse{}))
		checkFuzzError(t, decodeSuccess(OpDeleteAccessPolicy, 200, "", data, nil))
	})
}

// FuzzDecodeStatus decodes error answers. The server message is kept, so here the
// planted secret stands for a credential this client sent: it must be redacted.
func FuzzDecodeStatus(f *testing.F) {
	addSeeds(f,
		`{"code":7,"message":"denied for `+fuzzSecret+`","details":[]}`,
		`{"code":"UNAUTHENTICATED","message":"bad token Bearer `+testToken+`"}`,
		`{"error":"`+fuzzSecret+`\n`+fuzzSecret+`"}`,
		`{"code":3,"message":"`+strings.Repeat("é", 600)+`"}`)
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, status := range []int{400, 429, 502} {
			e := statusError(OpCreateAccessKeyFromOIDC, status, "application/json", "5", data, nil, []string{fuzzSecret, testToken}, time.Unix(0, 0))
			checkFuzzError(t, e)
			if len(e.Message) > maxMessageBytes+len("…") {
				t.Fatalf("message of %d bytes", len(e.Message))
			}
			if e.HTTPStatus != status || e.RetryAfter != 5*time.Second {
				t.Fatalf("%+v", e)
			}
		}
	})
}

func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"", "0", "120", "Wed, 21 Oct 2015 07:28:00 GMT", "-1", "1e9", "99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if d := parseRetryAfter(s, time.Unix(1e9, 0)); d < 0 {
			t.Fatalf("negative delay %v for %q", d, s)
		}
	})
}
