package devsaml_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crewjam/saml"

	"github.com/cwcreds/cwcreds/internal/cwobject"
	"github.com/cwcreds/cwcreds/internal/emulator"
	"github.com/cwcreds/cwcreds/internal/emulator/devsaml"
	"github.com/cwcreds/cwcreds/internal/emulator/emutest"
)

const password = emutest.Password

func browser(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: 10 * time.Second}
}

func TestLoginPageIsAPlainForm(t *testing.T) {
	idp := emutest.StartDevSAML(t, devsaml.Config{})
	resp, err := http.Get(idp.URL() + "/login")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(idp.URL() + "/login")
	f, err := devsaml.ParseForm(buf.Bytes(), u)
	if err != nil {
		t.Fatal(err)
	}
	for typ, n := range f.Inputs {
		want := map[string]int{"text": 1, "password": 1, "submit": 1}[typ]
		if typ == "hidden" {
			continue
		}
		if n != want {
			t.Errorf("%d inputs of type %q, want %d (inputs %v)", n, typ, want, f.Inputs)
		}
	}
	for _, typ := range []string{"text", "password", "submit"} {
		if f.Inputs[typ] != 1 {
			t.Errorf("want exactly one %s input, have %v", typ, f.Inputs)
		}
	}
	if strings.Count(buf.String(), "<button") != 0 || strings.Count(buf.String(), "<form") != 1 {
		t.Errorf("want one form and no other buttons: %s", buf.String())
	}
}

func TestAdminEndpointsAreNotServed(t *testing.T) {
	idp := emutest.StartDevSAML(t, devsaml.Config{})
	for _, p := range []string{"/users/", "/users/dev", "/services/", "/sessions/", "/shortcuts/"} {
		req, _ := http.NewRequest(http.MethodPut, idp.URL()+p, strings.NewReader(`{"password":"x"}`))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("PUT %s: HTTP %d, want 404", p, resp.StatusCode)
		}
	}
	if _, err := idp.Metadata(); err != nil {
		t.Fatal(err)
	}
}

func TestNewNeedsAPassword(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	if _, err := devsaml.New(devsaml.Config{}, ln); err == nil || !strings.Contains(err.Error(), "password") {
		t.Fatalf("New without a password: %v", err)
	}
}

// spInitiated plays CoreWeave's SP for an SP-initiated login with ACS acsURL
// (as cwcreds login does, without its package): the AuthnRequest's redirect
// URL and the request id.
func spInitiated(t *testing.T, idp *devsaml.IdP, spEntityID, acsURL string) (*saml.ServiceProvider, string, string) {
	t.Helper()
	md, err := idp.Metadata()
	if err != nil {
		t.Fatal(err)
	}
	acs, _ := url.Parse(acsURL)
	sp := &saml.ServiceProvider{EntityID: spEntityID, AcsURL: *acs, IDPMetadata: md}
	req, err := sp.MakeAuthenticationRequest(sp.GetSSOBindingLocation(saml.HTTPRedirectBinding), saml.HTTPRedirectBinding, saml.HTTPPostBinding)
	if err != nil {
		t.Fatal(err)
	}
	u, err := req.Redirect("relay", sp)
	if err != nil {
		t.Fatal(err)
	}
	return sp, u.String(), req.ID
}

func TestRegisteredWithTheEmulatorAndCarriesRoles(t *testing.T) {
	e, err := emulator.New(emulator.Config{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := e.Start(ctx, "127.0.0.1:0", "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	idp := emutest.StartDevSAML(t, devsaml.Config{Roles: []string{"dev", "ml-engineers"}, PrincipalName: "dev@example.test"})
	acsURL := "http://127.0.0.1:49153" + cwobject.SAMLLoopbackACSPath
	if _, err := devsaml.Register(e, idp, "http://example.com:1/saml/acs"); err == nil {
		t.Fatal("Register took a non-loopback ACS")
	}
	configID, err := devsaml.Register(e, idp, acsURL)
	if err != nil {
		t.Fatal(err)
	}
	spEntityID := cwobject.SAMLServiceProviderEntityID(e.OrgID())
	sp, start, requestID := spInitiated(t, idp, spEntityID, acsURL)

	if _, err := devsaml.LogIn(ctx, browser(t), start, devsaml.UserName, "wrong"); err == nil {
		t.Fatal("logged in with a wrong password")
	}
	form, err := devsaml.LogIn(ctx, browser(t), start, devsaml.UserName, password)
	if err != nil {
		t.Fatal(err)
	}
	if form.Action != acsURL || form.Values.Get("RelayState") != "relay" {
		t.Fatalf("response form posts to %s with RelayState %q", form.Action, form.Values.Get("RelayState"))
	}
	doc, err := base64.StdEncoding.DecodeString(form.Values.Get("SAMLResponse"))
	if err != nil {
		t.Fatal(err)
	}
	assertion, err := sp.ParseXMLResponse(doc, []string{requestID}, sp.AcsURL)
	if err != nil {
		t.Fatalf("the SP refuses the dev IdP's response: %v", err)
	}
	var roles, names []string
	for _, st := range assertion.AttributeStatements {
		for _, a := range st.Attributes {
			for _, v := range a.Values {
				switch a.Name {
				case cwobject.SAMLRoleAttribute:
					roles = append(roles, v.Value)
				case cwobject.SAMLPrincipalNameAttribute:
					names = append(names, v.Value)
				}
			}
		}
	}
	if !slices.Equal(roles, []string{"dev", "ml-engineers"}) || !slices.Equal(names, []string{"dev@example.test"}) {
		t.Fatalf("roles %q, principal names %q", roles, names)
	}

	c, err := cwobject.New(cwobject.Config{BaseURL: e.APIURL()})
	if err != nil {
		t.Fatal(err)
	}
	key, err := c.CreateAccessKeyFromSAML(ctx, cwobject.CreateAccessKeyFromSAMLRequest{
		DurationSeconds: 900, OrgID: e.OrgID(), ConfigID: configID, SAMLResponse: form.Values.Get("SAMLResponse"),
	})
	if err != nil {
		t.Fatalf("the emulator refuses the dev IdP's response: %v", err)
	}
	if key.PrincipalName != "saml/dev" {
		t.Fatalf("principal %q, want saml/dev", key.PrincipalName)
	}
}
