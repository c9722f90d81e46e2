package exchange

import (
	"strings"
	"testing"
)

func FuzzParseExecCredential(f *testing.F) {
	f.Add([]byte(`{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","status":{"token":"eyJhbGciOiJSUzI1NiJ9.e30.c2ln"}}`))
	f.Add([]byte(`{"apiVersion":"client.authentication.k8s.io/v1beta1","status":{"token":" t "}}`))
	f.Add([]byte(`{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","status":null}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, out []byte) {
		tok, err := ParseExecCredential(out)
		if err != nil {
			if len(out) >= 16 && strings.Contains(err.Error(), string(out)) {
				t.Fatalf("error quotes the input: %v", err)
			}
			return
		}
		if tok == "" || tok != strings.TrimSpace(tok) {
			t.Fatalf("accepted an empty or untrimmed token %q", tok)
		}
	})
}
