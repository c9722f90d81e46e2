package sdk_test

import (
	"io"
	"strings"
	"testing"
)

// TestLeakScanFindsSecrets proves the final scan would see a leak: a known
// value, and unknown values shaped like a secret key, an API token or a JWT.
func TestLeakScanFindsSecrets(t *testing.T) {
	t.Parallel()
	s := &suiteState{secrets: map[string]string{}}
	s.addSecret("endpoint auth token", "Zm9vYmFyYmF6cXV1eA")
	clean := s.newOutput("clean child")
	_, _ = io.WriteString(clean, `{"level":"info","msg":"refreshed keys","access_key_id":"CWABCDEFGHIJ0123","expires":"2026-11-27T01:00:00Z"}`+"\n")
	if got := s.leaks(); len(got) != 0 {
		t.Fatalf("clean output flagged: %v", got)
	}
	leaky := s.newOutput("leaky child")
	for _, line := range []string{
		`{"msg":"request","authorization":"Zm9vYmFyYmF6cXV1eA"}`,
		`{"msg":"keys","secret":"cwo` + strings.Repeat("k", 40) + `"}`,
		`{"msg":"api","token":"CW-SECRET-ABCDEFGHIJKLMNOP"}`,
		`{"msg":"exchange","jwt":"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"}`,
	} {
		_, _ = io.WriteString(leaky, line+"\n")
	}
	got := strings.Join(s.leaks(), "\n")
	for _, want := range []string{"endpoint auth token", "secret access key", "API token", "JWT"} {
		if !strings.Contains(got, "leaky child: holds") || !strings.Contains(got, want) {
			t.Errorf("the scan missed the %s; it found:\n%s", want, got)
		}
	}
	if strings.Contains(got, "Zm9vYmFyYmF6cXV1eA") {
		t.Error("the scan's report prints the secret it found")
	}
}
