package emulator

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/cwcreds/cwcreds/internal/cwobject"
)

// TestEveryOperation walks each operation of the contract's table once, with the
// wire shapes the client relies on, and checks the per-method statistics.
func TestEveryOperation(t *testing.T) {
	s := newSAMLSetup(t)
	v := s.v
	orgID := v.e.OrgID()
	ok := func(r result) map[string]any {
		t.Helper()
		r.expectOK(t)
		return r.json(t)
	}

	if m := ok(v.admin(cwobject.OpAuthCanI, "", map[string]any{"actions": []string{"cwobject:CreateAccessKey"}, "resources": []string{"*"}})); m["verdict"] != true {
		t.Fatalf("AuthCanI %v", m)
	}
	key := decodeKey(t, v.admin(cwobject.OpCreateAccessKeyFromJWT, "", map[string]any{"durationSeconds": 3600}))
	v.createBucket(key, "datasets")

	list := ok(v.admin(cwobject.OpListAccessKeyInfo, cwobject.OpListAccessKeyInfo.Path+"?offset=0&limit=10&status=ACCESS_KEY_STATUS_UNSPECIFIED", nil))
	if n := len(list["info"].([]any)); n != 1 {
		t.Fatalf("ListAccessKeyInfo: %d keys", n)
	}
	got := ok(v.admin(cwobject.OpGetAccessKeyInfo, pathWith(cwobject.OpGetAccessKeyInfo.Path, "accessKeyId", key.AccessKeyID), nil))
	if info := got["info"].(map[string]any); info["accessKeyId"] != key.AccessKeyID || info["orgId"] != orgID {
		t.Fatalf("GetAccessKeyInfo %v", got)
	}
	if m := ok(v.admin(cwobject.OpUpdateAccessKeyStatus, "", map[string]any{"principalName": key.PrincipalName, "status": "ACCESS_KEY_STATUS_ACTIVE"})); len(m) != 0 {
		t.Fatalf("UpdateAccessKeyStatus answered %v, want {}", m)
	}
	pols := ok(v.admin(cwobject.OpListAccessPolicies, "", nil))["policies"].([]any)
	if len(pols) != 1 || pols[0].(map[string]any)["name"] != adminPolicyName {
		t.Fatalf("ListAccessPolicies %v", pols)
	}
	ok(v.admin(cwobject.OpEnsureAccessPolicy, "", map[string]any{"policy": map[string]any{
		"version": "v1alpha1", "name": "readers",
		"statements": []any{map[string]any{"name": "r", "effect": "Allow", "actions": []string{"s3:ListAllMyBuckets"}, "resources": []string{"*"}, "principals": []string{"saml/*"}}},
	}}))
	ok(v.admin(cwobject.OpDeleteAccessPolicy, pathWith(cwobject.OpDeleteAccessPolicy.Path, "name", "readers"), nil))

	set := v.admin(cwobject.OpSetBucketSettings, "", map[string]any{"bucket_name": "datasets",
		"settings": map[string]any{"auditLoggingEnabled": true, "archiveEnabled": true, "archiveAfterLastAccessDays": 90, "capacityCapBytes": "1099511627776"}})
	set.expectOK(t)
	if !strings.Contains(string(set.body), `"archiveAfterLastAccessDays":"90"`) || !strings.Contains(string(set.body), `"configuredCapacityCapBytes":"1099511627776"`) {
		t.Fatalf("SetBucketSettings int64 wire form: %s", set.body)
	}
	v.admin(cwobject.OpSetBucketSettings, "", map[string]any{"bucketName": "datasets", "settings": map[string]any{"archiveAfterLastAccessDays": 59}}).
		expectError(t, cwobject.CodeInvalidArgument, "at least 60")
	v.admin(cwobject.OpSetBucketSettings, "", map[string]any{"bucketName": "missing", "settings": map[string]any{}}).
		expectError(t, cwobject.CodeNotFound, "missing")

	buckets := v.admin(cwobject.OpListBucketInfo, cwobject.OpListBucketInfo.Path+"?offset=0&limit=5", nil)
	buckets.expectOK(t)
	var bl struct {
		Info []cwobject.BucketInfo `json:"info"`
	}
	if err := json.Unmarshal(buckets.body, &bl); err != nil || len(bl.Info) != 1 {
		t.Fatalf("ListBucketInfo %s (%v)", buckets.body, err)
	}
	if b := bl.Info[0]; b.Name != "datasets" || b.Settings.AuditLoggingEnabled == nil || !*b.Settings.AuditLoggingEnabled ||
		b.Location != DefaultRegion || b.CreationTime.IsZero() || len(b.Usage) != 2 {
		t.Fatalf("bucket info %+v", b)
	}
	v.admin(cwobject.OpListBucketInfo, cwobject.OpListBucketInfo.Path+"?offset=0&limit=5000", nil).expectError(t, cwobject.CodeInvalidArgument, "limit")
	ok(v.admin(cwobject.OpGetBucketInfo, pathWith(cwobject.OpGetBucketInfo.Path, "bucketName", "datasets"), nil))
	v.admin(cwobject.OpGetBucketInfo, pathWith(cwobject.OpGetBucketInfo.Path, "bucketName", "nope"), nil).expectError(t, cwobject.CodeNotFound, "nope")

	org := ok(v.admin(cwobject.OpSetOrganizationSettings, "", map[string]any{"settings": map[string]any{"bucketAuditLoggingEnabled": false}}))
	if org["settings"].(map[string]any)["bucketAuditLoggingEnabled"] != false {
		t.Fatalf("SetOrganizationSettings %v", org)
	}

	ok(v.admin(cwobject.OpRevokeAccessKeyByAccessKey, "", map[string]any{"accessKey": key.AccessKeyID}))
	ok(v.admin(cwobject.OpRevokeAccessKeysByPrincipal, "", map[string]any{"principalName": "coreweave/nobody"}))

	decodeKey(t, s.exchange(s.idp.response(s.spID, "admins", "alice"), 60))
	decodeKey(t, v.oidcExchange(v.mintDev(devMint("job")), 60))
	containerCreds(t, v.raw("GET", pathWith(cwobject.OpCreateAccessKeyFromContainerCreds.Path, "orgId", orgID),
		map[string]string{"Authorization": v.mintDev(devMint("pod"))}, nil))
	containerCreds(t, v.admin(cwobject.OpCreateAccessKeyFromApiToken, "", nil))

	calls := v.e.Calls()
	for _, op := range cwobject.Operations {
		if calls[op.Name] == 0 {
			t.Errorf("operation %s was not counted", op.Name)
		}
	}
	if calls["GetBucketInfo"] != 2 || calls["AuthCanI"] != 1 {
		t.Errorf("calls %v", calls)
	}
}

func TestErrorBodyShape(t *testing.T) {
	v := newEnv(t)
	r := v.raw("GET", cwobject.OpListAccessPolicies.Path, nil, nil)
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatal(err)
	}
	if len(m) != 3 || m["code"] != float64(16) || m["details"] == nil || r.status != 401 {
		t.Fatalf("error body %s (HTTP %d)", r.body, r.status)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("content type %q", ct)
	}
}
