package cwobject

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
)

func TestValidation(t *testing.T) {
	good := PolicyStatement{Name: "s", Effect: EffectAllow, Actions: []string{"s3:*"}, Resources: []string{"*"}, Principals: []string{"*"}}
	withStatement := func(f func(*PolicyStatement)) Policy {
		s := good
		f(&s)
		return Policy{Name: "p", Statements: []PolicyStatement{s}}
	}
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		call   func(c *Client) error
		field  string
		reason string
	}{
		{"can-i without actions", func(c *Client) error {
			_, err := c.AuthCanI(ctx, AuthCanIRequest{Resources: []string{"*"}})
			return err
		}, "actions", "at least one"},
		{"can-i without resources", func(c *Client) error {
			_, err := c.AuthCanI(ctx, AuthCanIRequest{Actions: []string{"a"}})
			return err
		}, "resources", "at least one"},
		{"can-i blank action", func(c *Client) error {
			_, err := c.AuthCanI(ctx, AuthCanIRequest{Actions: []string{"a", " "}, Resources: []string{"*"}})
			return err
		}, "actions[1]", "empty"},
		{"jwt negative duration", func(c *Client) error {
			_, err := c.CreateAccessKeyFromJWT(ctx, CreateAccessKeyFromJWTRequest{DurationSeconds: -1})
			return err
		}, "durationSeconds", "between 0 and 43200"},
		{"jwt duration too long", func(c *Client) error {
			_, err := c.CreateAccessKeyFromJWT(ctx, CreateAccessKeyFromJWTRequest{DurationSeconds: 43201})
			return err
		}, "durationSeconds", "got 43201"},
		{"jwt empty attribute key", func(c *Client) error {
			_, err := c.CreateAccessKeyFromJWT(ctx, CreateAccessKeyFromJWTRequest{Attributes: map[string]string{"": "v"}})
			return err
		}, "attributes", "empty key"},
		{"list keys limit too big", func(c *Client) error {
			_, err := c.ListAccessKeyInfo(ctx, ListAccessKeyInfoRequest{Limit: 1001})
			return err
		}, "limit", "between 1 and 1000 (0 means 1000)"},
		{"list keys negative limit", func(c *Client) error {
			_, err := c.ListAccessKeyInfo(ctx, ListAccessKeyInfoRequest{Limit: -5})
			return err
		}, "limit", "got -5"},
		{"list keys negative offset", func(c *Client) error {
			_, err := c.ListAccessKeyInfo(ctx, ListAccessKeyInfoRequest{Offset: -1})
			return err
		}, "offset", "negative"},
		{"list keys unknown status", func(c *Client) error {
			_, err := c.ListAccessKeyInfo(ctx, ListAccessKeyInfoRequest{Status: "REVOKED"})
			return err
		}, "status", `got "REVOKED"`},
		{"list buckets limit", func(c *Client) error {
			_, err := c.ListBucketInfo(ctx, ListBucketInfoRequest{Limit: 2000})
			return err
		}, "limit", "between"},
		{"list buckets offset", func(c *Client) error {
			_, err := c.ListBucketInfo(ctx, ListBucketInfoRequest{Offset: -3})
			return err
		}, "offset", "negative"},
		{"get key without id", func(c *Client) error { _, err := c.GetAccessKeyInfo(ctx, ""); return err }, "accessKeyId", "required"},
		{"get key dot-dot", func(c *Client) error { _, err := c.GetAccessKeyInfo(ctx, ".."); return err }, "accessKeyId", ". or .."},
		{"update status unspecified", func(c *Client) error {
			return c.UpdateAccessKeyStatus(ctx, UpdateAccessKeyStatusRequest{PrincipalName: "p", Status: AccessKeyStatusUnspecified})
		}, "status", "rejects UNSPECIFIED"},
		{"update status empty", func(c *Client) error {
			return c.UpdateAccessKeyStatus(ctx, UpdateAccessKeyStatusRequest{PrincipalName: "p"})
		}, "status", "ACTIVE or SUSPENDED"},
		{"update status unknown", func(c *Client) error {
			return c.UpdateAccessKeyStatus(ctx, UpdateAccessKeyStatusRequest{PrincipalName: "p", Status: "DELETED"})
		}, "status", "ACTIVE or SUSPENDED"},
		{"update status no principal", func(c *Client) error {
			return c.UpdateAccessKeyStatus(ctx, UpdateAccessKeyStatusRequest{Status: AccessKeyStatusActive})
		}, "principalName", "required"},
		{"policy without name", func(c *Client) error {
			return c.EnsureAccessPolicy(ctx, Policy{Statements: []PolicyStatement{good}})
		}, "policy.name", "required"},
		{"policy without statements", func(c *Client) error { return c.EnsureAccessPolicy(ctx, Policy{Name: "p"}) },
			"policy.statements", "at least one"},
		{"policy bad version", func(c *Client) error {
			return c.EnsureAccessPolicy(ctx, Policy{Version: "v2", Name: "p", Statements: []PolicyStatement{good}})
		}, "policy.version", "must be v1alpha1"},
		{"policy lower-case effect", func(c *Client) error {
			return c.EnsureAccessPolicy(ctx, withStatement(func(s *PolicyStatement) { s.Effect = "allow" }))
		}, "policy.statements[0].effect", "case-sensitive"},
		{"policy no actions", func(c *Client) error {
			return c.EnsureAccessPolicy(ctx, withStatement(func(s *PolicyStatement) { s.Actions = nil }))
		}, "policy.statements[0].actions", "at least one"},
		{"policy no resources", func(c *Client) error {
			return c.EnsureAccessPolicy(ctx, withStatement(func(s *PolicyStatement) { s.Resources = nil }))
		}, "policy.statements[0].resources", "at least one"},
		{"policy no principals", func(c *Client) error {
			return c.EnsureAccessPolicy(ctx, withStatement(func(s *PolicyStatement) { s.Principals = []string{} }))
		}, "policy.statements[0].principals", "at least one"},
		{"policy statement without name", func(c *Client) error {
			return c.EnsureAccessPolicy(ctx, withStatement(func(s *PolicyStatement) { s.Name = "" }))
		}, "policy.statements[0].name", "required"},
		{"delete policy without name", func(c *Client) error { return c.DeleteAccessPolicy(ctx, "") }, "name", "required"},
		{"bucket settings without bucket", func(c *Client) error {
			_, err := c.SetBucketSettings(ctx, SetBucketSettingsRequest{})
			return err
		}, "bucketName", "required"},
		{"get bucket without name", func(c *Client) error { _, err := c.GetBucketInfo(ctx, ""); return err }, "bucketName", "required"},
		{"revoke by key without id", func(c *Client) error { return c.RevokeAccessKeyByAccessKey(ctx, "") }, "accessKey", "required"},
		{"revoke by key with a secret key", func(c *Client) error { return c.RevokeAccessKeyByAccessKey(ctx, testSecretKey) },
			"accessKey", "looks like a secret key"},
		{"revoke by principal without principal", func(c *Client) error { return c.RevokeAccessKeysByPrincipal(ctx, " ") },
			"principalName", "required"},
		{"saml without org", func(c *Client) error {
			_, err := c.CreateAccessKeyFromSAML(ctx, CreateAccessKeyFromSAMLRequest{SAMLResponse: testSAML, ConfigID: "c"})
			return err
		}, "orgId", "required"},
		{"saml without response", func(c *Client) error {
			_, err := c.CreateAccessKeyFromSAML(ctx, CreateAccessKeyFromSAMLRequest{OrgID: "o", ConfigID: "c"})
			return err
		}, "samlResponse", "required"},
		{"saml without config", func(c *Client) error {
			_, err := c.CreateAccessKeyFromSAML(ctx, CreateAccessKeyFromSAMLRequest{OrgID: "o", SAMLResponse: testSAML})
			return err
		}, "configId", "required"},
		{"saml duration", func(c *Client) error {
			_, err := c.CreateAccessKeyFromSAML(ctx, CreateAccessKeyFromSAMLRequest{OrgID: "o", SAMLResponse: testSAML, ConfigID: "c", DurationSeconds: 50000})
			return err
		}, "durationSeconds", "12 h"},
		{"oidc without token", func(c *Client) error {
			_, err := c.CreateAccessKeyFromOIDC(ctx, CreateAccessKeyFromOIDCRequest{OrgID: "o"})
			return err
		}, "oidcToken", "required"},
		{"oidc without org", func(c *Client) error {
			_, err := c.CreateAccessKeyFromOIDC(ctx, CreateAccessKeyFromOIDCRequest{OIDCToken: testOIDCToken})
			return err
		}, "orgId", "required"},
		{"oidc duration", func(c *Client) error {
			_, err := c.CreateAccessKeyFromOIDC(ctx, CreateAccessKeyFromOIDCRequest{OrgID: "o", OIDCToken: testOIDCToken, DurationSeconds: -60})
			return err
		}, "durationSeconds", "between"},
		{"container creds without org", func(c *Client) error {
			_, err := c.CreateAccessKeyFromContainerCreds(ctx, "", testJWT)
			return err
		}, "orgId", "required"},
		{"container creds without jwt", func(c *Client) error {
			_, err := c.CreateAccessKeyFromContainerCreds(ctx, "o", "")
			return err
		}, "jwt", "not set"},
		{"nil context", func(c *Client) error {
			_, err := c.ListAccessPolicies(nilContext())
			return err
		}, "ctx", "nil"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
				t.Error("a request was sent")
				w.WriteHeader(500)
			})
			err := tc.call(env.client)
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("err = %v, want ValidationError", err)
			}
			if ve.Field != tc.field || !strings.Contains(ve.Reason, tc.reason) {
				t.Fatalf("got field %q reason %q; want %q containing %q", ve.Field, ve.Reason, tc.field, tc.reason)
			}
			if !IsUnrecoverable(err) || IsRetryable(err) || CodeOf(err) != CodeInvalidArgument {
				t.Fatal("validation errors are unrecoverable InvalidArgument")
			}
			if !strings.HasPrefix(err.Error(), "cwobject: ") || strings.ContainsAny(err.Error(), "\n") {
				t.Fatalf("badly formed: %q", err.Error())
			}
			assertNoSecrets(t, "error", err.Error())
		})
	}
}

func nilContext() context.Context { return nil }

func TestValidationAccepts(t *testing.T) {
	ctx := context.Background()
	env := newEnv(t, always(200, `{}`))
	// Boundaries and the documented defaults.
	for _, d := range []int64{0, MaxDurationSeconds} {
		if _, err := env.client.CreateAccessKeyFromOIDC(ctx, CreateAccessKeyFromOIDCRequest{OrgID: "o", OIDCToken: "t0k3n-value", DurationSeconds: d}); errors.As(err, new(*ValidationError)) {
			t.Errorf("duration %d refused: %v", d, err)
		}
	}
	for _, st := range []AccessKeyStatus{"", AccessKeyStatusUnspecified, "ACTIVE", "suspended", AccessKeyStatusSuspended} {
		if _, err := env.client.ListAccessKeyInfo(ctx, ListAccessKeyInfoRequest{Status: st, Limit: 1}); err != nil {
			t.Errorf("status %q refused: %v", st, err)
		}
	}
	reqs := env.api.requests()
	for _, r := range reqs[2:4] {
		if strings.Contains(r.Query, "status") {
			t.Errorf("unspecified status sent as a filter: %q", r.Query)
		}
	}
	if q := reqs[len(reqs)-1].Query; q != "limit=1&offset=0&status=ACCESS_KEY_STATUS_SUSPENDED" {
		t.Errorf("query %q", q)
	}
}
