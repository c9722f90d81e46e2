package login_test

import (
	"bytes"
	"compress/flate"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/crewjam/saml"
	"github.com/jonboulle/clockwork"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/cwcreds/cwcreds/internal/cwobject"
	"github.com/cwcreds/cwcreds/internal/emulator"
	"github.com/cwcreds/cwcreds/internal/emulator/devsaml"
	"github.com/cwcreds/cwcreds/internal/exchange"
	"github.com/cwcreds/cwcreds/internal/login"
)

const devPassword = "correct horse battery staple"

// samlRig is the emulator, the dev SAML IdP trusting each other, and a free
// loopback port for the login's ACS, registered with the IdP.
type samlRig struct {
	t          *testing.T
	ctx        context.Context
	e          *emulator.Emulator
	idp        *devsaml.IdP
	configID   string
	listenAddr string
	acsURL     string
	logs       *observer.ObservedLogs
	log        *zap.Logger
}

func newSAMLRig(t *testing.T, roles ...string) *samlRig {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	e, err := emulator.New(emulator.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(ctx, "127.0.0.1:0", "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	idp, err := devsaml.New(devsaml.Config{Password: devPassword, Roles: roles, PrincipalName: "dev@example.test"}, ln)
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan struct{})
	go func() { defer close(served); _ = idp.Serve(ctx) }()
	t.Cleanup(func() { cancel(); <-served })

	listenAddr := freeLoopbackAddr(t)
	acsURL, err := login.SAMLLoginACSURL(listenAddr)
	if err != nil {
		t.Fatal(err)
	}
	if acsURL != "http://"+listenAddr+cwobject.SAMLLoopbackACSPath {
		t.Fatalf("ACS URL %s", acsURL)
	}
	configID, err := devsaml.Register(e, idp, acsURL)
	if err != nil {
		t.Fatal(err)
	}
	core, logs := observer.New(zap.DebugLevel)
	return &samlRig{t: t, ctx: ctx, e: e, idp: idp, configID: configID, listenAddr: listenAddr, acsURL: acsURL,
		logs: logs, log: zap.New(core)}
}

// freeLoopbackAddr is a 127.0.0.1 address with a port free a moment ago: the
// IdP must know the ACS URL before the login listens on it.
func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// opener records the URLs a login opens, as a browser would receive them.
type opener chan string

func (o opener) open(u string) error {
	o <- u
	return nil
}

func (r *samlRig) config(open opener) login.SAMLLoginConfig {
	md, err := login.SAMLLoginFetchIDPMetadata(r.ctx, nil, r.idp.MetadataURL())
	if err != nil {
		r.t.Fatal(err)
	}
	return login.SAMLLoginConfig{
		IDPMetadata: md,
		SPEntityID:  cwobject.SAMLServiceProviderEntityID(r.e.OrgID()),
		ListenAddr:  r.listenAddr,
		Open:        open.open,
		Timeout:     20 * time.Second,
		Logger:      r.log,
	}
}

func newBrowser(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: 10 * time.Second}
}

type runResult struct {
	res login.SAMLLoginResult
	err error
}

func start(ctx context.Context, l *login.SAMLLogin) <-chan runResult {
	out := make(chan runResult, 1)
	go func() {
		res, err := l.Run(ctx)
		out <- runResult{res, err}
	}()
	return out
}

// idpForm logs in at the IdP from startURL and returns the response form.
func (r *samlRig) idpForm(startURL string) *devsaml.Form {
	r.t.Helper()
	form, err := devsaml.LogIn(r.ctx, newBrowser(r.t), startURL, devsaml.UserName, devPassword)
	if err != nil {
		r.t.Fatal(err)
	}
	if form.Action != r.acsURL {
		r.t.Fatalf("the IdP posts to %s, want %s", form.Action, r.acsURL)
	}
	return form
}

// post submits the response form to the ACS and returns the page.
func (r *samlRig) post(form *devsaml.Form) string {
	r.t.Helper()
	// A loaded machine may not have the ACS listening yet: retry a refused
	// connection (a refusal page comes with an error too, and is the answer).
	for try := 1; ; try++ {
		body, _, err := devsaml.Submit(r.ctx, newBrowser(r.t), form)
		if !errors.Is(err, syscall.ECONNREFUSED) || try == 5 || r.ctx.Err() != nil {
			return string(body)
		}
		r.t.Logf("posting to the ACS: %v; trying again", err)
		time.Sleep(200 * time.Millisecond)
	}
}

// secretParts are pieces of a response that must never appear in an error or log.
func secretParts(t *testing.T, samlResponse string) []string {
	t.Helper()
	doc, err := base64.StdEncoding.DecodeString(samlResponse)
	if err != nil {
		t.Fatal(err)
	}
	parts := []string{samlResponse, samlResponse[:40], samlResponse[len(samlResponse)-40:], "Assertion", "SignatureValue", "dev@example.test"}
	if i := bytes.Index(doc, []byte("<saml:Assertion")); i >= 0 {
		parts = append(parts, string(doc[i:i+60]))
	}
	return parts
}

func (r *samlRig) noSecrets(samlResponse string, texts ...string) {
	r.t.Helper()
	for _, e := range r.logs.All() {
		line := e.Message
		for _, f := range e.Context {
			line += " " + f.Key + "=" + f.String
			if f.Interface != nil {
				if err, ok := f.Interface.(error); ok {
					line += err.Error()
				}
			}
		}
		texts = append(texts, line)
	}
	for _, text := range texts {
		for _, part := range secretParts(r.t, samlResponse) {
			if strings.Contains(text, part) {
				r.t.Fatalf("%q appears in %q", part, text)
			}
		}
	}
}

func TestSAMLLoginFullFlowExchangesAndS3AcceptsTheKeys(t *testing.T) {
	r := newSAMLRig(t, "dev", "ml-engineers")
	open := make(opener, 1)
	cfg := r.config(open)
	var offered []string
	cfg.PickRole = func(_ context.Context, roles []string) (string, error) {
		offered = roles
		return "dev", nil
	}
	l, err := login.NewSAMLLogin(cfg)
	if err != nil {
		t.Fatal(err)
	}
	done := start(r.ctx, l)
	form := r.idpForm(<-open)
	page := r.post(form)
	if !strings.Contains(page, "Login succeeded") || !strings.Contains(page, "close this tab") {
		t.Fatalf("the tab ends on %q", page)
	}
	got := <-done
	if got.err != nil {
		t.Fatal(got.err)
	}
	res := got.res
	if !slices.Equal(res.Roles, []string{"dev", "ml-engineers"}) || !slices.Equal(offered, res.Roles) || res.Role != "dev" {
		t.Fatalf("roles %q, offered %q, chosen %q", res.Roles, offered, res.Role)
	}
	if res.PrincipalName != "dev@example.test" || res.SAMLResponse != form.Values.Get("SAMLResponse") {
		t.Fatalf("principal name %q; response kept as posted: %v", res.PrincipalName, res.SAMLResponse == form.Values.Get("SAMLResponse"))
	}
	if !res.ExchangeBy.After(time.Now()) || res.ExchangeBy.After(time.Now().Add(5*time.Minute)) {
		t.Fatalf("exchange by %v", res.ExchangeBy)
	}
	for _, s := range []string{res.String(), res.GoString()} {
		if strings.Contains(s, res.SAMLResponse) || !strings.Contains(s, "dev") {
			t.Fatalf("String: %q", s)
		}
	}

	client, err := cwobject.New(cwobject.Config{BaseURL: r.e.APIURL()})
	if err != nil {
		t.Fatal(err)
	}
	x, err := exchange.NewSAMLExchange(exchange.SAMLExchangeConfig{
		Client: client, Source: res, OrgID: r.e.OrgID(), ConfigID: r.configID, Lifetime: time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	keys, err := x.Fetch(r.ctx)
	if err != nil {
		t.Fatalf("CreateAccessKeyFromSAML refused the login's response: %v", err)
	}
	if keys.Principal != "saml/dev" {
		t.Fatalf("principal %q", keys.Principal)
	}
	s3c := s3.New(s3.Options{
		Region:                     r.e.Region(),
		Credentials:                credentials.NewStaticCredentialsProvider(keys.AccessKeyID, keys.SecretAccessKey, ""),
		BaseEndpoint:               aws.String(r.e.S3URL()),
		UsePathStyle:               true,
		Retryer:                    aws.NopRetryer{},
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	})
	if _, err := s3c.ListBuckets(r.ctx, &s3.ListBucketsInput{}); err != nil {
		t.Fatalf("the emulator's S3 refuses the keys: %v", err)
	}
	// The exchange is one-shot: the same response again is a replay.
	if _, err := x.Fetch(r.ctx); err == nil || !strings.Contains(err.Error(), "replayed") {
		t.Fatalf("second exchange of the response: %v", err)
	} else {
		r.noSecrets(res.SAMLResponse, err.Error())
	}
	r.noSecrets(res.SAMLResponse, page)
}

// refusal runs a login whose response tamper changes (given the login's start
// URL, which it may rewrite, and the form the IdP answers) and checks it is
// refused for reason, with want in the message, and nothing secret in it.
func (r *samlRig) refusal(cfg login.SAMLLoginConfig, open opener, tamper func(startURL string) *devsaml.Form, reason login.SAMLLoginRefusal, want string) {
	r.t.Helper()
	l, err := login.NewSAMLLogin(cfg)
	if err != nil {
		r.t.Fatal(err)
	}
	r.refusalWith(l, open, tamper, reason, want)
}

func (r *samlRig) refusalWith(l *login.SAMLLogin, open opener, tamper func(startURL string) *devsaml.Form, reason login.SAMLLoginRefusal, want string) {
	r.t.Helper()
	done := start(r.ctx, l)
	form := tamper(<-open)
	page := r.post(form)
	got := <-done
	var le *login.SAMLLoginError
	if !errors.As(got.err, &le) || le.Kind != login.SAMLLoginRefused || le.Reason != reason {
		r.t.Fatalf("want refusal %q, got %v (%#v)", reason, got.err, got.err)
	}
	if !strings.Contains(got.err.Error(), want) {
		r.t.Fatalf("error %q does not say %q", got.err, want)
	}
	if !strings.Contains(page, "Login failed") || !strings.Contains(page, want) {
		r.t.Fatalf("the tab shows %q", page)
	}
	r.noSecrets(form.Values.Get("SAMLResponse"), got.err.Error(), page)
}

// rewriteRequest edits the AuthnRequest XML inside a redirect-binding URL.
func rewriteRequest(t *testing.T, startURL string, edit func(string) string) string {
	t.Helper()
	u, err := url.Parse(startURL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	raw, err := base64.StdEncoding.DecodeString(q.Get("SAMLRequest"))
	if err != nil {
		t.Fatal(err)
	}
	xml, err := io.ReadAll(flate.NewReader(bytes.NewReader(raw)))
	if err != nil {
		t.Fatal(err)
	}
	edited := edit(string(xml))
	if edited == string(xml) {
		t.Fatal("the edit changed nothing")
	}
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.DefaultCompression)
	_, _ = w.Write([]byte(edited))
	_ = w.Close()
	q.Set("SAMLRequest", base64.StdEncoding.EncodeToString(buf.Bytes()))
	u.RawQuery = q.Encode()
	return u.String()
}

func TestSAMLLoginRefusesAResponseForAnotherSP(t *testing.T) {
	r := newSAMLRig(t)
	// The IdP also knows another SP with the same loopback ACS; the login's
	// request is re-issued in that SP's name, so the answer is for it.
	other := "https://other-sp.example.test/saml"
	md, _ := r.e.SAMLServiceProviderMetadata(r.configID)
	md.EntityID = other
	if err := r.idp.AddServiceProvider("other", devsaml.WithLoopbackACS(md, r.acsURL)); err != nil {
		t.Fatal(err)
	}
	open := make(opener, 1)
	spID := cwobject.SAMLServiceProviderEntityID(r.e.OrgID())
	r.refusal(r.config(open), open, func(startURL string) *devsaml.Form {
		return r.idpForm(rewriteRequest(t, startURL, func(x string) string { return strings.Replace(x, ">"+spID+"<", ">"+other+"<", 1) }))
	}, login.SAMLLoginRefusedAudience, "wrong audience")
}

func TestSAMLLoginRefusesAnExpiredResponse(t *testing.T) {
	r := newSAMLRig(t)
	open := make(opener, 1)
	cfg := r.config(open)
	clock := clockwork.NewFakeClockAt(time.Now())
	cfg.Clock = clock
	r.refusal(cfg, open, func(startURL string) *devsaml.Form {
		form := r.idpForm(startURL)
		clock.Advance(10 * time.Minute) // the browser took ten minutes to post it
		return form
	}, login.SAMLLoginRefusedExpired, "expired")
}

func TestSAMLLoginRefusesAReplayedResponse(t *testing.T) {
	r := newSAMLRig(t)
	open := make(opener, 1)
	l, err := login.NewSAMLLogin(r.config(open))
	if err != nil {
		t.Fatal(err)
	}
	done := start(r.ctx, l)
	first := r.idpForm(<-open)
	r.post(first)
	if got := <-done; got.err != nil {
		t.Fatal(got.err)
	}
	// The next login of the same SAMLLogin gets the first response again, with
	// the new login's RelayState.
	r.refusalWith(l, open, func(startURL string) *devsaml.Form {
		u, _ := url.Parse(startURL)
		replay := &devsaml.Form{Action: first.Action, Method: first.Method, Values: url.Values{}}
		replay.Values.Set("SAMLResponse", first.Values.Get("SAMLResponse"))
		replay.Values.Set("RelayState", u.Query().Get("RelayState"))
		return replay
	}, login.SAMLLoginRefusedReplayed, "already used")
}

func TestSAMLLoginRefusesAWrongInResponseTo(t *testing.T) {
	r := newSAMLRig(t)
	open := make(opener, 1)
	r.refusal(r.config(open), open, func(startURL string) *devsaml.Form {
		return r.idpForm(rewriteRequest(t, startURL, func(x string) string {
			return strings.Replace(x, `ID="id-`, `ID="id-other`, 1)
		}))
	}, login.SAMLLoginRefusedInResponse, "InResponseTo")
}

func TestSAMLLoginRefusesATamperedResponse(t *testing.T) {
	r := newSAMLRig(t)
	open := make(opener, 1)
	r.refusal(r.config(open), open, func(startURL string) *devsaml.Form {
		form := r.idpForm(startURL)
		doc, err := base64.StdEncoding.DecodeString(form.Values.Get("SAMLResponse"))
		if err != nil {
			t.Fatal(err)
		}
		tampered := bytes.ReplaceAll(doc, []byte("dev@example.test"), []byte("eve@example.test"))
		if bytes.Equal(tampered, doc) {
			t.Fatal("nothing to tamper with")
		}
		form.Values.Set("SAMLResponse", base64.StdEncoding.EncodeToString(tampered))
		return form
	}, login.SAMLLoginRefusedSignature, "bad signature")
}

func TestSAMLLoginRefusesAnotherLoginsRelayState(t *testing.T) {
	r := newSAMLRig(t)
	open := make(opener, 1)
	r.refusal(r.config(open), open, func(startURL string) *devsaml.Form {
		form := r.idpForm(startURL)
		form.Values.Set("RelayState", "not-this-login")
		return form
	}, login.SAMLLoginRefusedRelayState, "RelayState")
}

func TestSAMLLoginTimesOut(t *testing.T) {
	r := newSAMLRig(t)
	open := make(opener, 1)
	cfg := r.config(open)
	cfg.Timeout = 300 * time.Millisecond
	l, err := login.NewSAMLLogin(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = l.Run(r.ctx)
	<-open
	var le *login.SAMLLoginError
	if !errors.As(err, &le) || le.Kind != login.SAMLLoginTimedOut || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want a timeout, got %v", err)
	}
	if !strings.Contains(err.Error(), "timed out") || !strings.Contains(err.Error(), "--timeout") {
		t.Fatalf("unclear timeout: %v", err)
	}
	// The ACS is closed once the login is over.
	if resp, err := http.Post(r.acsURL, "application/x-www-form-urlencoded", strings.NewReader("SAMLResponse=x")); err == nil {
		_ = resp.Body.Close()
		t.Fatalf("the ACS still answers after the timeout: HTTP %d", resp.StatusCode)
	}
}

func TestSAMLLoginCanceled(t *testing.T) {
	r := newSAMLRig(t)
	open := make(opener, 1)
	l, err := login.NewSAMLLogin(r.config(open))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(r.ctx)
	done := start(ctx, l)
	<-open
	cancel()
	got := <-done
	var le *login.SAMLLoginError
	if !errors.As(got.err, &le) || le.Kind != login.SAMLLoginCanceled || !errors.Is(got.err, context.Canceled) {
		t.Fatalf("want canceled, got %v", got.err)
	}
}

func TestSAMLLoginRoleChoice(t *testing.T) {
	r := newSAMLRig(t, "dev", "ml-engineers")
	run := func(pick func(context.Context, []string) (string, error)) (login.SAMLLoginResult, error) {
		open := make(opener, 1)
		cfg := r.config(open)
		cfg.PickRole = pick
		l, err := login.NewSAMLLogin(cfg)
		if err != nil {
			t.Fatal(err)
		}
		done := start(r.ctx, l)
		r.post(r.idpForm(<-open))
		got := <-done
		return got.res, got.err
	}
	res, err := run(login.SAMLLoginRole("ml-engineers"))
	if err != nil || res.Role != "ml-engineers" {
		t.Fatalf("--role ml-engineers: %v, %q", err, res.Role)
	}
	// The chosen role, not the first, is the keys' principal.
	client, err := cwobject.New(cwobject.Config{BaseURL: r.e.APIURL()})
	if err != nil {
		t.Fatal(err)
	}
	key, err := client.CreateAccessKeyFromSAML(r.ctx, cwobject.CreateAccessKeyFromSAMLRequest{
		DurationSeconds: 600, OrgID: r.e.OrgID(), ConfigID: r.configID, SAMLResponse: res.SAMLResponse, Attributes: res.Attributes(),
	})
	if err != nil {
		t.Fatalf("exchange for the chosen role: %v", err)
	}
	if key.PrincipalName != "saml/ml-engineers" {
		t.Fatalf("principal %q, want saml/ml-engineers", key.PrincipalName)
	}
	_, err = run(nil) // the default: one role only
	var le *login.SAMLLoginError
	if !errors.As(err, &le) || le.Kind != login.SAMLLoginRoleNotChosen || !strings.Contains(err.Error(), "dev, ml-engineers") || !strings.Contains(err.Error(), "--role") {
		t.Fatalf("several roles and no choice: %v", err)
	}
	_, err = run(login.SAMLLoginRole("admins"))
	if !errors.As(err, &le) || le.Kind != login.SAMLLoginRoleNotChosen || !strings.Contains(err.Error(), `"admins"`) {
		t.Fatalf("a role the assertion lacks: %v", err)
	}
	_, err = run(func(context.Context, []string) (string, error) { return "admins", nil })
	if !errors.As(err, &le) || le.Kind != login.SAMLLoginRoleNotChosen {
		t.Fatalf("a picker choosing a role the assertion lacks: %v", err)
	}
}

func TestNewSAMLLoginChecksItsConfig(t *testing.T) {
	r := newSAMLRig(t)
	open := make(opener, 1)
	good := r.config(open)
	for name, c := range map[string]func(*login.SAMLLoginConfig){
		"no metadata":    func(c *login.SAMLLoginConfig) { c.IDPMetadata = nil },
		"no audience":    func(c *login.SAMLLoginConfig) { c.SPEntityID = "" },
		"no opener":      func(c *login.SAMLLoginConfig) { c.Open = nil },
		"not loopback":   func(c *login.SAMLLoginConfig) { c.ListenAddr = "0.0.0.0:0" },
		"not an address": func(c *login.SAMLLoginConfig) { c.ListenAddr = "127.0.0.1" },
	} {
		cfg := good
		c(&cfg)
		if _, err := login.NewSAMLLogin(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := login.NewSAMLLogin(good); err != nil {
		t.Fatal(err)
	}
	for _, addr := range []string{"127.0.0.1:0", "10.0.0.1:8913", "localhost"} {
		if u, err := login.SAMLLoginACSURL(addr); err == nil {
			t.Errorf("SAMLLoginACSURL(%q) = %s", addr, u)
		}
	}
	if u, err := login.SAMLLoginACSURL("localhost:8913"); err != nil || u != "http://localhost:8913/saml/acs" {
		t.Errorf("SAMLLoginACSURL(localhost:8913) = %s, %v", u, err)
	}
	resp, err := http.Get(r.idp.MetadataURL())
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if md, err := login.SAMLLoginParseIDPMetadata(raw); err != nil || md.EntityID != r.idp.EntityID() {
		t.Fatalf("parse the IdP's metadata file: %v", err)
	}
	if _, err := login.SAMLLoginParseIDPMetadata([]byte("<nope/>")); err == nil {
		t.Fatal("parsed bad metadata")
	}
	for _, u := range []string{"file:///etc/passwd", "http://idp.example.test/metadata"} {
		if _, err := login.SAMLLoginFetchIDPMetadata(r.ctx, nil, u); err == nil || !strings.Contains(err.Error(), "https") {
			t.Errorf("metadata from %s: %v", u, err)
		}
	}
}

func TestSAMLLoginWithAnIdPThatTakesPOSTOnly(t *testing.T) {
	r := newSAMLRig(t)
	open := make(opener, 1)
	cfg := r.config(open)
	md := *cfg.IDPMetadata
	md.IDPSSODescriptors = slices.Clone(md.IDPSSODescriptors)
	sso := md.IDPSSODescriptors[0].SingleSignOnServices
	md.IDPSSODescriptors[0].SingleSignOnServices = nil
	for _, s := range sso {
		if s.Binding == saml.HTTPPostBinding {
			md.IDPSSODescriptors[0].SingleSignOnServices = append(md.IDPSSODescriptors[0].SingleSignOnServices, s)
		}
	}
	if len(md.IDPSSODescriptors[0].SingleSignOnServices) == 0 {
		t.Fatal("the dev IdP offers no HTTP-POST SSO endpoint")
	}
	cfg.IDPMetadata = &md
	l, err := login.NewSAMLLogin(cfg)
	if err != nil {
		t.Fatal(err)
	}
	done := start(r.ctx, l)
	startURL := <-open
	if !strings.HasPrefix(startURL, "http://"+r.listenAddr+"/") {
		t.Fatalf("the login opens %s, not its own start page", startURL)
	}
	r.post(r.idpForm(startURL))
	if got := <-done; got.err != nil || got.res.Role != devsaml.DefaultRole {
		t.Fatalf("login: %v, role %q", got.err, got.res.Role)
	}
}

func TestSAMLLoginReportsTheIdPsRefusal(t *testing.T) {
	r := newSAMLRig(t)
	open := make(opener, 1)
	l, err := login.NewSAMLLogin(r.config(open))
	if err != nil {
		t.Fatal(err)
	}
	done := start(r.ctx, l)
	// A passive request from a browser with no IdP session: the IdP answers
	// with an error Response (Responder / NoPassive) instead of a login page.
	passive := rewriteRequest(t, <-open, func(x string) string {
		return strings.Replace(x, "<samlp:AuthnRequest ", `<samlp:AuthnRequest IsPassive="true" `, 1)
	})
	resp, err := newBrowser(t).Get(passive)
	if err != nil {
		t.Fatal(err)
	}
	page, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	form, err := devsaml.ParseForm(page, resp.Request.URL)
	if err != nil || form.Values.Get("SAMLResponse") == "" {
		t.Fatalf("the IdP did not answer with a response form: %v", err)
	}
	r.post(form)
	got := <-done
	var le *login.SAMLLoginError
	if !errors.As(got.err, &le) || le.Kind != login.SAMLLoginIdPRefused || !strings.Contains(got.err.Error(), "status:Responder") {
		t.Fatalf("want the IdP's refusal, got %v", got.err)
	}
}
