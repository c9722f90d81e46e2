package s3emu

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

const goodSig = "fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024"

func TestParseAuthorization(t *testing.T) {
	good := "AWS4-HMAC-SHA256 Credential=CWABC/20130524/US-EAST-04A/s3/aws4_request, SignedHeaders=host;range;x-amz-date, Signature=" + goodSig
	a, err := parseAuthorization(good)
	if err != nil {
		t.Fatal(err)
	}
	want := credential{AccessKeyID: "CWABC", Date: "20130524", Region: "US-EAST-04A", Service: "s3"}
	if a.Credential != want || !slices.Equal(a.SignedHeaders, []string{"host", "range", "x-amz-date"}) || a.Signature != goodSig {
		t.Errorf("parsed %+v", a)
	}
	// Commas without spaces and another component order are both seen in the wild.
	if _, err := parseAuthorization("AWS4-HMAC-SHA256 Signature=" + goodSig + ",SignedHeaders=host,Credential=K/20130524/r/s3/aws4_request"); err != nil {
		t.Errorf("compact form: %v", err)
	}
	for _, bad := range []string{
		"",
		"Bearer abc",
		"AWS CWABC:c2ln",
		"AWS4-ECDSA-P256-SHA256 Credential=K/20130524/s3/aws4_request, SignedHeaders=host, Signature=" + goodSig,
		"AWS4-HMAC-SHA256 Credential=K/20130524/r/s3/aws4_request, SignedHeaders=host",
		"AWS4-HMAC-SHA256 Credential=K/20130524/r/s3/aws4_request, Signature=" + goodSig,
		"AWS4-HMAC-SHA256 SignedHeaders=host, Signature=" + goodSig,
		"AWS4-HMAC-SHA256 Credential=K/2013052/r/s3/aws4_request, SignedHeaders=host, Signature=" + goodSig,
		"AWS4-HMAC-SHA256 Credential=K/20130524/r/sts/aws4_request, SignedHeaders=host, Signature=" + goodSig,
		"AWS4-HMAC-SHA256 Credential=K/20130524/r/s3/aws5_request, SignedHeaders=host, Signature=" + goodSig,
		"AWS4-HMAC-SHA256 Credential=/20130524/r/s3/aws4_request, SignedHeaders=host, Signature=" + goodSig,
		"AWS4-HMAC-SHA256 Credential=K/20130524/r/s3/aws4_request, SignedHeaders=Host, Signature=" + goodSig,
		"AWS4-HMAC-SHA256 Credential=K/20130524/r/s3/aws4_request, SignedHeaders=host;;x, Signature=" + goodSig,
		"AWS4-HMAC-SHA256 Credential=K/20130524/r/s3/aws4_request, SignedHeaders=host, Signature=" + strings.ToUpper(goodSig),
		"AWS4-HMAC-SHA256 Credential=K/20130524/r/s3/aws4_request, SignedHeaders=host, Signature=" + goodSig + ", Signature=" + goodSig,
		"AWS4-HMAC-SHA256 Credential=K/20130524/r/s3/aws4_request, SignedHeaders=host, Signature=" + goodSig + ", Extra=1",
		"AWS4-HMAC-SHA256 Credential=K/20130524/r/s3/aws4_request SignedHeaders=host Signature=" + goodSig,
	} {
		if _, err := parseAuthorization(bad); err == nil {
			t.Errorf("accepted %q", bad)
		} else if strings.Contains(err.Error(), goodSig) {
			t.Errorf("error for %q echoes the signature", bad)
		}
	}
}

var sigInInput = regexp.MustCompile(`Signature=([^,\s]{8,})`)

// FuzzParseAuthorization: no panic; a parse either fails without echoing the
// signature or yields a well-formed result.
func FuzzParseAuthorization(f *testing.F) {
	f.Add("AWS4-HMAC-SHA256 Credential=CWABC/20130524/US-EAST-04A/s3/aws4_request, SignedHeaders=host;range;x-amz-date, Signature=" + goodSig)
	f.Add("AWS4-HMAC-SHA256 Signature=" + goodSig + ",SignedHeaders=host,Credential=K/20130524/r/s3/aws4_request")
	f.Add("AWS4-HMAC-SHA256 Credential=K/20130524/r/s3/aws4_request, SignedHeaders=host, Signature=" + goodSig + ", Extra=1")
	f.Add("AWS AKID:sig")
	f.Add("AWS4-HMAC-SHA256 ,,,=,")
	f.Fuzz(func(t *testing.T, h string) {
		a, err := parseAuthorization(h)
		if err != nil {
			for _, m := range sigInInput.FindAllStringSubmatch(h, -1) {
				if strings.Contains(err.Error(), m[1]) {
					t.Fatalf("error %q echoes the signature", err)
				}
			}
			return
		}
		if !isLowerHex(a.Signature, 64) || len(a.SignedHeaders) == 0 || a.Credential.Service != "s3" ||
			a.Credential.AccessKeyID == "" || a.Credential.Region == "" || len(a.Credential.Date) != 8 {
			t.Fatalf("accepted a malformed header as %+v", a)
		}
		for _, n := range a.SignedHeaders {
			if !isHeaderToken(n) {
				t.Fatalf("accepted signed header name %q", n)
			}
		}
	})
}
