package cwobject

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"testing"
	"time"
)

func ptr[T any](v T) *T { return &v }

type opCase struct {
	op     Operation
	call   func(ctx context.Context, c *Client) (any, error)
	path   string // escaped
	query  string
	auth   string // exact Authorization value; "" means the header must be absent
	body   string // expected JSON body; "" means no body
	answer string
	want   any
}

func operationCases() []opCase {
	expiry := time.Date(2025, 1, 1, 1, 0, 0, 123456000, time.UTC)
	keyJSON := `{"accessKeyId":"` + testKeyID + `","secretKey":"` + testSecretKey + `","principalName":"coreweave/u1","expiry":"2025-01-01T01:00:00.123456Z"}`
	key := &AccessKey{AccessKeyID: testKeyID, SecretKey: testSecretKey, PrincipalName: "coreweave/u1", Expiry: expiry}
	credsJSON := `{"AccessKeyId":"` + testKeyID + `","SecretAccessKey":"` + testSecretKey + `","Token":"","Expiration":"2025-01-01T01:00:00.123456Z"}`
	creds := &ContainerCredentials{AccessKeyID: testKeyID, SecretAccessKey: testSecretKey, Expiration: expiry}
	info := AccessKeyInfo{AccessKeyID: testKeyID, Status: AccessKeyStatusActive, PrincipalName: "coreweave/u1", OrgID: "ab1cd2", Expiry: expiry}
	infoJSON := `{"accessKeyId":"` + testKeyID + `","status":"ACCESS_KEY_STATUS_ACTIVE","principalName":"coreweave/u1","orgId":"ab1cd2","expiry":"2025-01-01T01:00:00.123456Z"}`
	policy := Policy{Version: PolicyVersion, Name: "read", Statements: []PolicyStatement{{
		Name: "s1", Effect: EffectAllow, Actions: []string{"s3:GetObject"}, Resources: []string{"*"}, Principals: []string{"coreweave/u1"}}}}
	policyJSON := `{"version":"v1alpha1","name":"read","statements":[{"name":"s1","effect":"Allow","actions":["s3:GetObject"],"resources":["*"],"principals":["coreweave/u1"]}]}`
	bucket := BucketInfo{OrgID: "ab1cd2", Name: "my-bucket", Location: "US-EAST-04A",
		CreationTime: time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC),
		Settings:     BucketSettings{AuditLoggingEnabled: ptr(true)},
		Usage:        []BucketUsage{{MeasurementType: "bytes", Value: 1 << 40, ValueHumanReadable: "1 TiB"}}}
	bucketJSON := `{"orgId":"ab1cd2","name":"my-bucket","location":"US-EAST-04A","creationTime":"2024-05-01T00:00:00Z","settings":{"auditLoggingEnabled":true},"usage":[{"measurementType":"bytes","value":"1099511627776","valueHumanReadable":"1 TiB"}]}`
	bearer := "Bearer " + testToken

	return []opCase{
		{op: OpAuthCanI, auth: bearer, path: "/v1/cwobject/auth/can-i",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.AuthCanI(ctx, AuthCanIRequest{Actions: []string{"cwobject:ListAccessKeyInfo"}, Resources: []string{"*"}})
			},
			body: `{"actions":["cwobject:ListAccessKeyInfo"],"resources":["*"]}`, answer: `{"verdict":true}`, want: true},
		{op: OpCreateAccessKeyFromJWT, auth: bearer, path: "/v1/cwobject/access-key",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.CreateAccessKeyFromJWT(ctx, CreateAccessKeyFromJWTRequest{DurationSeconds: 3600, Attributes: map[string]string{"team": "ml"}})
			},
			body: `{"durationSeconds":"3600","attributes":{"team":"ml"}}`, answer: keyJSON, want: key},
		{op: OpListAccessKeyInfo, auth: bearer, path: "/v1/cwobject/access-key", query: "limit=50&offset=10&status=ACCESS_KEY_STATUS_ACTIVE",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.ListAccessKeyInfo(ctx, ListAccessKeyInfoRequest{Offset: 10, Limit: 50, Status: "active"})
			},
			answer: `{"info":[` + infoJSON + `]}`, want: []AccessKeyInfo{info}},
		{op: OpGetAccessKeyInfo, auth: bearer, path: "/v1/cwobject/access-key/" + testKeyID,
			call:   func(ctx context.Context, c *Client) (any, error) { return c.GetAccessKeyInfo(ctx, testKeyID) },
			answer: `{"info":` + infoJSON + `}`, want: &info},
		{op: OpUpdateAccessKeyStatus, auth: bearer, path: "/v1/cwobject/access-key-status",
			call: func(ctx context.Context, c *Client) (any, error) {
				return nil, c.UpdateAccessKeyStatus(ctx, UpdateAccessKeyStatusRequest{PrincipalName: "coreweave/u1", Status: "SUSPENDED"})
			},
			body: `{"principalName":"coreweave/u1","status":"ACCESS_KEY_STATUS_SUSPENDED"}`, answer: `{}`},
		{op: OpListAccessPolicies, auth: bearer, path: "/v1/cwobject/access-policy",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.ListAccessPolicies(ctx) },
			answer: `{"policies":[` + policyJSON + `]}`, want: []Policy{policy}},
		{op: OpEnsureAccessPolicy, auth: bearer, path: "/v1/cwobject/access-policy",
			call: func(ctx context.Context, c *Client) (any, error) {
				p := policy
				p.Version = "" // defaults to v1alpha1
				return nil, c.EnsureAccessPolicy(ctx, p)
			},
			body: `{"policy":` + policyJSON + `}`, answer: `{}`},
		{op: OpDeleteAccessPolicy, auth: bearer, path: "/v1/cwobject/access-policy/team%2Fa%20b",
			call:   func(ctx context.Context, c *Client) (any, error) { return nil, c.DeleteAccessPolicy(ctx, "team/a b") },
			answer: `{}`},
		{op: OpSetBucketSettings, auth: bearer, path: "/v1/cwobject/bucket/settings",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.SetBucketSettings(ctx, SetBucketSettingsRequest{BucketName: "my-bucket",
					Settings: BucketSettings{AuditLoggingEnabled: ptr(true), ArchiveAfterLastAccessDays: ptr(int64(90))}})
			},
			body:   `{"bucketName":"my-bucket","settings":{"auditLoggingEnabled":true,"archiveAfterLastAccessDays":"90"}}`,
			answer: `{"settings":{"auditLoggingEnabled":true,"archiveAfterLastAccessDays":90}}`,
			want:   &BucketSettings{AuditLoggingEnabled: ptr(true), ArchiveAfterLastAccessDays: ptr(int64(90))}},
		{op: OpListBucketInfo, auth: bearer, path: "/v1/cwobject/bucket-info", query: "limit=1000&offset=0",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.ListBucketInfo(ctx, ListBucketInfoRequest{})
			},
			answer: `{"info":[` + bucketJSON + `]}`, want: []BucketInfo{bucket}},
		{op: OpGetBucketInfo, auth: bearer, path: "/v1/cwobject/bucket-info/my-bucket",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.GetBucketInfo(ctx, "my-bucket") },
			answer: `{"info":` + bucketJSON + `}`, want: &bucket},
		{op: OpSetOrganizationSettings, auth: bearer, path: "/v1/cwobject/organization/settings",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.SetOrganizationSettings(ctx, OrganizationSettings{ControlPlaneAuditLoggingEnabled: ptr(true)})
			},
			body:   `{"settings":{"controlPlaneAuditLoggingEnabled":true}}`,
			answer: `{"settings":{"controlPlaneAuditLoggingEnabled":true,"bucketAuditLoggingEnabled":false}}`,
			want:   &OrganizationSettings{ControlPlaneAuditLoggingEnabled: ptr(true), BucketAuditLoggingEnabled: ptr(false)}},
		{op: OpRevokeAccessKeyByAccessKey, auth: bearer, path: "/v1/cwobject/revoke-access-key/access-key",
			call: func(ctx context.Context, c *Client) (any, error) {
				return nil, c.RevokeAccessKeyByAccessKey(ctx, testKeyID)
			},
			body: `{"accessKey":"` + testKeyID + `"}`, answer: `{}`},
		{op: OpRevokeAccessKeysByPrincipal, auth: bearer, path: "/v1/cwobject/revoke-access-key/principal",
			call: func(ctx context.Context, c *Client) (any, error) {
				return nil, c.RevokeAccessKeysByPrincipal(ctx, "role/https://idp.example:alice")
			},
			body: `{"principalName":"role/https://idp.example:alice"}`, answer: `{}`},
		{op: OpCreateAccessKeyFromSAML, path: "/v1/cwobject/temporary-credentials/saml",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.CreateAccessKeyFromSAML(ctx, CreateAccessKeyFromSAMLRequest{DurationSeconds: 3600, OrgID: "ab1cd2", SAMLResponse: testSAML, ConfigID: "cfg-1"})
			},
			body:   `{"durationSeconds":"3600","orgId":"ab1cd2","samlResponse":"` + testSAML + `","configId":"cfg-1"}`,
			answer: keyJSON, want: key},
		{op: OpCreateAccessKeyFromOIDC, path: "/v1/cwobject/temporary-credentials/oidc",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.CreateAccessKeyFromOIDC(ctx, CreateAccessKeyFromOIDCRequest{OrgID: "ab1cd2", OIDCToken: testOIDCToken})
			},
			body:   `{"durationSeconds":"0","orgId":"ab1cd2","oidcToken":"` + testOIDCToken + `"}`,
			answer: keyJSON, want: key},
		{op: OpCreateAccessKeyFromContainerCreds, auth: testJWT, path: "/v1/cwobject/temporary-credentials/oidc/ab1cd2",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.CreateAccessKeyFromContainerCreds(ctx, "ab1cd2", testJWT)
			},
			answer: credsJSON, want: creds},
		{op: OpCreateAccessKeyFromApiToken, auth: bearer, path: "/v1/cwobject/temporary-credentials/api-token",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.CreateAccessKeyFromApiToken(ctx) },
			answer: credsJSON, want: creds},
	}
}

func TestEveryOperationIsCovered(t *testing.T) {
	cases := operationCases()
	if len(cases) != len(Operations) {
		t.Fatalf("%d cases for %d operations", len(cases), len(Operations))
	}
	for i, op := range Operations {
		if cases[i].op.Name != op.Name {
			t.Fatalf("case %d is %s, want %s", i, cases[i].op.Name, op.Name)
		}
	}
}

func TestOperationsOnTheWire(t *testing.T) {
	for _, tc := range operationCases() {
		t.Run(tc.op.Name, func(t *testing.T) {
			env := newEnv(t, always(200, tc.answer))
			got, err := tc.call(context.Background(), env.client)
			if err != nil {
				t.Fatalf("call: %v", err)
			}
			if tc.want != nil && !reflect.DeepEqual(got, tc.want) {
				t.Errorf("result = %+v, want %+v", got, tc.want)
			}
			reqs := env.api.requests()
			if len(reqs) != 1 {
				t.Fatalf("%d requests, want 1", len(reqs))
			}
			r := reqs[0]
			if r.Method != tc.op.Method || r.Path != tc.path || r.Query != tc.query {
				t.Errorf("sent %s %s?%s, want %s %s?%s", r.Method, r.Path, r.Query, tc.op.Method, tc.path, tc.query)
			}
			if got := r.Header.Values("Authorization"); tc.auth == "" && len(got) != 0 || tc.auth != "" && (len(got) != 1 || got[0] != tc.auth) {
				t.Errorf("Authorization = %q, want %q", got, tc.auth)
			}
			if r.Header.Get("Accept") != "application/json" || r.Header.Get("User-Agent") != "cwcreds/test" {
				t.Errorf("Accept %q, User-Agent %q", r.Header.Get("Accept"), r.Header.Get("User-Agent"))
			}
			if tc.body == "" {
				if len(r.Body) != 0 || r.Header.Get("Content-Type") != "" {
					t.Errorf("unexpected body %q (Content-Type %q)", r.Body, r.Header.Get("Content-Type"))
				}
				return
			}
			if r.Header.Get("Content-Type") != "application/json" {
				t.Errorf("Content-Type = %q", r.Header.Get("Content-Type"))
			}
			var gotBody, wantBody any
			if err := json.Unmarshal(r.Body, &gotBody); err != nil {
				t.Fatalf("body is not JSON: %v", err)
			}
			if err := json.Unmarshal([]byte(tc.body), &wantBody); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(gotBody, wantBody) {
				t.Errorf("body = %s, want %s", r.Body, tc.body)
			}
		})
	}
}

func TestAuthNoneSendsNoTokenEvenWhenSet(t *testing.T) {
	env := newEnv(t, always(200, `{"accessKeyId":"CW1","secretKey":"s"}`))
	if _, err := env.client.CreateAccessKeyFromOIDC(context.Background(), CreateAccessKeyFromOIDCRequest{OrgID: "o", OIDCToken: testOIDCToken}); err != nil {
		t.Fatal(err)
	}
	if h := env.api.requests()[0].Header; h.Get("Authorization") != "" {
		t.Fatalf("Authorization sent on an AuthNone operation")
	}
}

func TestBearerRequiresToken(t *testing.T) {
	env := newEnv(t, always(200, `{}`), func(c *Config) { c.Token = "" })
	_, err := env.client.ListAccessPolicies(context.Background())
	var ve *ValidationError
	if !errors.As(err, &ve) || ve.Field != "token" {
		t.Fatalf("err = %v, want a token ValidationError", err)
	}
	if env.api.count() != 0 {
		t.Fatal("request sent without a token")
	}
	// WithToken fixes it on a copy and leaves the original alone.
	if _, err := env.client.WithToken("  " + testToken + "\n").ListAccessPolicies(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := env.api.requests()[0].Header.Get("Authorization"); got != "Bearer "+testToken {
		t.Fatalf("Authorization = %q", got)
	}
	if _, err := env.client.ListAccessPolicies(context.Background()); !errors.As(err, &ve) {
		t.Fatalf("original client changed: %v", err)
	}
}

func TestCredentialWithInnerLineBreakIsRefused(t *testing.T) {
	env := newEnv(t, always(200, `{}`), func(c *Config) { c.Token = "CW-SECRET-abc\ndef" })
	_, err := env.client.ListAccessPolicies(context.Background())
	var ve *ValidationError
	if !errors.As(err, &ve) || env.api.count() != 0 {
		t.Fatalf("err = %v, requests %d", err, env.api.count())
	}
	assertNoSecrets(t, "error", err.Error())
	_, err = env.client.CreateAccessKeyFromContainerCreds(context.Background(), "org", "eyJ a.b")
	if !errors.As(err, &ve) || ve.Field != "jwt" {
		t.Fatalf("err = %v", err)
	}
}

func TestBaseURLPathPrefixIsKept(t *testing.T) {
	api := newFakeAPI(t, always(200, `{"policies":[]}`))
	c, err := New(Config{BaseURL: api.srv.URL + "/prefix/", Token: testToken})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListAccessPolicies(context.Background()); err != nil {
		t.Fatal(err)
	}
	if p := api.requests()[0].Path; p != "/prefix/v1/cwobject/access-policy" {
		t.Fatalf("path = %q", p)
	}
}

func TestNewValidatesConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"relative", Config{BaseURL: "api.coreweave.com"}},
		{"ftp", Config{BaseURL: "ftp://api.coreweave.com"}},
		{"no host", Config{BaseURL: "https://"}},
		{"userinfo", Config{BaseURL: "https://user:" + testToken + "@api.coreweave.com"}},
		{"query", Config{BaseURL: "https://api.coreweave.com?x=1"}},
		{"garbage", Config{BaseURL: "://\x7f"}},
		{"negative timeout", Config{RequestTimeout: -time.Second}},
		{"negative attempts", Config{Retry: RetryPolicy{MaxAttempts: -1}}},
		{"user agent newline", Config{UserAgent: "cwcreds/1\r\nX-Evil: 1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg)
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("err = %v, want ValidationError", err)
			}
			assertNoSecrets(t, "error", err.Error())
		})
	}
	c, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	if c.base != DefaultBaseURL || c.userAgent != DefaultUserAgent || c.requestTimeout != DefaultRequestTimeout ||
		c.retryPolicy != DefaultRetryPolicy() {
		t.Fatalf("defaults not applied: %+v", c)
	}
}

func TestPerAttemptTimeout(t *testing.T) {
	release := make(chan struct{})
	env := newEnv(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}, func(c *Config) {
		c.RequestTimeout = 20 * time.Millisecond
		c.Retry.MaxAttempts = 1
	})
	defer close(release)
	_, err := env.client.GetBucketInfo(context.Background(), "b")
	var te *TransportError
	if !errors.As(err, &te) || !te.Timeout || te.Dial {
		t.Fatalf("err = %v, want a timeout TransportError", err)
	}
	if CodeOf(err) != CodeDeadlineExceeded || !IsRetryable(err) {
		t.Fatalf("code %v retryable %v", CodeOf(err), IsRetryable(err))
	}
}
