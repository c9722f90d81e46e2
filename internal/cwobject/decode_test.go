package cwobject

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"
)

func TestDecodeAccessKeyInfoTolerantly(t *testing.T) {
	exp := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	for _, tc := range []struct {
		name string
		in   string
		want AccessKeyInfo
	}{
		{"canonical", `{"accessKeyId":"CW1","status":"ACCESS_KEY_STATUS_ACTIVE","expiry":"2025-03-04T05:06:07Z"}`,
			AccessKeyInfo{AccessKeyID: "CW1", Status: AccessKeyStatusActive, Expiry: exp}},
		{"old spelling", `{"accessKeyID":"CW1","status":"ACTIVE"}`,
			AccessKeyInfo{AccessKeyID: "CW1", Status: AccessKeyStatusActive}},
		{"snake case", `{"access_key_id":"CW1","org_id":"o","principal_name":"p"}`,
			AccessKeyInfo{AccessKeyID: "CW1", OrgID: "o", PrincipalName: "p", Status: AccessKeyStatusUnspecified}},
		{"both spellings: exact wins", `{"accessKeyID":"OLD","accessKeyId":"NEW"}`,
			AccessKeyInfo{AccessKeyID: "NEW", Status: AccessKeyStatusUnspecified}},
		{"short suspended", `{"accessKeyId":"CW1","status":"SUSPENDED"}`,
			AccessKeyInfo{AccessKeyID: "CW1", Status: AccessKeyStatusSuspended}},
		{"unspecified short", `{"accessKeyId":"CW1","status":"UNSPECIFIED"}`,
			AccessKeyInfo{AccessKeyID: "CW1", Status: AccessKeyStatusUnspecified}},
		{"invalid is unspecified", `{"accessKeyId":"CW1","status":"ACCESS_KEY_STATUS_INVALID"}`,
			AccessKeyInfo{AccessKeyID: "CW1", Status: AccessKeyStatusUnspecified}},
		{"numeric 1", `{"accessKeyId":"CW1","status":1}`,
			AccessKeyInfo{AccessKeyID: "CW1", Status: AccessKeyStatusActive}},
		{"numeric 2", `{"accessKeyId":"CW1","status":2}`,
			AccessKeyInfo{AccessKeyID: "CW1", Status: AccessKeyStatusSuspended}},
		{"unknown status kept", `{"accessKeyId":"CW1","status":"ACCESS_KEY_STATUS_REVOKED"}`,
			AccessKeyInfo{AccessKeyID: "CW1", Status: "ACCESS_KEY_STATUS_REVOKED"}},
		{"multi attributes wrapped", `{"accessKeyId":"CW1","multiAttributes":{"groups":{"values":["a","b"]},"none":{}}}`,
			AccessKeyInfo{AccessKeyID: "CW1", Status: AccessKeyStatusUnspecified, MultiAttributes: map[string][]string{"groups": {"a", "b"}, "none": {}}}},
		{"multi attributes bare", `{"accessKeyId":"CW1","multiAttributes":{"groups":["a"],"one":"x"}}`,
			AccessKeyInfo{AccessKeyID: "CW1", Status: AccessKeyStatusUnspecified, MultiAttributes: map[string][]string{"groups": {"a"}, "one": {"x"}}}},
		{"fractional expiry", `{"accessKeyId":"CW1","expiry":"2025-03-04T05:06:07.123456789Z"}`,
			AccessKeyInfo{AccessKeyID: "CW1", Status: AccessKeyStatusUnspecified, Expiry: exp.Add(123456789)}},
		{"offset expiry", `{"accessKeyId":"CW1","expiry":"2025-03-04T07:06:07+02:00"}`,
			AccessKeyInfo{AccessKeyID: "CW1", Status: AccessKeyStatusUnspecified, Expiry: exp}},
		{"nulls and unknown fields", `{"accessKeyId":"CW1","attributes":null,"expiry":null,"newField":{"x":[1]}}`,
			AccessKeyInfo{AccessKeyID: "CW1", Status: AccessKeyStatusUnspecified}},
		{"attributes", `{"accessKeyId":"CW1","attributes":{"team":"ml","gone":null}}`,
			AccessKeyInfo{AccessKeyID: "CW1", Status: AccessKeyStatusUnspecified, Attributes: map[string]string{"team": "ml"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got AccessKeyInfo
			if err := json.Unmarshal([]byte(tc.in), &got); err != nil {
				t.Fatal(err)
			}
			if !got.Expiry.Equal(tc.want.Expiry) {
				t.Fatalf("expiry %v, want %v", got.Expiry, tc.want.Expiry)
			}
			got.Expiry, tc.want.Expiry = time.Time{}, time.Time{}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestDecodeNumbersAsStringsOrNumbers(t *testing.T) {
	for _, in := range []string{
		`{"name":"b","usage":[{"value":"18446744073709551615"}],"settings":{"capacityCapBytes":"1024","archiveAfterLastAccessDays":"60","auditLoggingEnabled":"true"}}`,
		`{"name":"b","usage":[{"value":18446744073709551615}],"settings":{"capacityCapBytes":1024,"archiveAfterLastAccessDays":60,"auditLoggingEnabled":{"value":true}}}`,
		`{"name":"b","usage":{"value":"18446744073709551615"},"settings":{"capacityCapBytes":{"value":"1024"},"archiveAfterLastAccessDays":60,"auditLoggingEnabled":true}}`,
	} {
		var b BucketInfo
		if err := json.Unmarshal([]byte(in), &b); err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if len(b.Usage) != 1 || b.Usage[0].Value != 1<<64-1 || *b.Settings.CapacityCapBytes != 1024 ||
			*b.Settings.ArchiveAfterLastAccessDays != 60 || !*b.Settings.AuditLoggingEnabled {
			t.Fatalf("%s: got %+v", in, b)
		}
	}
	for _, in := range []string{
		`{"usage":[{"value":"-1"}]}`,
		`{"usage":[{"value":1.5}]}`,
		`{"settings":{"capacityCapBytes":"18446744073709551616"}}`,
		`{"settings":{"archiveAfterLastAccessDays":"ninety"}}`,
		`{"settings":{"auditLoggingEnabled":"maybe"}}`,
	} {
		var b BucketInfo
		if err := json.Unmarshal([]byte(in), &b); err == nil {
			t.Errorf("%s: accepted", in)
		}
	}
}

func TestDecodeAccessKeyAndContainerCredentials(t *testing.T) {
	var k AccessKey
	in := `{"accessKeyID":"CW1","secretKey":"` + testSecretKey + `","expiry":"1970-01-01T00:00:00Z"}`
	if err := json.Unmarshal([]byte(in), &k); err != nil {
		t.Fatal(err)
	}
	if k.AccessKeyID != "CW1" || !k.IsPermanent() || !k.Expiry.Equal(PermanentExpiry) {
		t.Fatalf("%+v", k)
	}
	for _, in := range []string{
		`{"AccessKeyId":"CW1","SecretAccessKey":"s","Token":"","Expiration":"2025-01-01T00:15:00Z"}`,
		`{"AccessKeyId":"CW1","SecretAccessKey":"s","Expiration":"2025-01-01T00:15:00.000Z"}`,
		`{"accessKeyId":"CW1","SecretAccessKey":"s","Token":null,"Expiration":"2025-01-01T00:15:00Z","Code":"Success"}`,
	} {
		var c ContainerCredentials
		if err := json.Unmarshal([]byte(in), &c); err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if c.AccessKeyID != "CW1" || c.SecretAccessKey != "s" || c.Token != "" || c.Expiration.IsZero() || c.check() != nil {
			t.Fatalf("%s: %+v", in, c)
		}
	}
}

func TestDecodeStatus(t *testing.T) {
	for in, want := range map[string]RPCStatus{
		`{"code":7,"message":"no","details":[]}`:      {Code: 7, Message: "no", Details: []any{}},
		`{"code":"7","message":"no"}`:                 {Code: 7, Message: "no"},
		`{"code":"PERMISSION_DENIED","message":"no"}`: {Code: 7, Message: "no"},
		`{"code":"CANCELLED"}`:                        {Code: CodeCanceled},
		`{"error":"gone","code":5}`:                   {Code: 5, Message: "gone"},
		`{"code":3,"details":"not a list"}`:           {Code: 3},
	} {
		var got RPCStatus
		if err := json.Unmarshal([]byte(in), &got); err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %+v, want %+v", in, got, want)
		}
	}
	var s RPCStatus
	if err := json.Unmarshal([]byte(`{"code":true}`), &s); err == nil {
		t.Error("boolean code accepted")
	}
}

func TestDecodeErrorsNeverQuoteInput(t *testing.T) {
	for _, in := range []string{
		`{"accessKeyId":` + `"` + testSecretKey + `",`,
		`{"accessKeyId":{"` + testSecretKey + `":1}}`,
		`{"expiry":"` + testSecretKey + `"}`,
		`{"status":{"x":"` + testSecretKey + `"}}`,
		`{"attributes":{"k":["` + testSecretKey + `"]}}`,
		`{"multiAttributes":{"k":{"values":{"` + testSecretKey + `":1}}}}`,
		`["` + testSecretKey + `"]`,
		testSecretKey,
		`{"accessKeyId":12345678901234567890123}`,
	} {
		var i AccessKeyInfo
		err := json.Unmarshal([]byte(in), &i)
		if err == nil {
			t.Fatalf("%s: accepted", in)
		}
		assertNoSecrets(t, "decode error", err.Error())
		if strings.Contains(err.Error(), "12345678901234567890123") {
			t.Fatalf("number quoted: %v", err)
		}
	}
}

func TestDecodedPoliciesKeepUnknownTermsAndWarn(t *testing.T) {
	env := newEnv(t, always(200, `{"policies":[{"version":"v2","name":"p","statements":[{"name":"s","effect":"Audit","actions":["x"],"resources":["*"],"principals":["*"]}]}]}`))
	ps, err := env.client.ListAccessPolicies(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if ps[0].Version != "v2" || ps[0].Statements[0].Effect != "Audit" {
		t.Fatalf("%+v", ps)
	}
	warns := env.logs.FilterLevelExact(zapcore.WarnLevel).All()
	if len(warns) != 2 {
		t.Fatalf("%d warnings, want 2: %v", len(warns), warns)
	}
}

func TestUnknownKeyStatusWarns(t *testing.T) {
	env := newEnv(t, always(200, `{"info":{"accessKeyId":"CW1","status":"ACCESS_KEY_STATUS_REVOKED"}}`))
	info, err := env.client.GetAccessKeyInfo(context.Background(), "CW1")
	if err != nil {
		t.Fatal(err)
	}
	if info.Status != "ACCESS_KEY_STATUS_REVOKED" {
		t.Fatalf("status %q", info.Status)
	}
	w := env.logs.FilterMessageSnippet("unknown access key status").All()
	if len(w) != 1 || w[0].ContextMap()["status"] != "ACCESS_KEY_STATUS_REVOKED" {
		t.Fatalf("warnings %v", w)
	}
}

func TestAuthCanIMissingVerdictIsFalse(t *testing.T) {
	env := newEnv(t, always(200, `{}`))
	ok, err := env.client.AuthCanI(context.Background(), AuthCanIRequest{Actions: []string{"a"}, Resources: []string{"*"}})
	if err != nil || ok {
		t.Fatalf("ok %v err %v", ok, err)
	}
}

func TestParseAccessKeyStatus(t *testing.T) {
	for in, want := range map[string]AccessKeyStatus{
		"active": AccessKeyStatusActive, " ACCESS_KEY_STATUS_ACTIVE ": AccessKeyStatusActive, "1": AccessKeyStatusActive,
		"Suspended": AccessKeyStatusSuspended, "2": AccessKeyStatusSuspended,
		"": AccessKeyStatusUnspecified, "INVALID": AccessKeyStatusUnspecified, "0": AccessKeyStatusUnspecified,
	} {
		if got, ok := ParseAccessKeyStatus(in); !ok || got != want {
			t.Errorf("ParseAccessKeyStatus(%q) = %q, %v", in, got, ok)
		}
	}
	if got, ok := ParseAccessKeyStatus("3"); ok || got != "3" {
		t.Errorf("3 -> %q %v", got, ok)
	}
}
