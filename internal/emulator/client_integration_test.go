package emulator_test

// Integration tests of the typed cwobject client against the emulator: the real
// client, over real HTTP on 127.0.0.1, with one fake clock shared by the client
// and the emulator, so that retries are timed without sleeping.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/jonboulle/clockwork"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/cwcreds/cwcreds/internal/cwobject"
	"github.com/cwcreds/cwcreds/internal/emulator"
	"github.com/cwcreds/cwcreds/internal/emulator/devissuer"
	"github.com/cwcreds/cwcreds/internal/emulator/s3emu"
)

// Backoff with Config.Rand fixed at 0.5 and the default policy: half of
// 200ms·2^retry.
const (
	firstBackoff  = 100 * time.Millisecond
	secondBackoff = 200 * time.Millisecond
	thirdBackoff  = 400 * time.Millisecond
	fourthBackoff = 800 * time.Millisecond
)

// waitClock is the shared fake clock as the client sees it: the same
// clockwork.FakeClock, recording how long each retry wait was asked to last.
type waitClock struct {
	*clockwork.FakeClock
	mu    sync.Mutex
	waits []time.Duration
}

func (c *waitClock) NewTimer(d time.Duration) clockwork.Timer {
	c.mu.Lock()
	c.waits = append(c.waits, d)
	c.mu.Unlock()
	return c.FakeClock.NewTimer(d)
}

func (c *waitClock) recorded() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.waits)
}

// seenRequest is one request that reached the API listener. authorization holds
// a credential: compare it, never print it.
type seenRequest struct {
	method, path  string
	query         url.Values
	authorization string
}

type namedSecret struct{ kind, value string }

// itest is an emulator served by httptest on 127.0.0.1 and the real client
// pointed at it. Every error a test gets passes through track; at cleanup no
// tracked error and no log line (client or emulator) may hold a credential that
// the test registered with secret.
type itest struct {
	t *testing.T // the (sub)test that helpers fail
	*itestState
}

// in returns a view of v whose helpers fail t, for a subtest sharing v's emulator.
func (v *itest) in(t *testing.T) *itest { return &itest{t: t, itestState: v.itestState} }

type itestState struct {
	e      *emulator.Emulator
	fake   *clockwork.FakeClock
	clock  *waitClock
	api    *httptest.Server
	s3srv  *httptest.Server
	c      *cwobject.Client
	cfg    cwobject.Config
	logs   *observer.ObservedLogs
	admin  string
	devURL string

	mu      sync.Mutex
	seen    []seenRequest
	secrets []namedSecret
	errs    []error
}

func newITest(t *testing.T, mods ...func(*cwobject.Config)) *itest {
	t.Helper()
	// Whole seconds, so expiries compare exactly; near real time, because the AWS
	// SDK signs S3 requests with the real clock and S3 refuses skewed ones.
	fake := clockwork.NewFakeClockAt(time.Now().UTC().Truncate(time.Second))
	core, logs := observer.New(zapcore.DebugLevel)
	logger := zap.New(core)
	e, err := emulator.New(emulator.Config{Clock: fake, Logger: logger.Named("emulator")})
	if err != nil {
		t.Fatalf("emulator.New: %v", err)
	}
	v := &itest{t: t, itestState: &itestState{e: e, fake: fake, clock: &waitClock{FakeClock: fake}, logs: logs,
		admin: e.AdminToken(), devURL: e.DevIssuer().URL()}}
	t.Cleanup(v.assertNoSecretLeaked) // runs last: after the servers are closed
	handler := e.APIHandler()
	v.api = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v.mu.Lock()
		v.seen = append(v.seen, seenRequest{r.Method, r.URL.Path, r.URL.Query(), r.Header.Get("Authorization")})
		v.mu.Unlock()
		handler.ServeHTTP(w, r)
	}))
	t.Cleanup(v.api.Close)
	v.s3srv = httptest.NewServer(e.S3Handler())
	t.Cleanup(v.s3srv.Close)
	v.secret("admin token", v.admin)

	v.cfg = cwobject.Config{
		BaseURL:    v.api.URL,
		HTTPClient: v.api.Client(),
		Token:      v.admin,
		Clock:      v.clock,
		Logger:     logger.Named("client"),
		Rand:       func() float64 { return 0.5 },
	}
	for _, m := range mods {
		m(&v.cfg)
	}
	v.c = v.client(v.cfg)
	return v
}

// client builds another client on the same emulator and clock.
func (v *itest) client(cfg cwobject.Config) *cwobject.Client {
	v.t.Helper()
	c, err := cwobject.New(cfg)
	if err != nil {
		v.t.Fatalf("cwobject.New: %v", err)
	}
	return c
}

// ctx is a watchdog context: a call that wrongly waits on the fake clock ends
// with an error instead of hanging the test.
func (v *itest) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	v.t.Cleanup(cancel)
	return ctx
}

func (v *itest) secret(kind string, values ...string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, s := range values {
		if s != "" {
			v.secrets = append(v.secrets, namedSecret{kind, s})
		}
	}
}

// track records err for the leak check and returns it.
func (v *itest) track(err error) error {
	if err != nil {
		v.mu.Lock()
		v.errs = append(v.errs, err)
		v.mu.Unlock()
	}
	return err
}

// ok fails the test if err is not nil.
func (v *itest) ok(err error) {
	v.t.Helper()
	if v.track(err) != nil {
		v.t.Fatalf("unexpected error: %v", err)
	}
}

// leaks names the kinds of registered credential that text holds, whole or by
// their last 16 characters (a cut that kept the tail).
func (v *itest) leaks(text string) []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	var out []string
	for _, s := range v.secrets {
		if strings.Contains(text, s.value) || (len(s.value) >= 32 && strings.Contains(text, s.value[len(s.value)-16:])) {
			out = append(out, s.kind)
		}
	}
	return out
}

func (v *itest) assertNoSecretLeaked() {
	v.mu.Lock()
	errs := slices.Clone(v.errs)
	v.mu.Unlock()
	for i, err := range errs {
		for _, text := range []string{err.Error(), fmt.Sprintf("%+v", err)} {
			if kinds := v.leaks(text); len(kinds) > 0 {
				v.t.Errorf("error %d (%T) holds a credential: %v", i, err, kinds)
			}
		}
	}
	for _, entry := range v.logs.All() {
		enc := zapcore.NewMapObjectEncoder()
		for _, f := range entry.Context {
			f.AddTo(enc)
		}
		if kinds := v.leaks(entry.LoggerName + " " + entry.Message + " " + fmt.Sprint(enc.Fields)); len(kinds) > 0 {
			v.t.Errorf("log line %q of %s holds a credential: %v", entry.Message, entry.LoggerName, kinds)
		}
	}
}

func (v *itest) requests() []seenRequest {
	v.mu.Lock()
	defer v.mu.Unlock()
	return slices.Clone(v.seen)
}

// lastRequest is the last request whose path starts with prefix.
func (v *itest) lastRequest(prefix string) seenRequest {
	v.t.Helper()
	reqs := v.requests()
	for i := len(reqs) - 1; i >= 0; i-- {
		if strings.HasPrefix(reqs[i].path, prefix) {
			return reqs[i]
		}
	}
	v.t.Fatalf("no request to %s reached the API", prefix)
	return seenRequest{}
}

// resetCounts forgets the calls and requests seen so far.
func (v *itest) resetCounts() {
	v.e.ResetCalls()
	v.mu.Lock()
	v.seen = nil
	v.mu.Unlock()
	v.clock.mu.Lock()
	v.clock.waits = nil
	v.clock.mu.Unlock()
}

func (v *itest) expectCalls(want map[string]int) {
	v.t.Helper()
	if got := v.e.Calls(); !reflect.DeepEqual(got, want) {
		v.t.Fatalf("emulator calls = %v, want %v", got, want)
	}
}

func (v *itest) expectWaits(want ...time.Duration) {
	v.t.Helper()
	if got := v.clock.recorded(); !slices.Equal(got, want) {
		v.t.Fatalf("client waited %v, want %v", got, want)
	}
}

// advanceRetry waits until something sleeps on the fake clock, then advances it
// by exactly the last retry wait the client asked for.
func (v *itest) advanceRetry(ctx context.Context) time.Duration {
	v.t.Helper()
	if err := v.fake.BlockUntilContext(ctx, 1); err != nil {
		v.t.Fatalf("nothing waited on the clock: %v", err)
	}
	waits := v.clock.recorded()
	if len(waits) == 0 {
		v.t.Fatal("something waits on the clock, but not the client's retry timer")
	}
	d := waits[len(waits)-1]
	v.fake.Advance(d)
	return d
}

// stillWaiting reports, without blocking, whether a timer is pending on the clock.
func (v *itest) stillWaiting() bool {
	done, cancel := context.WithCancel(context.Background())
	cancel()
	return v.fake.BlockUntilContext(done, 1) == nil
}

// start runs call in the background; await collects its error.
func start(call func() error) <-chan error {
	done := make(chan error, 1)
	go func() { done <- call() }()
	return done
}

// once runs a call that must not be retried. It fails at once, rather than at
// the watchdog, if the client starts waiting to retry instead.
func (v *itest) once(call func() error) error {
	v.t.Helper()
	done := start(call)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	waiting := make(chan error, 1)
	go func() { waiting <- v.fake.BlockUntilContext(ctx, 1) }()
	select {
	case err := <-done:
		return v.track(err)
	case <-waiting: // only cancel ends the wait early, and only after done
		v.t.Fatalf("the client is waiting to retry (it waited %v)", v.clock.recorded())
		return nil
	}
}

func (v *itest) await(done <-chan error) error {
	v.t.Helper()
	select {
	case err := <-done:
		return v.track(err)
	case <-time.After(time.Minute): // a watchdog, not a wait for time to pass
		v.t.Fatal("the call did not return")
		return nil
	}
}

// Helpers that mint credentials and use keys.

func (v *itest) devToken(o devissuer.MintOptions) string {
	v.t.Helper()
	if o.Lifetime == 0 {
		o.Lifetime = time.Hour
	}
	tok, err := v.e.DevIssuer().Mint(o)
	if err != nil {
		v.t.Fatal(err)
	}
	v.secret("OIDC JWT", tok)
	return tok
}

func (v *itest) oidcPrincipal(sub string) string {
	return cwobject.PrincipalPrefixOIDC + v.devURL + ":" + sub
}

func (v *itest) userToken(uid string) string {
	tok := v.e.AddUserToken(uid)
	v.secret("user token", tok)
	return tok
}

// checkKey registers a minted key's secret and checks its shape.
func (v *itest) checkKey(id, secret string) {
	v.t.Helper()
	v.secret("secret key", secret)
	if !emulator.KeyIDShapeForTest.MatchString(id) || !emulator.SecretShapeForTest.MatchString(secret) {
		v.t.Errorf("key shape: id %q, secret of %d characters", id, len(secret)) // not Fatal: may run on a call's goroutine
	}
}

// expectRecoversAfterTwo makes op fail twice with fault and checks that call
// succeeds on the third try, after the client's first two backoffs.
func (v *itest) expectRecoversAfterTwo(op cwobject.Operation, fault emulator.Fault, what string, call func(v *itest, ctx context.Context) error) {
	v.t.Helper()
	ctx := v.ctx()
	fault.Count = 2
	v.e.InjectFault(op.Name, fault)
	done := start(func() error { return call(v, ctx) })
	v.advanceRetry(ctx)
	v.advanceRetry(ctx)
	if err := v.await(done); err != nil {
		v.t.Fatalf("after %s: %v", what, err)
	}
	v.expectCalls(map[string]int{op.Name: 3})
	v.expectWaits(firstBackoff, secondBackoff)
}

func (v *itest) mintJWT(ctx context.Context, seconds int64) *cwobject.AccessKey {
	v.t.Helper()
	k, err := v.c.CreateAccessKeyFromJWT(ctx, cwobject.CreateAccessKeyFromJWTRequest{DurationSeconds: seconds})
	v.ok(err)
	v.checkKey(k.AccessKeyID, k.SecretKey)
	return k
}

func (v *itest) mintOIDC(ctx context.Context, sub string, seconds int64) *cwobject.AccessKey {
	v.t.Helper()
	k, err := v.c.CreateAccessKeyFromOIDC(ctx, cwobject.CreateAccessKeyFromOIDCRequest{
		DurationSeconds: seconds, OrgID: v.e.OrgID(), OIDCToken: v.devToken(devissuer.MintOptions{Subject: sub}),
	})
	v.ok(err)
	v.checkKey(k.AccessKeyID, k.SecretKey)
	return k
}

// s3 is an aws-sdk-go-v2 S3 client signing with a key against the emulator's S3
// endpoint, path style, without retries.
func (v *itest) s3(id, secret string) *s3.Client {
	return s3.New(s3.Options{
		Region:                     v.e.Region(),
		Credentials:                credentials.NewStaticCredentialsProvider(id, secret, ""),
		HTTPClient:                 v.s3srv.Client(),
		BaseEndpoint:               aws.String(v.s3srv.URL),
		UsePathStyle:               true,
		Retryer:                    aws.NopRetryer{},
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	})
}

// s3Accepts reports whether S3 accepts the key for ListBuckets.
func (v *itest) s3Accepts(id, secret string) bool {
	_, err := v.s3(id, secret).ListBuckets(context.Background(), &s3.ListBucketsInput{})
	return err == nil
}

func (v *itest) createBucket(k *cwobject.AccessKey, name string, content string) {
	v.t.Helper()
	c := v.s3(k.AccessKeyID, k.SecretKey)
	ctx := context.Background()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		v.t.Fatalf("create bucket %s: %v", name, err)
	}
	if content == "" {
		return
	}
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(name), Key: aws.String("object.txt"), Body: strings.NewReader(content),
	}); err != nil {
		v.t.Fatalf("put object in %s: %v", name, err)
	}
}

func ptr[T any](x T) *T { return &x }

func readPolicy(name string, actions []string, principals ...string) cwobject.Policy {
	return cwobject.Policy{Name: name, Statements: []cwobject.PolicyStatement{{
		Name: "allow", Effect: cwobject.EffectAllow, Actions: actions, Resources: []string{"*"}, Principals: principals,
	}}}
}

func keyIDs(infos []cwobject.AccessKeyInfo) []string {
	out := make([]string, len(infos))
	for i, in := range infos {
		out[i] = in.AccessKeyID
	}
	return out
}

// ---------------------------------------------------------------------------
// Happy paths, one operation (or one small family) per test.

// TestEveryOperationHappyPath calls each of the 18 operations once, in the order
// of cwobject.Operations, and fails if an operation is added without a case.
func TestEveryOperationHappyPath(t *testing.T) {
	t.Parallel()
	v := newITest(t)
	ctx := v.ctx()
	k := v.mintJWT(ctx, 3600)
	v.createBucket(k, "every-op", "")
	v.ok(v.c.EnsureAccessPolicy(ctx, readPolicy("to-delete", []string{"s3:ListAllMyBuckets"}, "coreweave/nobody")))
	configID, samlResponse := emulator.SAMLIdPForTest(t, v.e, v.fake)
	resp := samlResponse("ml-engineers", "alice@example.test")
	v.secret("SAML response", resp)
	oidcTok := v.devToken(devissuer.MintOptions{Subject: "ci-job"})
	podTok := v.devToken(devissuer.MintOptions{Subject: "pod"})
	v.resetCounts()

	happy := map[string]func() error{
		"AuthCanI": func() error {
			_, err := v.c.AuthCanI(ctx, cwobject.AuthCanIRequest{Actions: []string{"s3:CreateBucket"}, Resources: []string{"*"}})
			return err
		},
		"CreateAccessKeyFromJWT": func() error {
			_, err := v.c.CreateAccessKeyFromJWT(ctx, cwobject.CreateAccessKeyFromJWTRequest{DurationSeconds: 60})
			return err
		},
		"ListAccessKeyInfo": func() error {
			_, err := v.c.ListAccessKeyInfo(ctx, cwobject.ListAccessKeyInfoRequest{Limit: 10})
			return err
		},
		"GetAccessKeyInfo": func() error { _, err := v.c.GetAccessKeyInfo(ctx, k.AccessKeyID); return err },
		"UpdateAccessKeyStatus": func() error {
			return v.c.UpdateAccessKeyStatus(ctx, cwobject.UpdateAccessKeyStatusRequest{
				PrincipalName: v.e.AdminPrincipal(), Status: cwobject.AccessKeyStatusActive})
		},
		"ListAccessPolicies": func() error { _, err := v.c.ListAccessPolicies(ctx); return err },
		"EnsureAccessPolicy": func() error {
			return v.c.EnsureAccessPolicy(ctx, readPolicy("new", []string{"s3:ListAllMyBuckets"}, "coreweave/nobody"))
		},
		"DeleteAccessPolicy": func() error { return v.c.DeleteAccessPolicy(ctx, "to-delete") },
		"SetBucketSettings": func() error {
			_, err := v.c.SetBucketSettings(ctx, cwobject.SetBucketSettingsRequest{
				BucketName: "every-op", Settings: cwobject.BucketSettings{AuditLoggingEnabled: ptr(true)}})
			return err
		},
		"ListBucketInfo": func() error {
			_, err := v.c.ListBucketInfo(ctx, cwobject.ListBucketInfoRequest{Limit: 10})
			return err
		},
		"GetBucketInfo": func() error { _, err := v.c.GetBucketInfo(ctx, "every-op"); return err },
		"SetOrganizationSettings": func() error {
			_, err := v.c.SetOrganizationSettings(ctx, cwobject.OrganizationSettings{BucketAuditLoggingEnabled: ptr(true)})
			return err
		},
		"RevokeAccessKeyByAccessKey":  func() error { return v.c.RevokeAccessKeyByAccessKey(ctx, k.AccessKeyID) },
		"RevokeAccessKeysByPrincipal": func() error { return v.c.RevokeAccessKeysByPrincipal(ctx, "coreweave/nobody") },
		"CreateAccessKeyFromSAML": func() error {
			_, err := v.c.CreateAccessKeyFromSAML(ctx, cwobject.CreateAccessKeyFromSAMLRequest{
				OrgID: v.e.OrgID(), SAMLResponse: resp, ConfigID: configID})
			return err
		},
		"CreateAccessKeyFromOIDC": func() error {
			_, err := v.c.CreateAccessKeyFromOIDC(ctx, cwobject.CreateAccessKeyFromOIDCRequest{OrgID: v.e.OrgID(), OIDCToken: oidcTok})
			return err
		},
		"CreateAccessKeyFromContainerCreds": func() error {
			_, err := v.c.CreateAccessKeyFromContainerCreds(ctx, v.e.OrgID(), podTok)
			return err
		},
		"CreateAccessKeyFromApiToken": func() error { _, err := v.c.CreateAccessKeyFromApiToken(ctx); return err },
	}
	if len(happy) != len(cwobject.Operations) {
		t.Errorf("%d happy-path cases for %d operations", len(happy), len(cwobject.Operations))
	}
	want := map[string]int{}
	for _, op := range cwobject.Operations {
		call, ok := happy[op.Name]
		if !ok {
			t.Errorf("operation %s has no happy-path case", op.Name)
			continue
		}
		if err := v.track(call()); err != nil {
			t.Errorf("%s: %v", op.Name, err)
		}
		want[op.Name] = 1
	}
	v.expectCalls(want) // one HTTP call each: no hidden retries on success
}

func TestAuthCanI(t *testing.T) {
	t.Parallel()
	v := newITest(t)
	ctx := v.ctx()
	user := v.userToken("viewer")
	v.ok(v.c.EnsureAccessPolicy(ctx, cwobject.Policy{Name: "admin-never-deletes", Statements: []cwobject.PolicyStatement{{
		Name: "deny-delete", Effect: cwobject.EffectDeny, Actions: []string{"s3:DeleteBucket"},
		Resources: []string{"*"}, Principals: []string{v.e.AdminPrincipal()},
	}}}))
	for _, tc := range []struct {
		name    string
		token   string
		actions []string
		want    bool
	}{
		{"admin is allowed everything", v.admin, []string{"cwobject:ListAccessKeyInfo", "s3:CreateBucket"}, true},
		{"a deny statement wins", v.admin, []string{"s3:CreateBucket", "s3:DeleteBucket"}, false},
		{"user without a policy", user, []string{"cwobject:ListAccessKeyInfo"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := v.in(t)
			got, err := v.c.WithToken(tc.token).AuthCanI(ctx, cwobject.AuthCanIRequest{Actions: tc.actions, Resources: []string{"*"}})
			v.ok(err)
			if got != tc.want {
				t.Fatalf("verdict %v, want %v", got, tc.want)
			}
		})
	}
}

func TestCreateAccessKeyFromJWT(t *testing.T) {
	t.Parallel()
	v := newITest(t)
	ctx := v.ctx()
	for _, tc := range []struct {
		name       string
		seconds    int64
		attributes map[string]string
		wantExpiry time.Time
	}{
		{"one hour with attributes", 3600, map[string]string{"team": "ml"}, v.fake.Now().Add(time.Hour)},
		{"permanent", 0, nil, cwobject.PermanentExpiry},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := v.in(t)
			k, err := v.c.CreateAccessKeyFromJWT(ctx, cwobject.CreateAccessKeyFromJWTRequest{
				DurationSeconds: tc.seconds, Attributes: tc.attributes})
			v.ok(err)
			v.checkKey(k.AccessKeyID, k.SecretKey)
			if k.PrincipalName != v.e.AdminPrincipal() || !k.Expiry.Equal(tc.wantExpiry) || !reflect.DeepEqual(k.Attributes, tc.attributes) {
				t.Fatalf("key: principal %q expiry %v attributes %v; want %q %v %v",
					k.PrincipalName, k.Expiry, k.Attributes, v.e.AdminPrincipal(), tc.wantExpiry, tc.attributes)
			}
			info, err := v.c.GetAccessKeyInfo(ctx, k.AccessKeyID)
			v.ok(err)
			if !info.Expiry.Equal(tc.wantExpiry) || info.Status != cwobject.AccessKeyStatusActive {
				t.Fatalf("info: expiry %v status %v", info.Expiry, info.Status)
			}
			if !v.s3Accepts(k.AccessKeyID, k.SecretKey) {
				t.Fatal("S3 refuses the new key")
			}
		})
	}
}

func TestAccessKeyInfoListGetAndStatusFilter(t *testing.T) {
	t.Parallel()
	v := newITest(t)
	ctx := v.ctx()
	first := v.mintJWT(ctx, 3600)
	permanent := v.mintJWT(ctx, 0)
	pod := v.mintOIDC(ctx, "pod", 600)
	v.ok(v.c.UpdateAccessKeyStatus(ctx, cwobject.UpdateAccessKeyStatusRequest{
		PrincipalName: v.oidcPrincipal("pod"), Status: cwobject.AccessKeyStatusSuspended}))

	all, err := v.c.ListAccessKeyInfo(ctx, cwobject.ListAccessKeyInfoRequest{Limit: 10})
	v.ok(err)
	if got, want := keyIDs(all), []string{first.AccessKeyID, permanent.AccessKeyID, pod.AccessKeyID}; !slices.Equal(got, want) {
		t.Fatalf("listed %v, want %v (minting order)", got, want)
	}
	for _, in := range all {
		if in.OrgID != v.e.OrgID() {
			t.Fatalf("key %s: org %q", in.AccessKeyID, in.OrgID)
		}
		got, err := v.c.GetAccessKeyInfo(ctx, in.AccessKeyID)
		v.ok(err)
		if !reflect.DeepEqual(*got, in) {
			t.Fatalf("get %s = %+v, list had %+v", in.AccessKeyID, *got, in)
		}
	}
	if all[1].PrincipalName != v.e.AdminPrincipal() || !all[1].Expiry.Equal(cwobject.PermanentExpiry) {
		t.Fatalf("permanent key info %+v", all[1])
	}
	if all[2].PrincipalName != v.oidcPrincipal("pod") || all[2].Status != cwobject.AccessKeyStatusSuspended {
		t.Fatalf("pod key info %+v", all[2])
	}

	for _, tc := range []struct {
		status cwobject.AccessKeyStatus
		want   []string
	}{
		{"", []string{first.AccessKeyID, permanent.AccessKeyID, pod.AccessKeyID}},
		{cwobject.AccessKeyStatusUnspecified, []string{first.AccessKeyID, permanent.AccessKeyID, pod.AccessKeyID}},
		{cwobject.AccessKeyStatusActive, []string{first.AccessKeyID, permanent.AccessKeyID}},
		{"ACTIVE", []string{first.AccessKeyID, permanent.AccessKeyID}},
		{cwobject.AccessKeyStatusSuspended, []string{pod.AccessKeyID}},
		{"SUSPENDED", []string{pod.AccessKeyID}},
	} {
		t.Run("status="+string(tc.status), func(t *testing.T) {
			v := v.in(t)
			got, err := v.c.ListAccessKeyInfo(ctx, cwobject.ListAccessKeyInfoRequest{Limit: 10, Status: tc.status})
			v.ok(err)
			if !slices.Equal(keyIDs(got), tc.want) {
				t.Fatalf("listed %v, want %v", keyIDs(got), tc.want)
			}
		})
	}
	page, err := v.c.ListAccessKeyInfo(ctx, cwobject.ListAccessKeyInfoRequest{Offset: 1, Limit: 1})
	v.ok(err)
	if !slices.Equal(keyIDs(page), []string{permanent.AccessKeyID}) {
		t.Fatalf("offset 1 limit 1: %v", keyIDs(page))
	}
}

func TestUpdateAccessKeyStatusSuspendsAndReactivates(t *testing.T) {
	t.Parallel()
	v := newITest(t)
	ctx := v.ctx()
	podKeys := []*cwobject.AccessKey{v.mintOIDC(ctx, "trainer", 3600), v.mintOIDC(ctx, "trainer", 3600)}
	adminKey := v.mintJWT(ctx, 3600)
	principal := v.oidcPrincipal("trainer")

	expect := func(want cwobject.AccessKeyStatus, s3OK bool) {
		t.Helper()
		for _, k := range podKeys {
			info, err := v.c.GetAccessKeyInfo(ctx, k.AccessKeyID)
			v.ok(err)
			if info.Status != want {
				t.Fatalf("key %s status %v, want %v", k.AccessKeyID, info.Status, want)
			}
			if got := v.s3Accepts(k.AccessKeyID, k.SecretKey); got != s3OK {
				t.Fatalf("S3 accepts key %s: %v, want %v", k.AccessKeyID, got, s3OK)
			}
		}
		info, err := v.c.GetAccessKeyInfo(ctx, adminKey.AccessKeyID)
		v.ok(err)
		if info.Status != cwobject.AccessKeyStatusActive || !v.s3Accepts(adminKey.AccessKeyID, adminKey.SecretKey) {
			t.Fatalf("another principal's key changed: %v", info.Status)
		}
	}
	expect(cwobject.AccessKeyStatusActive, true)
	v.ok(v.c.UpdateAccessKeyStatus(ctx, cwobject.UpdateAccessKeyStatusRequest{PrincipalName: principal, Status: cwobject.AccessKeyStatusSuspended}))
	expect(cwobject.AccessKeyStatusSuspended, false)
	// The short spelling is accepted and sent in wire form.
	v.ok(v.c.UpdateAccessKeyStatus(ctx, cwobject.UpdateAccessKeyStatusRequest{PrincipalName: principal, Status: "ACTIVE"}))
	expect(cwobject.AccessKeyStatusActive, true)
	// A principal without keys is not an error.
	v.ok(v.c.UpdateAccessKeyStatus(ctx, cwobject.UpdateAccessKeyStatusRequest{PrincipalName: "role/nobody", Status: "SUSPENDED"}))
}

func TestAccessPoliciesListEnsureDelete(t *testing.T) {
	t.Parallel()
	v := newITest(t)
	ctx := v.ctx()
	auditor := v.c.WithToken(v.userToken("auditor"))
	userCanList := func() bool {
		_, err := auditor.ListAccessKeyInfo(ctx, cwobject.ListAccessKeyInfoRequest{Limit: 1})
		if err != nil && cwobject.CodeOf(v.track(err)) != cwobject.CodePermissionDenied {
			t.Fatalf("auditor list: %v", err)
		}
		return err == nil
	}
	byName := func(name string) (cwobject.Policy, int) {
		t.Helper()
		ps, err := v.c.ListAccessPolicies(ctx)
		v.ok(err)
		n := 0
		var found cwobject.Policy
		for _, p := range ps {
			if p.Name == name {
				found = p
				n++
			}
		}
		return found, n
	}

	if _, n := byName("emulator-admin"); n != 1 {
		t.Fatal("the seeded admin policy is not listed")
	}
	if userCanList() {
		t.Fatal("a user without a policy can list keys")
	}

	p := readPolicy("auditors", []string{"cwobject:ListAccessKeyInfo"}, "coreweave/auditor")
	v.ok(v.c.EnsureAccessPolicy(ctx, p))
	got, n := byName("auditors")
	p.Version = cwobject.PolicyVersion // an empty version is sent as v1alpha1
	if n != 1 || !reflect.DeepEqual(got, p) {
		t.Fatalf("listed %+v (%d), want %+v", got, n, p)
	}
	if !userCanList() {
		t.Fatal("the new policy does not let the user list keys")
	}

	// Ensuring the same name replaces the policy.
	p.Statements[0].Actions = []string{"cwobject:GetAccessKeyInfo"}
	v.ok(v.c.EnsureAccessPolicy(ctx, p))
	if got, n := byName("auditors"); n != 1 || !reflect.DeepEqual(got, p) {
		t.Fatalf("after replace: %+v (%d)", got, n)
	}
	if userCanList() {
		t.Fatal("the replaced policy still allows listing")
	}

	v.ok(v.c.DeleteAccessPolicy(ctx, "auditors"))
	if _, n := byName("auditors"); n != 0 {
		t.Fatal("the deleted policy is still listed")
	}
}

func TestBucketSettingsAndInfo(t *testing.T) {
	t.Parallel()
	v := newITest(t)
	ctx := v.ctx()
	k := v.mintJWT(ctx, 3600)
	v.createBucket(k, "datasets", "hello world")

	set, err := v.c.SetBucketSettings(ctx, cwobject.SetBucketSettingsRequest{BucketName: "datasets", Settings: cwobject.BucketSettings{
		AuditLoggingEnabled: ptr(true), ArchiveEnabled: ptr(true), ArchiveAfterLastAccessDays: ptr(int64(90)),
		CapacityCapBytes: ptr(uint64(1 << 30)),
	}})
	v.ok(err)
	want := cwobject.BucketSettings{
		AuditLoggingEnabled: ptr(true), ArchiveEnabled: ptr(true), ArchiveAfterLastAccessDays: ptr(int64(90)),
		CapacityCapBytes: ptr(uint64(1 << 30)), ConfiguredCapacityCapBytes: ptr(uint64(1 << 30)),
	}
	if !reflect.DeepEqual(*set, want) {
		t.Fatalf("settings after set = %s, want %s", jsonOf(set), jsonOf(want))
	}
	// Unset fields stay as they were.
	set, err = v.c.SetBucketSettings(ctx, cwobject.SetBucketSettingsRequest{BucketName: "datasets",
		Settings: cwobject.BucketSettings{AuditLoggingEnabled: ptr(false)}})
	v.ok(err)
	want.AuditLoggingEnabled = ptr(false)
	if !reflect.DeepEqual(*set, want) {
		t.Fatalf("settings after second set = %s, want %s", jsonOf(set), jsonOf(want))
	}

	info, err := v.c.GetBucketInfo(ctx, "datasets")
	v.ok(err)
	if info.Name != "datasets" || info.OrgID != v.e.OrgID() || info.Location != v.e.Region() || info.CreationTime.IsZero() {
		t.Fatalf("bucket info %s", jsonOf(info))
	}
	if !reflect.DeepEqual(info.Settings, want) {
		t.Fatalf("bucket info settings %s, want %s", jsonOf(info.Settings), jsonOf(want))
	}
	wantUsage := []cwobject.BucketUsage{
		{MeasurementType: cwobject.UsageBucketSizeBytes, Value: 11, ValueHumanReadable: "11 B"},
		{MeasurementType: cwobject.UsageObjectCount, Value: 1, ValueHumanReadable: "1"},
	}
	if !reflect.DeepEqual(info.Usage, wantUsage) {
		t.Fatalf("usage %+v, want %+v", info.Usage, wantUsage)
	}
	list, err := v.c.ListBucketInfo(ctx, cwobject.ListBucketInfoRequest{Limit: 10})
	v.ok(err)
	if len(list) != 1 || !reflect.DeepEqual(list[0], *info) {
		t.Fatalf("listed %s, want [%s]", jsonOf(list), jsonOf(info))
	}
}

func jsonOf(x any) string {
	b, _ := json.Marshal(x)
	return string(b)
}

func TestSetOrganizationSettings(t *testing.T) {
	t.Parallel()
	v := newITest(t)
	ctx := v.ctx()
	for _, tc := range []struct {
		name    string
		set     cwobject.OrganizationSettings
		wantCP  bool
		wantBkt bool
	}{
		{"enable both", cwobject.OrganizationSettings{ControlPlaneAuditLoggingEnabled: ptr(true), BucketAuditLoggingEnabled: ptr(true)}, true, true},
		{"disable bucket default only", cwobject.OrganizationSettings{BucketAuditLoggingEnabled: ptr(false)}, true, false},
		{"change nothing", cwobject.OrganizationSettings{}, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := v.in(t)
			got, err := v.c.SetOrganizationSettings(ctx, tc.set)
			v.ok(err)
			if got.ControlPlaneAuditLoggingEnabled == nil || got.BucketAuditLoggingEnabled == nil ||
				*got.ControlPlaneAuditLoggingEnabled != tc.wantCP || *got.BucketAuditLoggingEnabled != tc.wantBkt {
				t.Fatalf("settings %s, want control plane %v bucket %v", jsonOf(got), tc.wantCP, tc.wantBkt)
			}
		})
	}
}

func TestRevokeAccessKeyByAccessKey(t *testing.T) {
	t.Parallel()
	v := newITest(t)
	ctx := v.ctx()
	gone, kept := v.mintJWT(ctx, 3600), v.mintJWT(ctx, 3600)
	v.ok(v.c.RevokeAccessKeyByAccessKey(ctx, gone.AccessKeyID))

	_, err := v.c.GetAccessKeyInfo(ctx, gone.AccessKeyID)
	if cwobject.CodeOf(v.track(err)) != cwobject.CodeNotFound {
		t.Fatalf("revoked key: %v, want NotFound", err)
	}
	list, err := v.c.ListAccessKeyInfo(ctx, cwobject.ListAccessKeyInfoRequest{Limit: 10})
	v.ok(err)
	if !slices.Equal(keyIDs(list), []string{kept.AccessKeyID}) {
		t.Fatalf("listed %v, want only %s", keyIDs(list), kept.AccessKeyID)
	}
	if _, state := v.e.ResolveKey(gone.AccessKeyID); state != s3emu.KeyRevoked {
		t.Fatalf("revoked key state %v", state)
	}
	if v.s3Accepts(gone.AccessKeyID, gone.SecretKey) || !v.s3Accepts(kept.AccessKeyID, kept.SecretKey) {
		t.Fatal("S3 does not follow the revocation")
	}
}

func TestRevokeAccessKeysByPrincipal(t *testing.T) {
	t.Parallel()
	v := newITest(t)
	ctx := v.ctx()
	pods := []*cwobject.AccessKey{v.mintOIDC(ctx, "batch", 3600), v.mintOIDC(ctx, "batch", 60)}
	adminKey := v.mintJWT(ctx, 0)
	v.ok(v.c.RevokeAccessKeysByPrincipal(ctx, v.oidcPrincipal("batch")))

	list, err := v.c.ListAccessKeyInfo(ctx, cwobject.ListAccessKeyInfoRequest{Limit: 10})
	v.ok(err)
	if !slices.Equal(keyIDs(list), []string{adminKey.AccessKeyID}) {
		t.Fatalf("listed %v, want only the admin's key", keyIDs(list))
	}
	for _, k := range pods {
		if _, state := v.e.ResolveKey(k.AccessKeyID); state != s3emu.KeyRevoked {
			t.Fatalf("key %s state %v, want revoked", k.AccessKeyID, state)
		}
	}
	// A principal without keys is not an error.
	v.ok(v.c.RevokeAccessKeysByPrincipal(ctx, "role/nobody"))
}

// exchangeLifetimes are the durations the identity-exchange tests ask for, and
// how long the key must then last.
var exchangeLifetimes = []struct {
	name    string
	seconds int64
	want    time.Duration
}{
	{"one hour", 3600, time.Hour},
	{"two hours", 7200, 2 * time.Hour},
	{"server default", 0, cwobject.DefaultExchangeLifetime},
	{"twelve hours", cwobject.MaxDurationSeconds, 12 * time.Hour},
}

// checkExchangedKey checks a key from an identity exchange on op: well shaped,
// for principal, expiring at wantExpiry, carrying attrs, asked for without an
// Authorization header, and accepted by S3.
func (v *itest) checkExchangedKey(k *cwobject.AccessKey, op cwobject.Operation, principal string, wantExpiry time.Time, attrs map[string]string) {
	v.t.Helper()
	v.checkKey(k.AccessKeyID, k.SecretKey)
	if k.PrincipalName != principal || !k.Expiry.Equal(wantExpiry) {
		v.t.Fatalf("principal %q expiry %v, want %q %v", k.PrincipalName, k.Expiry, principal, wantExpiry)
	}
	for name, want := range attrs {
		if k.Attributes[name] != want {
			v.t.Fatalf("attributes %v, want %s=%q", k.Attributes, name, want)
		}
	}
	if r := v.lastRequest(op.Path); r.authorization != "" {
		v.t.Fatalf("%s sent an Authorization header", op.Path)
	}
	if !v.s3Accepts(k.AccessKeyID, k.SecretKey) {
		v.t.Fatalf("S3 refuses the key from %s", op.Path)
	}
}

func TestCreateAccessKeyFromSAML(t *testing.T) {
	t.Parallel()
	v := newITest(t)
	ctx := v.ctx()
	configID, samlResponse := emulator.SAMLIdPForTest(t, v.e, v.fake)
	now := v.fake.Now()
	for _, tc := range exchangeLifetimes {
		t.Run(tc.name, func(t *testing.T) {
			v := v.in(t)
			resp := samlResponse("ml-engineers", "alice@example.test")
			v.secret("SAML response", resp)
			k, err := v.c.CreateAccessKeyFromSAML(ctx, cwobject.CreateAccessKeyFromSAMLRequest{
				DurationSeconds: tc.seconds, OrgID: v.e.OrgID(), SAMLResponse: resp, ConfigID: configID,
				Attributes: map[string]string{"purpose": "it"},
			})
			v.ok(err)
			v.checkExchangedKey(k, cwobject.OpCreateAccessKeyFromSAML, cwobject.PrincipalPrefixSAML+"ml-engineers", now.Add(tc.want),
				map[string]string{"purpose": "it", cwobject.SAMLPrincipalNameAttribute: "alice@example.test"})
		})
	}
}

func TestCreateAccessKeyFromOIDC(t *testing.T) {
	t.Parallel()
	v := newITest(t)
	ctx := v.ctx()
	now := v.fake.Now()
	for _, tc := range exchangeLifetimes {
		t.Run(tc.name, func(t *testing.T) {
			v := v.in(t)
			tok := v.devToken(devissuer.MintOptions{Subject: "system:serviceaccount:ml:trainer"})
			k, err := v.c.CreateAccessKeyFromOIDC(ctx, cwobject.CreateAccessKeyFromOIDCRequest{
				DurationSeconds: tc.seconds, OrgID: v.e.OrgID(), OIDCToken: tok, Attributes: map[string]string{"job": "42"},
			})
			v.ok(err)
			v.checkExchangedKey(k, cwobject.OpCreateAccessKeyFromOIDC, v.oidcPrincipal("system:serviceaccount:ml:trainer"), now.Add(tc.want),
				map[string]string{"job": "42"})
		})
	}
}

// checkContainerCreds checks temporary credentials as the container-credentials
// operations give them: a well-shaped key for principal that S3 accepts, lasting
// ContainerCredsLifetime, with no session token. It asks the emulator about the
// key, so check the request that minted it first.
func (v *itest) checkContainerCreds(ctx context.Context, creds *cwobject.ContainerCredentials, principal string) {
	v.t.Helper()
	v.checkKey(creds.AccessKeyID, creds.SecretAccessKey)
	if want := v.fake.Now().Add(cwobject.ContainerCredsLifetime); !creds.Expiration.Equal(want) || creds.Token != "" {
		v.t.Fatalf("expiration %v token set %v, want %v and no token", creds.Expiration, creds.Token != "", want)
	}
	info, err := v.c.GetAccessKeyInfo(ctx, creds.AccessKeyID)
	v.ok(err)
	if info.PrincipalName != principal {
		v.t.Fatalf("principal %q, want %q", info.PrincipalName, principal)
	}
	if !v.s3Accepts(creds.AccessKeyID, creds.SecretAccessKey) {
		v.t.Fatal("S3 refuses the key")
	}
}

func TestCreateAccessKeyFromContainerCreds(t *testing.T) {
	t.Parallel()
	v := newITest(t)
	ctx := v.ctx()
	tok := v.devToken(devissuer.MintOptions{Subject: "pod-7"})
	creds, err := v.c.CreateAccessKeyFromContainerCreds(ctx, v.e.OrgID(), tok)
	v.ok(err)
	r := v.lastRequest("/v1/cwobject/temporary-credentials/oidc/")
	if r.method != http.MethodGet || r.path != "/v1/cwobject/temporary-credentials/oidc/"+v.e.OrgID() {
		t.Fatalf("sent %s %s", r.method, r.path)
	}
	if r.authorization != tok {
		t.Fatal("Authorization is not the raw JWT without a scheme")
	}
	v.checkContainerCreds(ctx, creds, v.oidcPrincipal("pod-7"))
}

func TestCreateAccessKeyFromApiToken(t *testing.T) {
	t.Parallel()
	v := newITest(t)
	ctx := v.ctx()
	creds, err := v.c.CreateAccessKeyFromApiToken(ctx)
	v.ok(err)
	if r := v.lastRequest(cwobject.OpCreateAccessKeyFromApiToken.Path); r.authorization != "Bearer "+v.admin {
		t.Fatal("the API token was not sent as a bearer token")
	}
	v.checkContainerCreds(ctx, creds, v.e.AdminPrincipal())
}

// ---------------------------------------------------------------------------
// Pagination.

// pageQueries lists "offset/limit" of the list requests seen on path.
func (v *itest) pageQueries(path string) []string {
	var out []string
	for _, r := range v.requests() {
		if r.path == path {
			out = append(out, r.query.Get("offset")+"/"+r.query.Get("limit")+"/"+r.query.Get("status"))
		}
	}
	return out
}

func TestAllAccessKeyInfoWalksEveryPage(t *testing.T) {
	t.Parallel()
	v := newITest(t)
	ctx := v.ctx()
	var active, suspended []string
	for range 5 {
		active = append(active, v.mintJWT(ctx, 3600).AccessKeyID)
	}
	for range 3 {
		suspended = append(suspended, v.mintOIDC(ctx, "walker", 3600).AccessKeyID)
	}
	v.ok(v.c.UpdateAccessKeyStatus(ctx, cwobject.UpdateAccessKeyStatusRequest{
		PrincipalName: v.oidcPrincipal("walker"), Status: cwobject.AccessKeyStatusSuspended}))

	for _, tc := range []struct {
		name    string
		status  cwobject.AccessKeyStatus
		want    []string
		queries []string
	}{
		// 5 keys: pages of 2, 2, 1; the short page ends the walk.
		{"active", cwobject.AccessKeyStatusActive, active, []string{
			"0/2/ACCESS_KEY_STATUS_ACTIVE", "2/2/ACCESS_KEY_STATUS_ACTIVE", "4/2/ACCESS_KEY_STATUS_ACTIVE"}},
		{"suspended", "SUSPENDED", suspended, []string{
			"0/2/ACCESS_KEY_STATUS_SUSPENDED", "2/2/ACCESS_KEY_STATUS_SUSPENDED"}},
		// 8 keys: four full pages, then an empty one.
		{"all", "", append(slices.Clone(active), suspended...), []string{"0/2/", "2/2/", "4/2/", "6/2/", "8/2/"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := v.in(t)
			v.resetCounts()
			got, err := v.c.AllAccessKeyInfo(ctx, tc.status, 2)
			v.ok(err)
			if !slices.Equal(keyIDs(got), tc.want) {
				t.Fatalf("walked %v, want %v", keyIDs(got), tc.want)
			}
			if q := v.pageQueries(cwobject.OpListAccessKeyInfo.Path); !slices.Equal(q, tc.queries) {
				t.Fatalf("pages requested %v, want %v", q, tc.queries)
			}
			v.expectCalls(map[string]int{"ListAccessKeyInfo": len(tc.queries)})
		})
	}
}

func TestAllBucketInfoWalksEveryPage(t *testing.T) {
	t.Parallel()
	v := newITest(t)
	ctx := v.ctx()
	k := v.mintJWT(ctx, 3600)
	names := []string{"bucket-a", "bucket-b", "bucket-c", "bucket-d", "bucket-e"}
	for _, n := range slices.Backward(names) { // created out of order; listed by name
		v.createBucket(k, n, "")
	}
	for _, tc := range []struct {
		pageSize int
		queries  []string
	}{
		{2, []string{"0/2/", "2/2/", "4/2/"}},
		{5, []string{"0/5/", "5/5/"}},
		{0, []string{"0/1000/"}}, // 0 means 1000
	} {
		t.Run("pageSize="+strconv.Itoa(tc.pageSize), func(t *testing.T) {
			v := v.in(t)
			v.resetCounts()
			got, err := v.c.AllBucketInfo(ctx, tc.pageSize)
			v.ok(err)
			var gotNames []string
			for _, b := range got {
				gotNames = append(gotNames, b.Name)
				if b.OrgID != v.e.OrgID() || b.Location != v.e.Region() {
					t.Fatalf("bucket %s: %s", b.Name, jsonOf(b))
				}
			}
			if !slices.Equal(gotNames, names) {
				t.Fatalf("walked %v, want %v", gotNames, names)
			}
			if q := v.pageQueries(cwobject.OpListBucketInfo.Path); !slices.Equal(q, tc.queries) {
				t.Fatalf("pages requested %v, want %v", q, tc.queries)
			}
			v.expectCalls(map[string]int{"ListBucketInfo": len(tc.queries)})
		})
	}
}

// ---------------------------------------------------------------------------
// Error classes.

// bodyRewriter sets JSON fields of every request body after the client has
// validated and encoded it, to reach checks that only the server makes.
type bodyRewriter struct {
	base http.RoundTripper
	set  map[string]any
}

func (b bodyRewriter) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body == nil {
		return b.base.RoundTrip(r)
	}
	data, err := io.ReadAll(r.Body)
	_ = r.Body.Close()
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, err
	}
	for k, val := range b.set {
		m[k] = val
	}
	if data, err = json.Marshal(m); err != nil {
		return nil, err
	}
	r = r.Clone(r.Context())
	r.Body, r.GetBody, r.ContentLength = io.NopCloser(bytes.NewReader(data)), nil, int64(len(data))
	return b.base.RoundTrip(r)
}

// expectStatusError checks a typed error answer and its classification.
func expectStatusError(t *testing.T, err error, op string, code cwobject.Code, mention string) *cwobject.StatusError {
	t.Helper()
	var se *cwobject.StatusError
	if !errors.As(err, &se) {
		t.Fatalf("got %T %v, want a *cwobject.StatusError", err, err)
	}
	if se.Op != op || se.Code != code || se.HTTPStatus != cwobject.HTTPStatusForCode(code) || cwobject.CodeOf(err) != code {
		t.Fatalf("got %s %v HTTP %d, want %s %v HTTP %d (%v)", se.Op, se.Code, se.HTTPStatus, op, code, cwobject.HTTPStatusForCode(code), err)
	}
	if !strings.Contains(err.Error(), mention) {
		t.Fatalf("error %q does not mention %q", err, mention)
	}
	if msg := err.Error(); strings.ContainsAny(msg, "\n\r") || !strings.HasPrefix(msg, "cwobject: "+op+": ") {
		t.Fatalf("error %q is not one line starting with the operation", msg)
	}
	return se
}

// failingCall prepares the emulator and returns the call that must fail.
type failingCall func(v *itest, ctx context.Context) func() error

func TestErrorClassesSurfaceTyped(t *testing.T) {
	t.Parallel()
	oidcExchange := func(org string, tok func(v *itest) string) failingCall {
		return func(v *itest, ctx context.Context) func() error {
			tk := tok(v)
			return func() error {
				_, err := v.c.CreateAccessKeyFromOIDC(ctx, cwobject.CreateAccessKeyFromOIDCRequest{
					DurationSeconds: 3600, OrgID: orDefault(org, v.e.OrgID()), OIDCToken: tk})
				return err
			}
		}
	}
	validToken := func(v *itest) string { return v.devToken(devissuer.MintOptions{Subject: "w"}) }
	for _, tc := range []struct {
		name    string
		op      cwobject.Operation
		code    cwobject.Code
		mention string
		prepare failingCall
	}{
		{"bad API token", cwobject.OpListAccessPolicies, cwobject.CodeUnauthenticated, "invalid API access token",
			func(v *itest, ctx context.Context) func() error {
				bad := "CW-SECRET-" + strings.Repeat("n0tAr3alT0k3n", 3)
				v.secret("bad token", bad)
				return func() error { _, err := v.c.WithToken(bad).ListAccessPolicies(ctx); return err }
			}},
		{"bad API token on the api-token exchange", cwobject.OpCreateAccessKeyFromApiToken, cwobject.CodeUnauthenticated, "invalid API access token",
			func(v *itest, ctx context.Context) func() error {
				bad := "CW-SECRET-" + strings.Repeat("wr0ngT0k3n", 3)
				v.secret("bad token", bad)
				return func() error { _, err := v.c.WithToken(bad).CreateAccessKeyFromApiToken(ctx); return err }
			}},
		{"forged OIDC token", cwobject.OpCreateAccessKeyFromOIDC, cwobject.CodeUnauthenticated, "bad signature",
			oidcExchange("", func(v *itest) string {
				tok, err := v.e.DevIssuer().MintForged(devissuer.MintOptions{Subject: "w", Lifetime: time.Hour})
				if err != nil {
					v.t.Fatal(err)
				}
				v.secret("forged JWT", tok)
				return tok
			})},
		{"OIDC exchange for another organisation", cwobject.OpCreateAccessKeyFromOIDC, cwobject.CodeUnauthenticated, "orgId",
			oidcExchange("org-other123", validToken)},
		{"expired JWT for container credentials", cwobject.OpCreateAccessKeyFromContainerCreds, cwobject.CodeUnauthenticated, "expired",
			func(v *itest, ctx context.Context) func() error {
				tok := v.devToken(devissuer.MintOptions{Subject: "old-pod", IssuedAt: v.fake.Now().Add(-3 * time.Hour)})
				return func() error { _, err := v.c.CreateAccessKeyFromContainerCreds(ctx, v.e.OrgID(), tok); return err }
			}},
		{"replayed SAML response", cwobject.OpCreateAccessKeyFromSAML, cwobject.CodeUnauthenticated, "replayed",
			func(v *itest, ctx context.Context) func() error {
				configID, samlResponse := emulator.SAMLIdPForTest(v.t, v.e, v.fake)
				req := cwobject.CreateAccessKeyFromSAMLRequest{OrgID: v.e.OrgID(), ConfigID: configID,
					SAMLResponse: samlResponse("ml", "bob@example.test")}
				v.secret("SAML response", req.SAMLResponse)
				k, err := v.c.CreateAccessKeyFromSAML(ctx, req)
				v.ok(err)
				v.checkKey(k.AccessKeyID, k.SecretKey)
				return func() error { _, err := v.c.CreateAccessKeyFromSAML(ctx, req); return err }
			}},
		{"archiveAfterLastAccessDays below 60", cwobject.OpSetBucketSettings, cwobject.CodeInvalidArgument, "archiveAfterLastAccessDays",
			func(v *itest, ctx context.Context) func() error {
				return func() error {
					_, err := v.c.SetBucketSettings(ctx, cwobject.SetBucketSettingsRequest{BucketName: "any",
						Settings: cwobject.BucketSettings{ArchiveAfterLastAccessDays: ptr(int64(30))}})
					return err
				}
			}},
		{"policy name with a slash", cwobject.OpEnsureAccessPolicy, cwobject.CodeInvalidArgument, "policy name",
			func(v *itest, ctx context.Context) func() error {
				return func() error {
					return v.c.EnsureAccessPolicy(ctx, readPolicy("team/readers", []string{"s3:ListAllMyBuckets"}, "coreweave/x"))
				}
			}},
		{"durationSeconds over 12 h past the client's check", cwobject.OpCreateAccessKeyFromOIDC, cwobject.CodeInvalidArgument, "durationSeconds",
			func(v *itest, ctx context.Context) func() error {
				cfg := v.cfg
				cfg.HTTPClient = &http.Client{Transport: bodyRewriter{base: v.api.Client().Transport,
					set: map[string]any{"durationSeconds": strconv.Itoa(cwobject.MaxDurationSeconds + 1)}}}
				c, tok := v.client(cfg), validToken(v)
				return func() error {
					_, err := c.CreateAccessKeyFromOIDC(ctx, cwobject.CreateAccessKeyFromOIDCRequest{
						DurationSeconds: 3600, OrgID: v.e.OrgID(), OIDCToken: tok})
					return err
				}
			}},
		{"DeleteAccessPolicy of an unknown name", cwobject.OpDeleteAccessPolicy, cwobject.CodeNotFound, "not found",
			func(v *itest, ctx context.Context) func() error {
				return func() error { return v.c.DeleteAccessPolicy(ctx, "no-such-policy") }
			}},
		{"GetAccessKeyInfo of an unknown key", cwobject.OpGetAccessKeyInfo, cwobject.CodeNotFound, "not found",
			func(v *itest, ctx context.Context) func() error {
				return func() error { _, err := v.c.GetAccessKeyInfo(ctx, "CW"+strings.Repeat("Z", 14)); return err }
			}},
		{"RevokeAccessKeyByAccessKey of an unknown key", cwobject.OpRevokeAccessKeyByAccessKey, cwobject.CodeNotFound, "not found",
			func(v *itest, ctx context.Context) func() error {
				return func() error { return v.c.RevokeAccessKeyByAccessKey(ctx, "CW"+strings.Repeat("Q", 14)) }
			}},
		{"GetBucketInfo of an unknown bucket", cwobject.OpGetBucketInfo, cwobject.CodeNotFound, "not found",
			func(v *itest, ctx context.Context) func() error {
				return func() error { _, err := v.c.GetBucketInfo(ctx, "no-such-bucket"); return err }
			}},
		{"SetBucketSettings of an unknown bucket", cwobject.OpSetBucketSettings, cwobject.CodeNotFound, "not found",
			func(v *itest, ctx context.Context) func() error {
				return func() error {
					_, err := v.c.SetBucketSettings(ctx, cwobject.SetBucketSettingsRequest{BucketName: "no-such-bucket"})
					return err
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			v := newITest(t)
			ctx := v.ctx()
			call := tc.prepare(v, ctx)
			v.resetCounts()
			err := v.once(call)
			expectStatusError(t, err, tc.op.Name, tc.code, tc.mention)
			if cwobject.IsRetryable(err) || !cwobject.IsUnrecoverable(err) {
				t.Fatalf("IsRetryable %v IsUnrecoverable %v, want false true", cwobject.IsRetryable(err), cwobject.IsUnrecoverable(err))
			}
			v.expectCalls(map[string]int{tc.op.Name: 1})
			v.expectWaits()
		})
	}
}

// orDefault returns a unless it is empty, then b.
func orDefault(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func TestPermissionDeniedNamesTheAction(t *testing.T) {
	t.Parallel()
	v := newITest(t)
	ctx := v.ctx()
	// The user may list policies but nothing else; a deny on another action
	// shows that deny also surfaces as PermissionDenied.
	uid := "intern"
	v.ok(v.c.EnsureAccessPolicy(ctx, cwobject.Policy{Name: "intern", Statements: []cwobject.PolicyStatement{
		{Name: "read-policies", Effect: cwobject.EffectAllow, Actions: []string{"cwobject:ListAccessPolicy", "cwobject:GetBucketInfo"},
			Resources: []string{"*"}, Principals: []string{"coreweave/" + uid}},
		{Name: "never-buckets", Effect: cwobject.EffectDeny, Actions: []string{"cwobject:GetBucketInfo"},
			Resources: []string{"*"}, Principals: []string{"coreweave/" + uid}},
	}}))
	user := v.c.WithToken(v.userToken(uid))
	if _, err := user.ListAccessPolicies(ctx); v.track(err) != nil {
		t.Fatalf("the allowed action failed: %v", err)
	}
	for _, tc := range []struct {
		op     cwobject.Operation
		action string
		call   func() error
	}{
		{cwobject.OpListAccessKeyInfo, "cwobject:ListAccessKeyInfo", func() error {
			_, err := user.ListAccessKeyInfo(ctx, cwobject.ListAccessKeyInfoRequest{})
			return err
		}},
		{cwobject.OpCreateAccessKeyFromJWT, "cwobject:CreateAccessKey", func() error {
			_, err := user.CreateAccessKeyFromJWT(ctx, cwobject.CreateAccessKeyFromJWTRequest{DurationSeconds: 60})
			return err
		}},
		{cwobject.OpCreateAccessKeyFromApiToken, "cwobject:CreateAccessKey", func() error {
			_, err := user.CreateAccessKeyFromApiToken(ctx)
			return err
		}},
		{cwobject.OpEnsureAccessPolicy, "cwobject:EnsureAccessPolicy", func() error {
			return user.EnsureAccessPolicy(ctx, readPolicy("self-grant", []string{"*"}, "coreweave/"+uid))
		}},
		{cwobject.OpDeleteAccessPolicy, "cwobject:DeleteAccessPolicy", func() error { return user.DeleteAccessPolicy(ctx, "intern") }},
		{cwobject.OpGetBucketInfo, "cwobject:GetBucketInfo", func() error { _, err := user.GetBucketInfo(ctx, "b"); return err }},
		{cwobject.OpRevokeAccessKeysByPrincipal, "cwobject:RevokeAccessKeysByPrincipal", func() error {
			return user.RevokeAccessKeysByPrincipal(ctx, v.e.AdminPrincipal())
		}},
		{cwobject.OpSetOrganizationSettings, "cwobject:EnableControlPlaneAuditLogging", func() error {
			_, err := user.SetOrganizationSettings(ctx, cwobject.OrganizationSettings{ControlPlaneAuditLoggingEnabled: ptr(true)})
			return err
		}},
		{cwobject.OpSetBucketSettings, "cwobject:DisableBucketAuditLogging", func() error {
			_, err := user.SetBucketSettings(ctx, cwobject.SetBucketSettingsRequest{BucketName: "b",
				Settings: cwobject.BucketSettings{AuditLoggingEnabled: ptr(false)}})
			return err
		}},
	} {
		t.Run(tc.op.Name, func(t *testing.T) {
			v := v.in(t)
			v.resetCounts()
			err := v.once(tc.call)
			expectStatusError(t, err, tc.op.Name, cwobject.CodePermissionDenied, tc.action)
			if cwobject.IsRetryable(err) || !cwobject.IsUnrecoverable(err) {
				t.Fatalf("IsRetryable %v IsUnrecoverable %v, want false true", cwobject.IsRetryable(err), cwobject.IsUnrecoverable(err))
			}
			v.expectCalls(map[string]int{tc.op.Name: 1})
		})
	}
}

// ---------------------------------------------------------------------------
// Retries and backoff, timed on the shared fake clock.

func TestRetryUnavailableTwiceThenSucceeds(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		op   cwobject.Operation
		call func(v *itest, ctx context.Context) error
	}{
		{cwobject.OpListAccessPolicies, func(v *itest, ctx context.Context) error { _, err := v.c.ListAccessPolicies(ctx); return err }},
		{cwobject.OpAuthCanI, func(v *itest, ctx context.Context) error {
			ok, err := v.c.AuthCanI(ctx, cwobject.AuthCanIRequest{Actions: []string{"s3:CreateBucket"}, Resources: []string{"*"}})
			if err == nil && !ok {
				return errors.New("verdict false after retries")
			}
			return err
		}},
		{cwobject.OpSetOrganizationSettings, func(v *itest, ctx context.Context) error {
			_, err := v.c.SetOrganizationSettings(ctx, cwobject.OrganizationSettings{BucketAuditLoggingEnabled: ptr(true)})
			return err
		}},
		{cwobject.OpDeleteAccessPolicy, func(v *itest, ctx context.Context) error {
			return v.c.DeleteAccessPolicy(ctx, "emulator-admin")
		}},
	} {
		t.Run(tc.op.Name+" "+tc.op.Method, func(t *testing.T) {
			t.Parallel()
			newITest(t).expectRecoversAfterTwo(tc.op, emulator.Fault{HTTPStatus: http.StatusServiceUnavailable}, "two 503s", tc.call)
		})
	}
}

func TestRetryAfterIsHonouredExactly(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		op         cwobject.Operation
		status     int
		retryAfter time.Duration
		call       func(v *itest, ctx context.Context) error
	}{
		{"429 on an idempotent op", cwobject.OpListAccessPolicies, http.StatusTooManyRequests, 7 * time.Second,
			func(v *itest, ctx context.Context) error { _, err := v.c.ListAccessPolicies(ctx); return err }},
		{"429 on a create", cwobject.OpCreateAccessKeyFromJWT, http.StatusTooManyRequests, 3 * time.Second,
			func(v *itest, ctx context.Context) error {
				k, err := v.c.CreateAccessKeyFromJWT(ctx, cwobject.CreateAccessKeyFromJWTRequest{DurationSeconds: 60})
				if err == nil {
					v.checkKey(k.AccessKeyID, k.SecretKey)
				}
				return err
			}},
		{"503 with Retry-After", cwobject.OpGetAccessKeyInfo, http.StatusServiceUnavailable, cwobject.MaxRetryAfter,
			func(v *itest, ctx context.Context) error {
				_, err := v.c.GetAccessKeyInfo(ctx, "CW"+strings.Repeat("A", 14))
				if cwobject.CodeOf(v.track(err)) == cwobject.CodeNotFound {
					return nil // reached the handler after the wait
				}
				return err
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			v := newITest(t)
			ctx := v.ctx()
			v.e.InjectFault(tc.op.Name, emulator.Fault{HTTPStatus: tc.status, RetryAfter: tc.retryAfter})
			done := start(func() error { return tc.call(v, ctx) })
			if err := v.fake.BlockUntilContext(ctx, 1); err != nil {
				t.Fatal(err)
			}
			v.fake.Advance(tc.retryAfter - time.Second)
			if !v.stillWaiting() {
				t.Fatalf("the client stopped waiting before Retry-After %v", tc.retryAfter)
			}
			v.expectCalls(map[string]int{tc.op.Name: 1})
			v.fake.Advance(time.Second)
			if v.stillWaiting() {
				t.Fatalf("the client still waits after Retry-After %v (it asked for %v)", tc.retryAfter, v.clock.recorded())
			}
			if err := v.await(done); err != nil {
				t.Fatalf("after Retry-After: %v", err)
			}
			v.expectCalls(map[string]int{tc.op.Name: 2})
			v.expectWaits(tc.retryAfter)
		})
	}

	// Longer than the client waits by itself, or than the caller's deadline
	// allows: the caller gets the error with RetryAfter at once.
	for _, tc := range []struct {
		name       string
		retryAfter time.Duration
		deadline   time.Duration
	}{
		{"over MaxRetryAfter", cwobject.MaxRetryAfter + time.Second, time.Hour},
		{"past the caller's deadline", 30 * time.Second, 20 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			v := newITest(t)
			ctx, cancel := context.WithTimeout(context.Background(), tc.deadline)
			defer cancel()
			v.e.InjectFault("ListAccessPolicies", emulator.Fault{HTTPStatus: http.StatusTooManyRequests, RetryAfter: tc.retryAfter})
			err := v.once(func() error { _, err := v.c.ListAccessPolicies(ctx); return err })
			se := expectStatusError(t, err, "ListAccessPolicies", cwobject.CodeResourceExhausted, "retry after")
			if se.RetryAfter != tc.retryAfter || !cwobject.IsRetryable(err) || cwobject.IsUnrecoverable(err) {
				t.Fatalf("RetryAfter %v retryable %v unrecoverable %v", se.RetryAfter, cwobject.IsRetryable(err), cwobject.IsUnrecoverable(err))
			}
			v.expectCalls(map[string]int{"ListAccessPolicies": 1})
			v.expectWaits()
		})
	}
}

// createCase is one non-idempotent exchange, prepared on an emulator.
type createCase struct {
	op      cwobject.Operation
	prepare func(v *itest, ctx context.Context) func() error
}

func createCases() []createCase {
	return []createCase{
		{cwobject.OpCreateAccessKeyFromJWT, func(v *itest, ctx context.Context) func() error {
			return func() error {
				k, err := v.c.CreateAccessKeyFromJWT(ctx, cwobject.CreateAccessKeyFromJWTRequest{DurationSeconds: 600})
				if err != nil {
					return err
				}
				v.checkKey(k.AccessKeyID, k.SecretKey)
				return nil
			}
		}},
		{cwobject.OpCreateAccessKeyFromOIDC, func(v *itest, ctx context.Context) func() error {
			tok := v.devToken(devissuer.MintOptions{Subject: "job"})
			return func() error {
				k, err := v.c.CreateAccessKeyFromOIDC(ctx, cwobject.CreateAccessKeyFromOIDCRequest{
					DurationSeconds: 600, OrgID: v.e.OrgID(), OIDCToken: tok})
				if err != nil {
					return err
				}
				v.checkKey(k.AccessKeyID, k.SecretKey)
				return nil
			}
		}},
		{cwobject.OpCreateAccessKeyFromSAML, func(v *itest, ctx context.Context) func() error {
			configID, samlResponse := emulator.SAMLIdPForTest(v.t, v.e, v.fake)
			resp := samlResponse("ml", "carol@example.test")
			v.secret("SAML response", resp)
			return func() error {
				k, err := v.c.CreateAccessKeyFromSAML(ctx, cwobject.CreateAccessKeyFromSAMLRequest{
					DurationSeconds: 600, OrgID: v.e.OrgID(), SAMLResponse: resp, ConfigID: configID})
				if err != nil {
					return err
				}
				v.checkKey(k.AccessKeyID, k.SecretKey)
				return nil
			}
		}},
		{cwobject.OpCreateAccessKeyFromContainerCreds, func(v *itest, ctx context.Context) func() error {
			tok := v.devToken(devissuer.MintOptions{Subject: "pod"})
			return func() error {
				c, err := v.c.CreateAccessKeyFromContainerCreds(ctx, v.e.OrgID(), tok)
				if err != nil {
					return err
				}
				v.checkKey(c.AccessKeyID, c.SecretAccessKey)
				return nil
			}
		}},
		{cwobject.OpCreateAccessKeyFromApiToken, func(v *itest, ctx context.Context) func() error {
			return func() error {
				c, err := v.c.CreateAccessKeyFromApiToken(ctx)
				if err != nil {
					return err
				}
				v.checkKey(c.AccessKeyID, c.SecretAccessKey)
				return nil
			}
		}},
	}
}

// faulted prepares cc on a new emulator and injects fault on cc's op for the
// call that follows; the calls of the preparation are not counted.
func (cc createCase) faulted(t *testing.T, fault emulator.Fault) (v *itest, ctx context.Context, call func() error) {
	t.Helper()
	v = newITest(t)
	ctx = v.ctx()
	call = cc.prepare(v, ctx)
	v.resetCounts()
	v.e.InjectFault(cc.op.Name, fault)
	return v, ctx, call
}

// TestCreateRetriedOnlyWhenTheServerCannotHaveActed: a create may have minted a
// key when it failed with 500 or a reset connection, so it is not repeated; 503
// means the server refused before any work, so it is.
func TestCreateRetriedOnlyWhenTheServerCannotHaveActed(t *testing.T) {
	t.Parallel()
	for _, cc := range createCases() {
		t.Run(cc.op.Name, func(t *testing.T) {
			t.Parallel()
			t.Run("500 is not retried", func(t *testing.T) {
				t.Parallel()
				v, _, call := cc.faulted(t, emulator.Fault{HTTPStatus: http.StatusInternalServerError})
				err := v.once(call)
				expectStatusError(t, err, cc.op.Name, cwobject.CodeInternal, "injected fault")
				if !cwobject.IsRetryable(err) || cwobject.IsUnrecoverable(err) {
					t.Fatalf("500: IsRetryable %v IsUnrecoverable %v, want true false", cwobject.IsRetryable(err), cwobject.IsUnrecoverable(err))
				}
				v.expectCalls(map[string]int{cc.op.Name: 1})
				v.expectWaits()
			})
			t.Run("connection reset is not retried", func(t *testing.T) {
				t.Parallel()
				// The call must be the env's first: on a reused keep-alive
				// connection net/http itself replays a GET (ApiToken,
				// ContainerCreds) that dies before its answer, below the client.
				v, _, call := cc.faulted(t, emulator.Fault{Reset: true})
				err := v.once(call)
				var te *cwobject.TransportError
				if !errors.As(err, &te) || te.Op != cc.op.Name || te.Dial || te.Timeout {
					t.Fatalf("got %T %v, want a non-dial *cwobject.TransportError", err, err)
				}
				if !cwobject.IsRetryable(err) || cwobject.IsUnrecoverable(err) || cwobject.CodeOf(err) != cwobject.CodeUnavailable {
					t.Fatalf("reset: IsRetryable %v IsUnrecoverable %v CodeOf %v", cwobject.IsRetryable(err), cwobject.IsUnrecoverable(err), cwobject.CodeOf(err))
				}
				v.expectCalls(map[string]int{cc.op.Name: 1})
				v.expectWaits()
			})
			t.Run("503 is retried", func(t *testing.T) {
				t.Parallel()
				v, ctx, call := cc.faulted(t, emulator.Fault{HTTPStatus: http.StatusServiceUnavailable})
				done := start(call)
				v.advanceRetry(ctx)
				if err := v.await(done); err != nil {
					t.Fatalf("after one 503: %v", err)
				}
				v.expectCalls(map[string]int{cc.op.Name: 2})
				v.expectWaits(firstBackoff)
			})
		})
	}
}

func TestConnectionResetRetriedOnIdempotentOp(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		op   cwobject.Operation
		call func(v *itest, ctx context.Context) error
	}{
		{cwobject.OpAuthCanI, func(v *itest, ctx context.Context) error {
			_, err := v.c.AuthCanI(ctx, cwobject.AuthCanIRequest{Actions: []string{"s3:CreateBucket"}, Resources: []string{"*"}})
			return err
		}},
		{cwobject.OpUpdateAccessKeyStatus, func(v *itest, ctx context.Context) error {
			return v.c.UpdateAccessKeyStatus(ctx, cwobject.UpdateAccessKeyStatusRequest{PrincipalName: "role/x", Status: "SUSPENDED"})
		}},
		{cwobject.OpListAccessPolicies, func(v *itest, ctx context.Context) error { _, err := v.c.ListAccessPolicies(ctx); return err }},
	} {
		t.Run(tc.op.Name, func(t *testing.T) {
			t.Parallel()
			// The client's own loop retries (two waits): no transport-level replays.
			newITest(t).expectRecoversAfterTwo(tc.op, emulator.Fault{Reset: true}, "two resets", tc.call)
		})
	}
}

func TestMalformedBody(t *testing.T) {
	t.Parallel()
	t.Run("on a create it is reported, not retried", func(t *testing.T) {
		t.Parallel()
		for _, cc := range createCases() {
			t.Run(cc.op.Name, func(t *testing.T) {
				t.Parallel()
				v, ctx, call := cc.faulted(t, emulator.Fault{Malformed: true})
				err := v.once(call)
				var me *cwobject.MalformedResponseError
				if !errors.As(err, &me) || me.Op != cc.op.Name || me.HTTPStatus != http.StatusOK || me.ContentType != "application/json" {
					t.Fatalf("got %T %v, want a *cwobject.MalformedResponseError for %s", err, err, cc.op.Name)
				}
				if !strings.Contains(err.Error(), "malformed response") || cwobject.CodeOf(err) != cwobject.CodeInternal {
					t.Fatalf("error %q, CodeOf %v", err, cwobject.CodeOf(err))
				}
				// Retryable in kind, yet not repeated: the operation is not idempotent.
				if !cwobject.IsRetryable(err) || cwobject.IsUnrecoverable(err) {
					t.Fatalf("IsRetryable %v IsUnrecoverable %v, want true false", cwobject.IsRetryable(err), cwobject.IsUnrecoverable(err))
				}
				v.expectCalls(map[string]int{cc.op.Name: 1})
				v.expectWaits()
				// The server did mint a key: that is why the client must not repeat
				// the call. Its secret was in the cut body and must not be in the error.
				v.resetCounts()
				keys, lerr := v.c.ListAccessKeyInfo(ctx, cwobject.ListAccessKeyInfoRequest{})
				v.ok(lerr)
				if len(keys) != 1 {
					t.Fatalf("%d keys after the malformed answer, want the 1 minted", len(keys))
				}
				secret, _ := v.e.ResolveKey(keys[0].AccessKeyID)
				v.secret("secret key in a malformed body", secret)
			})
		}
	})
	t.Run("on an idempotent op it is retried", func(t *testing.T) {
		t.Parallel()
		v := newITest(t)
		ctx := v.ctx()
		v.e.InjectFault("ListAccessPolicies", emulator.Fault{Malformed: true})
		done := start(func() error { _, err := v.c.ListAccessPolicies(ctx); return err })
		v.advanceRetry(ctx)
		if err := v.await(done); err != nil {
			t.Fatal(err)
		}
		v.expectCalls(map[string]int{"ListAccessPolicies": 2})
		v.expectWaits(firstBackoff)
	})
}

func TestAttemptsBoundedByMaxAttempts(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		maxAttempts int
		waits       []time.Duration
	}{
		{1, nil},
		{3, []time.Duration{firstBackoff, secondBackoff}},
		{0, []time.Duration{firstBackoff, secondBackoff, thirdBackoff}}, // default 4
		{5, []time.Duration{firstBackoff, secondBackoff, thirdBackoff, fourthBackoff}},
	} {
		t.Run("MaxAttempts="+strconv.Itoa(tc.maxAttempts), func(t *testing.T) {
			t.Parallel()
			v := newITest(t, func(c *cwobject.Config) { c.Retry.MaxAttempts = tc.maxAttempts })
			ctx := v.ctx()
			v.e.InjectFault("ListAccessKeyInfo", emulator.Fault{Count: 100, HTTPStatus: http.StatusServiceUnavailable, Message: "down for maintenance"})
			done := start(func() error {
				_, err := v.c.ListAccessKeyInfo(ctx, cwobject.ListAccessKeyInfoRequest{Limit: 5})
				return err
			})
			for range tc.waits {
				v.advanceRetry(ctx)
			}
			err := v.await(done)
			expectStatusError(t, err, "ListAccessKeyInfo", cwobject.CodeUnavailable, "down for maintenance")
			if !cwobject.IsRetryable(err) || cwobject.IsUnrecoverable(err) {
				t.Fatalf("IsRetryable %v IsUnrecoverable %v, want true false", cwobject.IsRetryable(err), cwobject.IsUnrecoverable(err))
			}
			v.expectCalls(map[string]int{"ListAccessKeyInfo": len(tc.waits) + 1})
			v.expectWaits(tc.waits...)
		})
	}
}

// promptly bounds, in wall time, how long a call may take to return once its
// context is canceled; generous, for loaded machines under -race.
const promptly = 5 * time.Second

func TestCancellationStopsPromptly(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		fault emulator.Fault
	}{
		{"during backoff", emulator.Fault{Count: 5, HTTPStatus: http.StatusServiceUnavailable}},
		{"during a Retry-After wait", emulator.Fault{HTTPStatus: http.StatusTooManyRequests, RetryAfter: 30 * time.Second}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			v := newITest(t)
			ctx, cancel := context.WithCancel(v.ctx())
			v.e.InjectFault("ListAccessPolicies", tc.fault)
			done := start(func() error { _, err := v.c.ListAccessPolicies(ctx); return err })
			if err := v.fake.BlockUntilContext(ctx, 1); err != nil {
				t.Fatal(err)
			}
			cancel() // the fake clock never moves: only the cancellation can end the wait
			canceledAt := time.Now()
			err := v.await(done)
			if d := time.Since(canceledAt); d > promptly {
				t.Fatalf("returned %v after the cancellation", d)
			}
			var se *cwobject.StatusError
			if !errors.Is(err, context.Canceled) || !errors.As(err, &se) {
				t.Fatalf("got %v, want the last answer and context.Canceled", err)
			}
			if !strings.Contains(err.Error(), "stopped waiting to retry") {
				t.Fatalf("error %q does not say the wait was stopped", err)
			}
			v.expectCalls(map[string]int{"ListAccessPolicies": 1})
		})
	}
	t.Run("while the request is in flight", func(t *testing.T) {
		t.Parallel()
		v := newITest(t)
		ctx, cancel := context.WithCancel(v.ctx())
		v.e.InjectFault("AuthCanI", emulator.Fault{Latency: time.Hour})
		done := start(func() error {
			_, err := v.c.AuthCanI(ctx, cwobject.AuthCanIRequest{Actions: []string{"s3:CreateBucket"}, Resources: []string{"*"}})
			return err
		})
		if err := v.fake.BlockUntilContext(ctx, 1); err != nil { // the emulator holds the request
			t.Fatal(err)
		}
		cancel()
		canceledAt := time.Now()
		err := v.await(done)
		if d := time.Since(canceledAt); d > promptly {
			t.Fatalf("returned %v after the cancellation", d)
		}
		var te *cwobject.TransportError
		if !errors.As(err, &te) || !errors.Is(err, context.Canceled) {
			t.Fatalf("got %T %v, want a *cwobject.TransportError wrapping context.Canceled", err, err)
		}
		if cwobject.IsRetryable(err) || cwobject.IsUnrecoverable(err) || cwobject.CodeOf(err) != cwobject.CodeCanceled {
			t.Fatalf("IsRetryable %v IsUnrecoverable %v CodeOf %v", cwobject.IsRetryable(err), cwobject.IsUnrecoverable(err), cwobject.CodeOf(err))
		}
		v.expectCalls(map[string]int{"AuthCanI": 1})
		v.expectWaits()
	})
}

// ---------------------------------------------------------------------------
// Client-side validation.

func TestValidationRefusesBeforeSending(t *testing.T) {
	t.Parallel()
	v := newITest(t)
	ctx := v.ctx()
	tok := v.devToken(devissuer.MintOptions{Subject: "w"})
	saml := cwobject.CreateAccessKeyFromSAMLRequest{OrgID: v.e.OrgID(), SAMLResponse: "PHNhbWxwOlJlc3BvbnNlLz4=", ConfigID: "cfg"}
	v.secret("SAML response", saml.SAMLResponse)
	oidc := cwobject.CreateAccessKeyFromOIDCRequest{OrgID: v.e.OrgID(), OIDCToken: tok}
	secretKey := "cwo" + strings.Repeat("k3y5", 10)
	v.secret("secret key", secretKey)
	noToken := v.client(cwobject.Config{BaseURL: v.api.URL, HTTPClient: v.api.Client(), Clock: v.clock})
	good := readPolicy("p", []string{"s3:ListAllMyBuckets"}, "coreweave/x")
	withStatement := func(f func(*cwobject.PolicyStatement)) cwobject.Policy {
		p := readPolicy("p", []string{"s3:ListAllMyBuckets"}, "coreweave/x")
		f(&p.Statements[0])
		return p
	}
	listKeys := func(r cwobject.ListAccessKeyInfoRequest) func() error {
		return func() error { _, err := v.c.ListAccessKeyInfo(ctx, r); return err }
	}
	listBuckets := func(r cwobject.ListBucketInfoRequest) func() error {
		return func() error { _, err := v.c.ListBucketInfo(ctx, r); return err }
	}
	oidcWith := func(f func(*cwobject.CreateAccessKeyFromOIDCRequest)) func() error {
		r := oidc
		f(&r)
		return func() error { _, err := v.c.CreateAccessKeyFromOIDC(ctx, r); return err }
	}
	samlWith := func(f func(*cwobject.CreateAccessKeyFromSAMLRequest)) func() error {
		r := saml
		f(&r)
		return func() error { _, err := v.c.CreateAccessKeyFromSAML(ctx, r); return err }
	}
	update := func(principal string, st cwobject.AccessKeyStatus) func() error {
		return func() error {
			return v.c.UpdateAccessKeyStatus(ctx, cwobject.UpdateAccessKeyStatusRequest{PrincipalName: principal, Status: st})
		}
	}
	for _, tc := range []struct {
		name, op, field string
		call            func() error
	}{
		{"key list limit 1001", "ListAccessKeyInfo", "limit", listKeys(cwobject.ListAccessKeyInfoRequest{Limit: 1001})},
		{"key list limit -1", "ListAccessKeyInfo", "limit", listKeys(cwobject.ListAccessKeyInfoRequest{Limit: -1})},
		{"key list offset -1", "ListAccessKeyInfo", "offset", listKeys(cwobject.ListAccessKeyInfoRequest{Offset: -1, Limit: 10})},
		{"key list unknown status", "ListAccessKeyInfo", "status", listKeys(cwobject.ListAccessKeyInfoRequest{Status: "REVOKED"})},
		{"bucket list limit 1001", "ListBucketInfo", "limit", listBuckets(cwobject.ListBucketInfoRequest{Limit: 1001})},
		{"bucket list limit -5", "ListBucketInfo", "limit", listBuckets(cwobject.ListBucketInfoRequest{Limit: -5})},
		{"walk with page size 1001", "ListAccessKeyInfo", "limit", func() error { _, err := v.c.AllAccessKeyInfo(ctx, "", 1001); return err }},
		{"bucket walk with page size -1", "ListBucketInfo", "limit", func() error { _, err := v.c.AllBucketInfo(ctx, -1); return err }},
		{"OIDC durationSeconds 43201", "CreateAccessKeyFromOIDC", "durationSeconds", oidcWith(func(r *cwobject.CreateAccessKeyFromOIDCRequest) { r.DurationSeconds = 43201 })},
		{"OIDC durationSeconds -1", "CreateAccessKeyFromOIDC", "durationSeconds", oidcWith(func(r *cwobject.CreateAccessKeyFromOIDCRequest) { r.DurationSeconds = -1 })},
		{"OIDC without orgId", "CreateAccessKeyFromOIDC", "orgId", oidcWith(func(r *cwobject.CreateAccessKeyFromOIDCRequest) { r.OrgID = " " })},
		{"OIDC without token", "CreateAccessKeyFromOIDC", "oidcToken", oidcWith(func(r *cwobject.CreateAccessKeyFromOIDCRequest) { r.OIDCToken = "" })},
		{"OIDC attribute with an empty key", "CreateAccessKeyFromOIDC", "attributes", oidcWith(func(r *cwobject.CreateAccessKeyFromOIDCRequest) { r.Attributes = map[string]string{"": "x"} })},
		{"SAML durationSeconds 43201", "CreateAccessKeyFromSAML", "durationSeconds", samlWith(func(r *cwobject.CreateAccessKeyFromSAMLRequest) { r.DurationSeconds = 43201 })},
		{"SAML without configId", "CreateAccessKeyFromSAML", "configId", samlWith(func(r *cwobject.CreateAccessKeyFromSAMLRequest) { r.ConfigID = "" })},
		{"SAML without orgId", "CreateAccessKeyFromSAML", "orgId", samlWith(func(r *cwobject.CreateAccessKeyFromSAMLRequest) { r.OrgID = "" })},
		{"SAML without response", "CreateAccessKeyFromSAML", "samlResponse", samlWith(func(r *cwobject.CreateAccessKeyFromSAMLRequest) { r.SAMLResponse = "" })},
		{"JWT durationSeconds -1", "CreateAccessKeyFromJWT", "durationSeconds", func() error {
			_, err := v.c.CreateAccessKeyFromJWT(ctx, cwobject.CreateAccessKeyFromJWTRequest{DurationSeconds: -1})
			return err
		}},
		{"JWT durationSeconds 43201", "CreateAccessKeyFromJWT", "durationSeconds", func() error {
			_, err := v.c.CreateAccessKeyFromJWT(ctx, cwobject.CreateAccessKeyFromJWTRequest{DurationSeconds: 43201})
			return err
		}},
		{"update to UNSPECIFIED", "UpdateAccessKeyStatus", "status", update("role/x", cwobject.AccessKeyStatusUnspecified)},
		{"update to no status", "UpdateAccessKeyStatus", "status", update("role/x", "")},
		{"update without principal", "UpdateAccessKeyStatus", "principalName", update("", cwobject.AccessKeyStatusActive)},
		{"AuthCanI without actions", "AuthCanI", "actions", func() error {
			_, err := v.c.AuthCanI(ctx, cwobject.AuthCanIRequest{Resources: []string{"*"}})
			return err
		}},
		{"AuthCanI with an empty resource", "AuthCanI", "resources[0]", func() error {
			_, err := v.c.AuthCanI(ctx, cwobject.AuthCanIRequest{Actions: []string{"s3:CreateBucket"}, Resources: []string{" "}})
			return err
		}},
		{"policy effect allow (lower case)", "EnsureAccessPolicy", "policy.statements[0].effect", func() error {
			return v.c.EnsureAccessPolicy(ctx, withStatement(func(s *cwobject.PolicyStatement) { s.Effect = "allow" }))
		}},
		{"policy effect missing", "EnsureAccessPolicy", "policy.statements[0].effect", func() error {
			return v.c.EnsureAccessPolicy(ctx, withStatement(func(s *cwobject.PolicyStatement) { s.Effect = "" }))
		}},
		{"policy version v1", "EnsureAccessPolicy", "policy.version", func() error {
			p := good
			p.Version = "v1"
			return v.c.EnsureAccessPolicy(ctx, p)
		}},
		{"policy without name", "EnsureAccessPolicy", "policy.name", func() error {
			p := good
			p.Name = ""
			return v.c.EnsureAccessPolicy(ctx, p)
		}},
		{"policy without statements", "EnsureAccessPolicy", "policy.statements", func() error {
			return v.c.EnsureAccessPolicy(ctx, cwobject.Policy{Name: "p"})
		}},
		{"policy statement without principals", "EnsureAccessPolicy", "policy.statements[0].principals", func() error {
			return v.c.EnsureAccessPolicy(ctx, withStatement(func(s *cwobject.PolicyStatement) { s.Principals = nil }))
		}},
		{"delete policy without name", "DeleteAccessPolicy", "name", func() error { return v.c.DeleteAccessPolicy(ctx, "") }},
		{"delete policy named ..", "DeleteAccessPolicy", "name", func() error { return v.c.DeleteAccessPolicy(ctx, "..") }},
		{"get key without id", "GetAccessKeyInfo", "accessKeyId", func() error { _, err := v.c.GetAccessKeyInfo(ctx, ""); return err }},
		{"get key by its secret", "GetAccessKeyInfo", "accessKeyId", func() error { _, err := v.c.GetAccessKeyInfo(ctx, secretKey); return err }},
		{"revoke key by its secret", "RevokeAccessKeyByAccessKey", "accessKey", func() error { return v.c.RevokeAccessKeyByAccessKey(ctx, secretKey) }},
		{"revoke key without id", "RevokeAccessKeyByAccessKey", "accessKey", func() error { return v.c.RevokeAccessKeyByAccessKey(ctx, "") }},
		{"revoke principal without name", "RevokeAccessKeysByPrincipal", "principalName", func() error { return v.c.RevokeAccessKeysByPrincipal(ctx, "") }},
		{"bucket settings without bucket", "SetBucketSettings", "bucketName", func() error {
			_, err := v.c.SetBucketSettings(ctx, cwobject.SetBucketSettingsRequest{Settings: cwobject.BucketSettings{ArchiveEnabled: ptr(true)}})
			return err
		}},
		{"bucket info without name", "GetBucketInfo", "bucketName", func() error { _, err := v.c.GetBucketInfo(ctx, ""); return err }},
		{"container creds without org", "CreateAccessKeyFromContainerCreds", "orgId", func() error {
			_, err := v.c.CreateAccessKeyFromContainerCreds(ctx, "", tok)
			return err
		}},
		{"container creds without JWT", "CreateAccessKeyFromContainerCreds", "jwt", func() error {
			_, err := v.c.CreateAccessKeyFromContainerCreds(ctx, v.e.OrgID(), " ")
			return err
		}},
		{"no API token", "ListAccessPolicies", "token", func() error { _, err := noToken.ListAccessPolicies(ctx); return err }},
		{"API token with a line break", "CreateAccessKeyFromApiToken", "token", func() error {
			_, err := v.c.WithToken(v.admin[:12] + "\n" + v.admin[12:]).CreateAccessKeyFromApiToken(ctx)
			return err
		}},
		{"nil context", "ListAccessPolicies", "ctx", func() error {
			var nilCtx context.Context
			_, err := v.c.ListAccessPolicies(nilCtx) // refused, not a panic
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := v.in(t)
			v.resetCounts()
			err := v.track(tc.call())
			var ve *cwobject.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("got %T %v, want a *cwobject.ValidationError", err, err)
			}
			if ve.Op != tc.op || ve.Field != tc.field {
				t.Fatalf("refused %s.%s (%v), want %s.%s", ve.Op, ve.Field, err, tc.op, tc.field)
			}
			if cwobject.IsRetryable(err) || !cwobject.IsUnrecoverable(err) || cwobject.CodeOf(err) != cwobject.CodeInvalidArgument {
				t.Fatalf("IsRetryable %v IsUnrecoverable %v CodeOf %v", cwobject.IsRetryable(err), cwobject.IsUnrecoverable(err), cwobject.CodeOf(err))
			}
			if reqs := v.requests(); len(reqs) != 0 {
				t.Fatalf("%d requests reached the API", len(reqs))
			}
			v.expectCalls(map[string]int{})
		})
	}
}

// TestListLimitZeroMeansMax: limit 0 is not refused; it is sent as 1000, which
// the server accepts (it refuses a missing or zero limit).
func TestListLimitZeroMeansMax(t *testing.T) {
	t.Parallel()
	v := newITest(t)
	ctx := v.ctx()
	v.mintJWT(ctx, 60)
	v.resetCounts()
	keys, err := v.c.ListAccessKeyInfo(ctx, cwobject.ListAccessKeyInfoRequest{})
	v.ok(err)
	buckets, err := v.c.ListBucketInfo(ctx, cwobject.ListBucketInfoRequest{})
	v.ok(err)
	if len(keys) != 1 || len(buckets) != 0 {
		t.Fatalf("%d keys, %d buckets", len(keys), len(buckets))
	}
	for _, path := range []string{cwobject.OpListAccessKeyInfo.Path, cwobject.OpListBucketInfo.Path} {
		if q := v.pageQueries(path); !slices.Equal(q, []string{"0/1000/"}) {
			t.Fatalf("%s sent %v, want offset 0 limit 1000", path, q)
		}
	}
	v.expectCalls(map[string]int{"ListAccessKeyInfo": 1, "ListBucketInfo": 1})
}

// ---------------------------------------------------------------------------
// Secrets never surface in errors. Every test checks its own errors at cleanup
// (itest.assertNoSecretLeaked); this one provokes the errors most likely to
// carry a credential: a server (or proxy) that echoes what it was sent.

func TestNoSecretInAnyError(t *testing.T) {
	t.Parallel()
	v := newITest(t)
	ctx := v.ctx()
	jwt := v.devToken(devissuer.MintOptions{Subject: "echo"})
	podJWT := v.devToken(devissuer.MintOptions{Subject: "echo-pod"})
	configID, samlResponse := emulator.SAMLIdPForTest(t, v.e, v.fake)
	resp := samlResponse("ml", "dave@example.test")
	v.secret("SAML response", resp)
	k := v.mintJWT(ctx, 3600)
	user := v.userToken("eve")

	// echo makes the next call of op fail with msg, as a server (or a proxy)
	// that quotes what it was sent would.
	echo := func(op string, code cwobject.Code, msg string) {
		v.e.InjectFault(op, emulator.Fault{Code: code, Message: msg})
	}
	for _, tc := range []struct {
		name string
		call func(v *itest) error
	}{
		{"admin token echoed", func(v *itest) error {
			echo("ListAccessPolicies", cwobject.CodeInvalidArgument, "token "+v.admin+" is odd; Authorization: Bearer "+v.admin)
			_, err := v.c.ListAccessPolicies(ctx)
			return err
		}},
		{"user token echoed on a refusal", func(v *itest) error {
			echo("ListAccessKeyInfo", cwobject.CodePermissionDenied, "caller "+user+" may not")
			_, err := v.c.WithToken(user).ListAccessKeyInfo(ctx, cwobject.ListAccessKeyInfoRequest{})
			return err
		}},
		{"OIDC JWT echoed", func(v *itest) error {
			echo("CreateAccessKeyFromOIDC", cwobject.CodeUnauthenticated, "cannot verify "+jwt)
			_, err := v.c.CreateAccessKeyFromOIDC(ctx, cwobject.CreateAccessKeyFromOIDCRequest{OrgID: v.e.OrgID(), OIDCToken: jwt})
			return err
		}},
		{"container JWT echoed", func(v *itest) error {
			echo("CreateAccessKeyFromContainerCreds", cwobject.CodeUnauthenticated, "bad Authorization "+podJWT)
			_, err := v.c.CreateAccessKeyFromContainerCreds(ctx, v.e.OrgID(), podJWT)
			return err
		}},
		{"SAML response echoed", func(v *itest) error {
			echo("CreateAccessKeyFromSAML", cwobject.CodeInvalidArgument, "cannot parse samlResponse="+resp)
			_, err := v.c.CreateAccessKeyFromSAML(ctx, cwobject.CreateAccessKeyFromSAMLRequest{
				OrgID: v.e.OrgID(), SAMLResponse: resp, ConfigID: configID})
			return err
		}},
		{"secret key echoed", func(v *itest) error {
			echo("GetAccessKeyInfo", cwobject.CodeNotFound, "no key with secret "+k.SecretKey)
			_, err := v.c.GetAccessKeyInfo(ctx, k.AccessKeyID)
			return err
		}},
		{"secret key passed as a key id", func(v *itest) error { return v.c.RevokeAccessKeyByAccessKey(ctx, k.SecretKey) }},
		{"bad token refused", func(v *itest) error {
			bad := v.admin[:len(v.admin)-4] + "XXXX"
			v.secret("bad token", bad)
			_, err := v.c.WithToken(bad).CreateAccessKeyFromApiToken(ctx)
			return err
		}},
		{"replayed SAML response", func(v *itest) error {
			_, err := v.c.CreateAccessKeyFromSAML(ctx, cwobject.CreateAccessKeyFromSAMLRequest{
				OrgID: v.e.OrgID(), SAMLResponse: resp, ConfigID: configID})
			v.ok(err)
			_, err = v.c.CreateAccessKeyFromSAML(ctx, cwobject.CreateAccessKeyFromSAMLRequest{
				OrgID: v.e.OrgID(), SAMLResponse: resp, ConfigID: configID})
			return err
		}},
		{"malformed create answer holding a secret", func(v *itest) error {
			v.e.InjectFault("CreateAccessKeyFromApiToken", emulator.Fault{Malformed: true})
			_, err := v.c.CreateAccessKeyFromApiToken(ctx)
			keys, lerr := v.c.ListAccessKeyInfo(ctx, cwobject.ListAccessKeyInfoRequest{})
			v.ok(lerr)
			for _, in := range keys {
				s, _ := v.e.ResolveKey(in.AccessKeyID)
				v.secret("secret key", s)
			}
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := v.in(t)
			err := v.track(tc.call(v))
			if err == nil {
				t.Fatal("the call succeeded")
			}
			for _, text := range []string{err.Error(), fmt.Sprintf("%+v", err)} {
				if kinds := v.leaks(text); len(kinds) > 0 {
					t.Fatalf("error (%T) holds a credential: %v", err, kinds)
				}
			}
		})
	}
}
