package sdk_test

import (
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"go.uber.org/zap"

	"github.com/cwcreds/cwcreds/internal/cwobject"
	"github.com/cwcreds/cwcreds/internal/emulator"
	"github.com/cwcreds/cwcreds/internal/emulator/devissuer"
	"github.com/cwcreds/cwcreds/internal/emulator/emutest"
	"github.com/cwcreds/cwcreds/internal/emulator/s3emu"
	"github.com/cwcreds/cwcreds/internal/fileutil"
)

// emuEnv is an in-process emulator with a recorder in front of its S3 endpoint
// and a dev-issuer token file for cwcreds to exchange.
type emuEnv struct {
	emu       *emulator.Emulator
	apiURL    string
	s3URL     string // the recorder, which forwards to the emulator's S3 handler
	rec       *s3Recorder
	tokenFile string // a dev-issuer JWT, as a projected service-account token
	dir       string
}

// startEmulator starts an emulator whose S3 side refuses keys younger than
// propagation, as the real service does.
func startEmulator(t *testing.T, propagation time.Duration) *emuEnv {
	t.Helper()
	emu := emutest.Start(t, emulator.Config{
		Clock:               clockwork.NewRealClock(),
		Logger:              zap.NewNop(),
		KeyPropagationDelay: propagation,
	})
	suite.addSecret("emulator admin API token", emu.AdminToken())

	rec := &s3Recorder{next: emu.S3Handler()}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: rec, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	t.Cleanup(func() { _ = hs.Close() })

	dir := t.TempDir()
	e := &emuEnv{
		emu:       emu,
		apiURL:    emu.APIURL(),
		s3URL:     "http://" + ln.Addr().String(),
		rec:       rec,
		tokenFile: filepath.Join(dir, "sa-token"),
		dir:       dir,
	}
	jwt, err := emu.DevIssuer().Mint(devissuer.MintOptions{
		Subject:  "system:serviceaccount:ml:trainer",
		Audience: []string{cwobject.RecommendedAudience},
		Lifetime: time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	suite.addSecret("workload JWT", jwt)
	if err := fileutil.WriteFileAtomic(e.tokenFile, []byte(jwt), 0o600); err != nil {
		t.Fatal(err)
	}
	return e
}

// exchanges counts the calls to the CoreWeave API (the upstream of serve).
func (e *emuEnv) exchanges() int {
	n := 0
	for _, c := range e.emu.Calls() {
		n += c
	}
	return n
}

// secretOf returns the secret of a key the emulator minted ("" if unknown).
func (e *emuEnv) secretOf(keyID string) string {
	secret, _ := e.emu.ResolveKey(keyID)
	return secret
}

// waitPropagated waits until the emulator's S3 accepts keyID (its propagation
// delay has passed).
func (e *emuEnv) waitPropagated(t *testing.T, keyID string) {
	t.Helper()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, state := e.emu.ResolveKey(keyID); state == s3emu.KeyValid {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("key %s never became valid on S3", keyID)
		}
		<-tick.C
	}
}

// s3Call is what the recorder notes about one S3 request.
type s3Call struct {
	KeyID        string // from the SigV4 credential scope
	TokenHeader  bool   // an X-Amz-Security-Token header was sent (even empty)
	Status       int
	UserAgent    string
	Method, Path string
}

// s3Recorder notes which key signed each S3 request and how it was answered.
type s3Recorder struct {
	next http.Handler

	mu    sync.Mutex
	calls []s3Call
}

func (r *s3Recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	r.next.ServeHTTP(sw, req)
	_, token := req.Header["X-Amz-Security-Token"]
	c := s3Call{
		KeyID:       sigV4KeyID(req),
		TokenHeader: token || req.URL.Query().Has("X-Amz-Security-Token"),
		Status:      sw.status,
		UserAgent:   req.Header.Get("User-Agent"),
		Method:      req.Method,
		Path:        req.URL.Path,
	}
	r.mu.Lock()
	r.calls = append(r.calls, c)
	r.mu.Unlock()
}

// Calls returns the requests whose User-Agent contains ua ("" for all).
func (r *s3Recorder) Calls(ua string) []s3Call {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []s3Call
	for _, c := range r.calls {
		if strings.Contains(c.UserAgent, ua) {
			out = append(out, c)
		}
	}
	return out
}

// sigV4KeyID reads the access key id from "Credential=<id>/<date>/…".
func sigV4KeyID(req *http.Request) string {
	cred := req.URL.Query().Get("X-Amz-Credential")
	if auth := req.Header.Get("Authorization"); auth != "" {
		if _, after, ok := strings.Cut(auth, "Credential="); ok {
			cred = after
		}
	}
	id, _, _ := strings.Cut(cred, "/")
	return id
}

type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(p)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
