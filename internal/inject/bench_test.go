package inject

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkHandlerReview is one review through the whole handler (decode,
// decide, patch, encode) for a pod that is injected and one that is not.
// Run: go test ./internal/inject -run XXX -bench HandlerReview -benchmem
func BenchmarkHandlerReview(b *testing.B) {
	for _, name := range []string{"opted-in-pod", "not-opted-in"} {
		b.Run(name, func(b *testing.B) {
			f := newHandlerFixture(b, testAccounts(), nil)
			body := readReview(b, name)
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				r := httptest.NewRequest(http.MethodPost, MutatePath, bytes.NewReader(body))
				r.Header.Set("Content-Type", "application/json")
				w := httptest.NewRecorder()
				f.h.ServeHTTP(w, r)
				if w.Code != http.StatusOK {
					b.Fatal(w.Code)
				}
			}
		})
	}
}
