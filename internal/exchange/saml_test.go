package exchange

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/cwcreds/cwcreds/internal/cwobject"
)

// samlIdP is a real crewjam/saml IdentityProvider issuing IdP-initiated responses.
type samlIdP struct {
	idp  *saml.IdentityProvider
	cert *x509.Certificate
	sp   *saml.EntityDescriptor
}

func (p *samlIdP) GetServiceProvider(_ *http.Request, id string) (*saml.EntityDescriptor, error) {
	if p.sp != nil && p.sp.EntityID == id {
		return p.sp, nil
	}
	return nil, os.ErrNotExist
}

func newSAMLIdP(t *testing.T, v *testEnv) (*samlIdP, string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test idp"},
		NotBefore: v.clock.Now().Add(-time.Hour), NotAfter: v.clock.Now().Add(24 * time.Hour), KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	md, _ := url.Parse("https://idp.example.test/saml/metadata")
	sso, _ := url.Parse("https://idp.example.test/saml/sso")
	p := &samlIdP{cert: cert}
	p.idp = &saml.IdentityProvider{Key: key, Certificate: cert, MetadataURL: *md, SSOURL: *sso,
		ServiceProviderProvider: p, Clock: dsig.NewFakeClock(v.clock)}
	configID := v.emu.RegisterSAMLConfig(md.String(), cert)
	sp, ok := v.emu.SAMLServiceProviderMetadata(configID)
	if !ok {
		t.Fatal("no SP metadata")
	}
	p.sp = sp
	return p, configID
}

// response returns a signed base64 SAMLResponse for role.
func (p *samlIdP) response(t *testing.T, role string) string {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, "https://idp.example.test/saml/sso", nil)
	req, err := p.idp.NewIdpInitiatedRequest(r, p.sp.EntityID, "")
	if err != nil {
		t.Fatal(err)
	}
	uri := "urn:oasis:names:tc:SAML:2.0:attrname-format:uri"
	session := &saml.Session{ID: "s1", CreateTime: req.Now, ExpireTime: req.Now.Add(time.Hour), Index: "1", NameID: "alice@example.test",
		CustomAttributes: []saml.Attribute{
			{Name: cwobject.SAMLRoleAttribute, NameFormat: uri, Values: []saml.AttributeValue{{Type: "xs:string", Value: role}}},
			{Name: cwobject.SAMLPrincipalNameAttribute, NameFormat: uri, Values: []saml.AttributeValue{{Type: "xs:string", Value: "alice@example.test"}}},
		}}
	if err := (saml.DefaultAssertionMaker{}).MakeAssertion(req, session); err != nil {
		t.Fatal(err)
	}
	form, err := req.PostBinding()
	if err != nil {
		t.Fatal(err)
	}
	return form.SAMLResponse
}

func TestSAMLExchangeFromFileAndStdin(t *testing.T) {
	v := newTestEnv(t)
	idp, configID := newSAMLIdP(t, v)
	resp := idp.response(t, "ml-engineers")
	xmlDoc, _ := base64.StdEncoding.DecodeString(resp)

	// Raw XML in a file: encoded by the source.
	path := tempPath(t, "saml.xml")
	writeFile(t, path, string(xmlDoc))
	src := &SAMLFile{Path: path}
	x, err := NewSAMLExchange(SAMLExchangeConfig{Client: v.client, Source: src, OrgID: v.emu.OrgID(), ConfigID: configID,
		Lifetime: 2 * time.Hour, Clock: v.clock})
	if err != nil {
		t.Fatal(err)
	}
	c, err := x.Fetch(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if c.Principal != "saml/ml-engineers" || !c.Expiration.Equal(v.clock.Now().Add(2*time.Hour)) {
		t.Fatalf("principal %q expiration %v", c.Principal, c.Expiration)
	}
	// The same response again is a replay: unrecoverable until the file changes.
	fp1, _ := x.InputFingerprint()
	_, err = x.Fetch(ctx(t))
	wantErr(t, err, true, "could not exchange the SAML response in "+path+" for keys", "Unauthenticated", "replay")
	noSecrets(t, err, resp, string(xmlDoc))

	// A new response, line-wrapped base64, on stdin.
	resp2 := idp.response(t, "admins")
	var wrapped strings.Builder
	for i := 0; i < len(resp2); i += 76 {
		wrapped.WriteString(resp2[i:min(i+76, len(resp2))] + "\n")
	}
	stdin := &SAMLFile{Path: "-", Stdin: strings.NewReader(wrapped.String())}
	y, _ := NewSAMLExchange(SAMLExchangeConfig{Client: v.client, Source: stdin, OrgID: v.emu.OrgID(), ConfigID: configID, Clock: v.clock})
	c, err = y.Fetch(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if c.Principal != "saml/admins" {
		t.Fatalf("principal %q", c.Principal)
	}
	if fp2, _ := y.InputFingerprint(); fp2 == fp1 || fp2 == "" {
		t.Fatal("stdin fingerprint")
	}
	// Standard input is read once: a second call sees the same response.
	if tok, err := stdin.Token(ctx(t)); err != nil || tok != resp2 {
		t.Fatalf("second read of stdin: %v", err)
	}
}

func TestSAMLFileErrors(t *testing.T) {
	dir := t.TempDir()
	secret := base64.StdEncoding.EncodeToString([]byte(`<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="secret-assertion-0123456789"></samlp:Response>`))
	cases := []struct{ name, content, part string }{
		{"empty", "\n", "empty"},
		{"garbage", "%%%%not base64 or xml%%%%", "neither XML nor base64"},
		{"assertion alone", `<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="secret-assertion-0123456789"/>`, "not a SAML <Response>"},
		{"wrong namespace", `<Response xmlns="urn:example" ID="secret-assertion-0123456789"/>`, "namespace"},
		{"broken xml", base64.StdEncoding.EncodeToString([]byte("<samlp:Response secret-assertion-0123456789")), "not an XML document"},
	}
	for _, c := range cases {
		path := dir + "/" + strings.ReplaceAll(c.name, " ", "-")
		writeFile(t, path, c.content)
		_, err := (&SAMLFile{Path: path}).Token(ctx(t))
		wantErr(t, err, true, path, c.part)
		noSecrets(t, err, "secret-assertion-0123456789", secret)
	}
	writeFile(t, dir+"/big", secret)
	_, err := (&SAMLFile{Path: dir + "/big", MaxBytes: 10}).Token(ctx(t))
	wantErr(t, err, true, "too big")
	_, err = (&SAMLFile{Path: "-", Stdin: strings.NewReader(secret), MaxBytes: 10}).Token(ctx(t))
	wantErr(t, err, true, "standard input is too big")
	if got, err := (&SAMLFile{Path: "-", Stdin: strings.NewReader("\xef\xbb\xbf" + secret + "\n")}).Token(ctx(t)); err != nil || got != secret {
		t.Fatalf("base64 with BOM: %v", err)
	}
}

func FuzzNormalizeSAMLResponse(f *testing.F) {
	f.Add([]byte(`<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="x"></samlp:Response>`))
	f.Add([]byte(`<?xml version="1.0"?><!-- c --><Response xmlns="urn:oasis:names:tc:SAML:2.0:protocol"/>`))
	f.Add([]byte(base64.StdEncoding.EncodeToString([]byte(`<Response xmlns="urn:oasis:names:tc:SAML:2.0:protocol"/>`))))
	f.Add([]byte("PD94"))
	f.Add([]byte("<!DOCTYPE x [<!ENTITY a 'b'>]><x>&a;</x>"))
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := NormalizeSAMLResponse(in)
		if err != nil {
			// Only the fixed reasons: nothing of the input can be in the message.
			for _, known := range []error{errSAMLEmpty, errSAMLNotEncoded, errSAMLNotXML, errSAMLNotResponse, errSAMLNamespace} {
				if err == known {
					return
				}
			}
			t.Fatalf("unexpected error %v", err)
		}
		doc, derr := base64.StdEncoding.DecodeString(out)
		if derr != nil || checkSAMLRoot(doc) != nil {
			t.Fatalf("accepted input normalises to something that does not re-check: %v", derr)
		}
	})
}
