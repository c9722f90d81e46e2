package emulator

import (
	"strings"
	"testing"

	"github.com/cwcreds/cwcreds/internal/cwobject"
)

func policy(name string, stmts ...cwobject.PolicyStatement) cwobject.Policy {
	return cwobject.Policy{Version: cwobject.PolicyVersion, Name: name, Statements: stmts}
}

func stmt(effect string, actions []string, principals ...string) cwobject.PolicyStatement {
	return cwobject.PolicyStatement{Name: "s", Effect: effect, Actions: actions, Resources: []string{"*"}, Principals: principals}
}

func (v *env) ensurePolicy(p cwobject.Policy) {
	v.t.Helper()
	v.admin(cwobject.OpEnsureAccessPolicy, "", cwobject.EnsureAccessPolicyRequest{Policy: p}).expectOK(v.t)
}

func (v *env) canI(token string, actions, resources []string) bool {
	v.t.Helper()
	r := v.call(cwobject.OpAuthCanI, "", token, cwobject.AuthCanIRequest{Actions: actions, Resources: resources})
	r.expectOK(v.t)
	verdict, ok := r.json(v.t)["verdict"].(bool)
	if !ok {
		v.t.Fatalf("no verdict in %s", r.body)
	}
	return verdict
}

func TestPolicyEvaluationForNonAdminUser(t *testing.T) {
	v := newEnv(t)
	bob := v.e.AddUserToken("bob")
	listKeys := cwobject.OpListAccessKeyInfo.Path + "?offset=0&limit=10"

	// A valid token with no matching Allow is refused.
	v.call(cwobject.OpListAccessKeyInfo, listKeys, bob, nil).expectError(t, cwobject.CodePermissionDenied, "cwobject:ListAccessKeyInfo")
	if v.canI(bob, []string{"cwobject:ListAccessKeyInfo"}, []string{"*"}) {
		t.Fatal("AuthCanI allowed bob before any policy")
	}

	// A trailing wildcard in actions allows the whole family.
	v.ensurePolicy(policy("readers", stmt(cwobject.EffectAllow, []string{"cwobject:List*", "cwobject:Get*"}, "coreweave/bob")))
	v.call(cwobject.OpListAccessKeyInfo, listKeys, bob, nil).expectOK(t)
	if !v.canI(bob, []string{"cwobject:ListAccessKeyInfo", "cwobject:GetBucketInfo"}, []string{"*"}) {
		t.Fatal("AuthCanI refused actions the policy allows")
	}
	if v.canI(bob, []string{"cwobject:ListAccessKeyInfo", "cwobject:CreateAccessKey"}, []string{"*"}) {
		t.Fatal("AuthCanI must be false unless every action is allowed")
	}
	v.call(cwobject.OpCreateAccessKeyFromJWT, "", bob, map[string]any{"durationSeconds": 60}).
		expectError(t, cwobject.CodePermissionDenied, "cwobject:CreateAccessKey")

	// A matching Deny wins over any Allow, also for the admin.
	v.ensurePolicy(policy("no-listing", stmt(cwobject.EffectDeny, []string{"cwobject:ListAccessKeyInfo"}, "coreweave/*")))
	v.call(cwobject.OpListAccessKeyInfo, listKeys, bob, nil).expectError(t, cwobject.CodePermissionDenied, "not allowed")
	v.admin(cwobject.OpListAccessKeyInfo, listKeys, nil).expectError(t, cwobject.CodePermissionDenied, "not allowed")
	if v.canI(v.e.AdminToken(), []string{"cwobject:ListAccessKeyInfo"}, []string{"*"}) {
		t.Fatal("AuthCanI ignored a Deny")
	}
	if !v.canI(v.e.AdminToken(), []string{"s3:CreateBucket"}, []string{"bucket-a", "bucket-b"}) {
		t.Fatal("admin should be allowed s3 actions")
	}

	// Deleting the Deny restores access; deleting twice is NotFound.
	path := pathWith(cwobject.OpDeleteAccessPolicy.Path, "name", "no-listing")
	v.admin(cwobject.OpDeleteAccessPolicy, path, nil).expectOK(t)
	v.admin(cwobject.OpDeleteAccessPolicy, path, nil).expectError(t, cwobject.CodeNotFound, "no-listing")
	v.call(cwobject.OpListAccessKeyInfo, listKeys, bob, nil).expectOK(t)

	// Replacing by name: readers now only allows GetBucketInfo.
	v.ensurePolicy(policy("readers", stmt(cwobject.EffectAllow, []string{"cwobject:GetBucketInfo"}, "coreweave/bob")))
	v.call(cwobject.OpListAccessKeyInfo, listKeys, bob, nil).expectError(t, cwobject.CodePermissionDenied, "not allowed")
}

func TestPolicyForFederatedPrincipals(t *testing.T) {
	v := newEnv(t)
	v.ensurePolicy(policy("ci", stmt(cwobject.EffectAllow, []string{"s3:*"}, "role/https://token.actions.example.test:repo:*", "saml/admins")))
	cases := []struct {
		principal, action string
		want              bool
	}{
		{"role/https://token.actions.example.test:repo:org/app", "s3:ListAllMyBuckets", true},
		{"role/https://other.example.test:repo:x", "s3:ListAllMyBuckets", false},
		{"saml/admins", "s3:CreateBucket", true},
		{"saml/admins-2", "s3:CreateBucket", false},
		{"saml/admins", "cwobject:CreateAccessKey", false},
	}
	for _, c := range cases {
		if got := v.e.policies.allowed(c.principal, c.action, "*"); got != c.want {
			t.Errorf("allowed(%q, %q) = %v, want %v", c.principal, c.action, got, c.want)
		}
	}
}

func TestPolicyValidation(t *testing.T) {
	v := newEnv(t)
	good := stmt(cwobject.EffectAllow, []string{"s3:*"}, "coreweave/a")
	cases := map[string]cwobject.Policy{
		"name":      policy("", good),
		"version":   {Version: "v2", Name: "p", Statements: []cwobject.PolicyStatement{good}},
		"statement": policy("p"),
		"effect":    policy("p", stmt("allow", []string{"s3:*"}, "coreweave/a")),
		"actions":   policy("p", stmt(cwobject.EffectAllow, nil, "coreweave/a")),
		"principals": policy("p", cwobject.PolicyStatement{
			Effect: cwobject.EffectAllow, Actions: []string{"s3:*"}, Resources: []string{"*"},
		}),
	}
	for what, p := range cases {
		t.Run(what, func(t *testing.T) {
			v.admin(cwobject.OpEnsureAccessPolicy, "", cwobject.EnsureAccessPolicyRequest{Policy: p}).
				expectError(t, cwobject.CodeInvalidArgument, what)
		})
	}
	v.admin(cwobject.OpEnsureAccessPolicy, "", `{}`).expectError(t, cwobject.CodeInvalidArgument, "policy")
}

// Settings operations need the Enable/Disable action matching the change.
func TestSettingsActionsDerivedFromRequest(t *testing.T) {
	v := newEnv(t)
	carol := v.e.AddUserToken("carol")
	v.ensurePolicy(policy("audit", stmt(cwobject.EffectAllow,
		[]string{"cwobject:EnableControlPlaneAuditLogging", "cwobject:EnableBucketAuditLoggingDefault"}, "coreweave/carol")))
	on := map[string]any{"settings": map[string]any{"controlPlaneAuditLoggingEnabled": true, "bucketAuditLoggingEnabled": true}}
	r := v.call(cwobject.OpSetOrganizationSettings, "", carol, on)
	r.expectOK(t)
	if got := r.json(t)["settings"].(map[string]any); got["controlPlaneAuditLoggingEnabled"] != true || got["bucketAuditLoggingEnabled"] != true {
		t.Fatalf("settings %v", got)
	}
	off := map[string]any{"settings": map[string]any{"controlPlaneAuditLoggingEnabled": false}}
	v.call(cwobject.OpSetOrganizationSettings, "", carol, off).
		expectError(t, cwobject.CodePermissionDenied, "cwobject:DisableControlPlaneAuditLogging")
	v.call(cwobject.OpSetBucketSettings, "", carol, map[string]any{"bucketName": "b", "settings": map[string]any{"auditLoggingEnabled": true}}).
		expectError(t, cwobject.CodePermissionDenied, "cwobject:EnableBucketAuditLogging")
}

func TestBearerAuthentication(t *testing.T) {
	v := newEnv(t)
	path := cwobject.OpListAccessPolicies.Path
	v.raw("GET", path, nil, nil).expectError(t, cwobject.CodeUnauthenticated, "Bearer")
	v.raw("GET", path, map[string]string{"Authorization": "Basic abc"}, nil).expectError(t, cwobject.CodeUnauthenticated, "Bearer")
	bogus := "CW-SECRET-NOTAREALTOKENNOTAREALTOKEN00"
	s := v.raw("GET", path, map[string]string{"Authorization": "Bearer " + bogus}, nil).
		expectError(t, cwobject.CodeUnauthenticated, "invalid API access token")
	if strings.Contains(s.Message, bogus) {
		t.Fatal("the error echoes the token")
	}
	v.raw("GET", path, map[string]string{"Authorization": "bearer " + v.e.AdminToken()}, nil).expectOK(t)
	v.noSecretsLogged(v.e.AdminToken(), bogus)
}
