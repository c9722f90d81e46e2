package emulator

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cwcreds/cwcreds/internal/cwobject"
	"github.com/cwcreds/cwcreds/internal/emulator/s3emu"
)

func (v *env) listKeys(query string) []cwobject.AccessKeyInfo {
	v.t.Helper()
	r := v.admin(cwobject.OpListAccessKeyInfo, cwobject.OpListAccessKeyInfo.Path+"?"+query, nil)
	r.expectOK(v.t)
	var out struct {
		Info []cwobject.AccessKeyInfo `json:"info"`
	}
	if err := json.Unmarshal(r.body, &out); err != nil {
		v.t.Fatal(err)
	}
	if out.Info == nil {
		v.t.Fatalf("info missing (want [] when empty): %s", r.body)
	}
	return out.Info
}

func TestCreateAccessKeyFromJWT(t *testing.T) {
	v := newEnv(t)
	r := v.admin(cwobject.OpCreateAccessKeyFromJWT, "", map[string]any{"durationSeconds": "0", "attributes": map[string]string{"team": "ml"}})
	k := decodeKey(t, r)
	if !strings.Contains(string(r.body), `"expiry":"1970-01-01T00:00:00Z"`) || !strings.Contains(string(r.body), `"accessKeyId":"CW`) {
		t.Fatalf("permanent key wire form: %s", r.body)
	}
	if k.PrincipalName != "coreweave/"+adminPrincipalUID || k.Attributes["team"] != "ml" {
		t.Fatalf("key %+v", k.PrincipalName)
	}
	v.clock.Advance(100 * 365 * 24 * time.Hour)
	if _, st := v.e.ResolveKey(k.AccessKeyID); st != s3emu.KeyValid {
		t.Fatalf("permanent key state after a century: %v", st)
	}
	k = v.mintJWTKey(90)
	if want := v.clock.Now().Add(90 * time.Second); !k.Expiry.Equal(want) {
		t.Fatalf("expiry %v, want %v", k.Expiry, want)
	}
	v.admin(cwobject.OpCreateAccessKeyFromJWT, "", map[string]any{"durationSeconds": -5}).expectError(t, cwobject.CodeInvalidArgument, "durationSeconds")
	v.admin(cwobject.OpCreateAccessKeyFromJWT, "", map[string]any{"durationSeconds": "ten"}).expectError(t, cwobject.CodeInvalidArgument, "durationSeconds")
	v.admin(cwobject.OpCreateAccessKeyFromJWT, "", `[1]`).expectError(t, cwobject.CodeInvalidArgument, "JSON object")
	v.admin(cwobject.OpCreateAccessKeyFromJWT, "", `{"durationSeconds":1,"duration_seconds":2}`).expectError(t, cwobject.CodeInvalidArgument, "twice")
	big := `{"durationSeconds":1,"pad":"` + strings.Repeat("x", cwobject.MaxRequestBytes) + `"}`
	v.admin(cwobject.OpCreateAccessKeyFromJWT, "", big).expectError(t, cwobject.CodeInvalidArgument, "larger than")
}

func TestKeyStatesSeenByS3(t *testing.T) {
	v := newEnv(t, func(c *Config) { c.KeyPropagationDelay = 3 * time.Second })
	state := func(id string) s3emu.KeyState {
		secret, st := v.e.ResolveKey(id)
		if st != s3emu.KeyUnknown && !secretRe.MatchString(secret) {
			t.Fatalf("ResolveKey gave no secret for a known key")
		}
		return st
	}
	a := v.mintJWTKey(60)
	b := v.mintJWTKey(3600)
	if st := state(a.AccessKeyID); st != s3emu.KeyNotYetPropagated {
		t.Fatalf("fresh key: %v", st)
	}
	v.clock.Advance(3 * time.Second)
	if st := state(a.AccessKeyID); st != s3emu.KeyValid {
		t.Fatalf("propagated key: %v", st)
	}
	if st := state("CWUNKNOWN0000000"); st != s3emu.KeyUnknown {
		t.Fatalf("unknown key: %v", st)
	}

	// Suspending applies to every key of the principal; reactivating restores them.
	upd := func(status string) result {
		return v.admin(cwobject.OpUpdateAccessKeyStatus, "", map[string]string{"principalName": v.e.AdminPrincipal(), "status": status})
	}
	upd("ACCESS_KEY_STATUS_SUSPENDED").expectOK(t)
	if state(a.AccessKeyID) != s3emu.KeySuspended || state(b.AccessKeyID) != s3emu.KeySuspended {
		t.Fatal("suspension did not apply to every key of the principal")
	}
	if got := v.listKeys("offset=0&limit=10&status=ACCESS_KEY_STATUS_SUSPENDED"); len(got) != 2 || got[0].Status != cwobject.AccessKeyStatusSuspended {
		t.Fatalf("suspended filter: %+v", got)
	}
	if got := v.listKeys("offset=0&limit=10&status=ACCESS_KEY_STATUS_ACTIVE"); len(got) != 0 {
		t.Fatalf("active filter: %+v", got)
	}
	upd("ACTIVE").expectOK(t)
	if state(b.AccessKeyID) != s3emu.KeyValid {
		t.Fatal("reactivation failed")
	}
	upd("ACCESS_KEY_STATUS_UNSPECIFIED").expectError(t, cwobject.CodeInvalidArgument, "status")
	upd("BOGUS").expectError(t, cwobject.CodeInvalidArgument, "status")
	v.admin(cwobject.OpUpdateAccessKeyStatus, "", map[string]any{"status": 2}).expectError(t, cwobject.CodeInvalidArgument, "principalName")

	// Expiry.
	v.clock.Advance(60 * time.Second)
	if st := state(a.AccessKeyID); st != s3emu.KeyExpired {
		t.Fatalf("expired key: %v", st)
	}

	// Revocation by id and by principal.
	v.admin(cwobject.OpRevokeAccessKeyByAccessKey, "", map[string]string{"accessKey": b.AccessKeyID}).expectOK(t)
	if st := state(b.AccessKeyID); st != s3emu.KeyRevoked {
		t.Fatalf("revoked key: %v", st)
	}
	v.admin(cwobject.OpRevokeAccessKeyByAccessKey, "", map[string]string{"accessKey": b.AccessKeyID}).expectError(t, cwobject.CodeNotFound, "not found")
	s := v.admin(cwobject.OpRevokeAccessKeyByAccessKey, "", map[string]string{"accessKey": b.SecretKey}).expectError(t, cwobject.CodeNotFound, "not the secret")
	if strings.Contains(s.Message, b.SecretKey) {
		t.Fatal("error echoes a secret")
	}
	c := v.mintJWTKey(3600)
	v.admin(cwobject.OpRevokeAccessKeysByPrincipal, "", map[string]string{"principalName": v.e.AdminPrincipal()}).expectOK(t)
	if st := state(c.AccessKeyID); st != s3emu.KeyRevoked {
		t.Fatalf("key revoked by principal: %v", st)
	}
	v.admin(cwobject.OpRevokeAccessKeysByPrincipal, "", `{}`).expectError(t, cwobject.CodeInvalidArgument, "principalName")
}

func TestListAndGetAccessKeyInfo(t *testing.T) {
	v := newEnv(t)
	var ids, secrets []string
	for i := 0; i < 5; i++ {
		k := v.mintJWTKey(int64(60 * (i + 1)))
		ids = append(ids, k.AccessKeyID)
		secrets = append(secrets, k.SecretKey)
	}
	all := v.listKeys("offset=0&limit=1000")
	if len(all) != 5 {
		t.Fatalf("%d keys listed", len(all))
	}
	for i, info := range all {
		if info.AccessKeyID != ids[i] || info.OrgID != v.e.OrgID() || info.Status != cwobject.AccessKeyStatusActive ||
			info.PrincipalName != v.e.AdminPrincipal() {
			t.Fatalf("info %d = %+v", i, info)
		}
	}
	// Paging by offset until a short page.
	var paged []string
	for off := 0; ; off += 2 {
		page := v.listKeys(fmt.Sprintf("offset=%d&limit=2", off))
		for _, p := range page {
			paged = append(paged, p.AccessKeyID)
		}
		if len(page) < 2 {
			break
		}
	}
	if strings.Join(paged, ",") != strings.Join(ids, ",") {
		t.Fatalf("paged %v, want %v", paged, ids)
	}
	r := v.admin(cwobject.OpListAccessKeyInfo, cwobject.OpListAccessKeyInfo.Path+"?offset=0&limit=1000", nil)
	for _, secret := range secrets {
		if strings.Contains(string(r.body), secret) || strings.Contains(string(r.body), "secretKey") {
			t.Fatalf("key info leaks secrets: %s", r.body)
		}
	}
	for _, q := range []string{"offset=0&limit=0", "offset=0&limit=1001", "offset=-1&limit=5", "offset=0", "offset=x&limit=1", "limit=1&status=NOPE"} {
		v.admin(cwobject.OpListAccessKeyInfo, cwobject.OpListAccessKeyInfo.Path+"?"+q, nil).expectError(t, cwobject.CodeInvalidArgument, "")
	}

	get := v.admin(cwobject.OpGetAccessKeyInfo, pathWith(cwobject.OpGetAccessKeyInfo.Path, "accessKeyId", ids[2]), nil)
	get.expectOK(t)
	var one struct {
		Info cwobject.AccessKeyInfo `json:"info"`
	}
	if err := json.Unmarshal(get.body, &one); err != nil || one.Info.AccessKeyID != ids[2] {
		t.Fatalf("get: %v %s", err, get.body)
	}
	if !strings.Contains(string(get.body), `"status":"ACCESS_KEY_STATUS_ACTIVE"`) {
		t.Fatalf("status wire form: %s", get.body)
	}
	v.admin(cwobject.OpGetAccessKeyInfo, pathWith(cwobject.OpGetAccessKeyInfo.Path, "accessKeyId", "CWNOPE"), nil).
		expectError(t, cwobject.CodeNotFound, "not found")
}
