package inject

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
	admissionv1 "k8s.io/api/admission/v1"
)

type handlerFixture struct {
	h    http.Handler
	logs *observer.ObservedLogs
	reg  *prometheus.Registry
}

func newHandlerFixture(t testing.TB, accounts ServiceAccounts, ready func() error) *handlerFixture {
	t.Helper()
	core, logs := observer.New(zap.DebugLevel)
	reg := prometheus.NewRegistry()
	h, err := NewHandler(HandlerConfig{Config: testConfig(), Accounts: accounts, Ready: ready, Registerer: reg, Gatherer: reg, Logger: zap.New(core)})
	if err != nil {
		t.Fatal(err)
	}
	return &handlerFixture{h: h, logs: logs, reg: reg}
}

func (f *handlerFixture) do(method, path, contentType string, body []byte) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, path, bytes.NewReader(body))
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, r)
	return w
}

// TestHandlerReview: the AdmissionReview v1 the API server needs back — kind,
// apiVersion, the request's uid, patchType JSONPatch, the patch in base64.
func TestHandlerReview(t *testing.T) {
	f := newHandlerFixture(t, testAccounts(), nil)
	body := readReview(t, "opted-in-pod")
	w := f.do(http.MethodPost, MutatePath, "application/json", body)
	if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("status %d %s: %s", w.Code, w.Header().Get("Content-Type"), w.Body)
	}
	var raw struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Response   struct {
			UID       string `json:"uid"`
			Allowed   bool   `json:"allowed"`
			PatchType string `json:"patchType"`
			Patch     string `json:"patch"`
		} `json:"response"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &raw); err != nil {
		t.Fatal(err)
	}
	want := mustMutate(t, mustDecode(t, body).Request)
	if raw.APIVersion != "admission.k8s.io/v1" || raw.Kind != "AdmissionReview" || raw.Response.UID != "7c1f2a58-51a5-4d32-9c0a-0d6c2f1b9e01" ||
		!raw.Response.Allowed || raw.Response.PatchType != "JSONPatch" || raw.Response.Patch == "" {
		t.Fatalf("response %s", w.Body)
	}
	var resp admissionv1.AdmissionReview
	if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil || !bytes.Equal(resp.Response.Patch, want.Response.Patch) {
		t.Fatalf("patch differs from Mutate's: %v", err)
	}
	if n := testutil.ToFloat64(mustCounter(t, f, OutcomeInjected)); n != 1 {
		t.Fatalf("injected counted %v", n)
	}
	if f.logs.FilterMessage("injected").Len() != 1 {
		t.Fatalf("logs: %v", f.logs.All())
	}

	// Not opted in: allowed, no patch at all.
	w = f.do(http.MethodPost, MutatePath, "application/json; charset=utf-8", readReview(t, "not-opted-in"))
	if w.Code != http.StatusOK || strings.Contains(w.Body.String(), "patch") {
		t.Fatalf("not opted in: %d %s", w.Code, w.Body)
	}
}

func mustCounter(t *testing.T, f *handlerFixture, o Outcome) prometheus.Counter {
	t.Helper()
	return f.h.(*handler).reviews.WithLabelValues(string(o))
}

// TestHandlerRefuses: what is no AdmissionReview v1 gets an HTTP error (so the
// webhook's failure policy applies) with a one-line JSON reason.
func TestHandlerRefuses(t *testing.T) {
	f := newHandlerFixture(t, failingAccounts{}, nil)
	review := readReview(t, "opted-in-pod")
	for _, tc := range []struct {
		name, method, path, ctype string
		body                      []byte
		code                      int
		msg                       string
	}{
		{"get", http.MethodGet, MutatePath, "", nil, 405, "use POST"},
		{"no content type", http.MethodPost, MutatePath, "", review, 415, "application/json"},
		{"yaml", http.MethodPost, MutatePath, "application/yaml", review, 415, "application/json"},
		{"huge", http.MethodPost, MutatePath, "application/json", append(review, bytes.Repeat([]byte(" "), MaxReviewBytes)...), 413, "larger than"},
		{"not json", http.MethodPost, MutatePath, "application/json", []byte("{\"kind\":"), 400, "not an AdmissionReview"},
		{"two values", http.MethodPost, MutatePath, "application/json", append(append([]byte{}, review...), review...), 400, "more than one"},
		{"v1beta1", http.MethodPost, MutatePath, "application/json", bytes.Replace(review, []byte("admission.k8s.io/v1"), []byte("admission.k8s.io/v1beta1"), 1), 400, "admissionReviewVersions"},
		{"no request", http.MethodPost, MutatePath, "application/json", []byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}`), 400, "no request"},
		{"no uid", http.MethodPost, MutatePath, "application/json", []byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"kind":{"kind":"Pod","version":"v1"},"operation":"CREATE"}}`), 400, "no uid"},
		{"pod without spec", http.MethodPost, MutatePath, "application/json", []byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"kind":"Pod","version":"v1"},"operation":"CREATE","object":{"kind":"Pod","metadata":{}}}}`), 400, "no metadata or spec"},
		{"pod of wrong types", http.MethodPost, MutatePath, "application/json", []byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"kind":"Pod","version":"v1"},"operation":"CREATE","object":{"metadata":{},"spec":{"containers":"x"}}}}`), 400, "not a pod"},
		{"lookup fails", http.MethodPost, MutatePath, "application/json", readReview(t, "opted-in-service-account"), 500, "could not read service account ml/builder"},
		{"unknown path", http.MethodPost, "/validate", "application/json", review, 404, "no such path"},
		{"post healthz", http.MethodPost, HealthzPath, "", nil, 405, "use GET"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := f.do(tc.method, tc.path, tc.ctype, tc.body)
			var body struct{ Code, Message string }
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
				t.Fatalf("%d: body %q is not JSON", w.Code, w.Body)
			}
			if w.Code != tc.code || !strings.Contains(body.Message, tc.msg) || strings.Contains(body.Message, "\n") {
				t.Fatalf("%d %q, want %d with %q", w.Code, body.Message, tc.code, tc.msg)
			}
		})
	}
}

func TestHandlerHealth(t *testing.T) {
	var notReady error = io.EOF
	f := newHandlerFixture(t, nil, func() error { return notReady })
	if w := f.do(http.MethodGet, HealthzPath, "", nil); w.Code != 200 {
		t.Fatalf("healthz %d", w.Code)
	}
	if w := f.do(http.MethodGet, ReadyzPath, "", nil); w.Code != 503 || !strings.Contains(w.Body.String(), "EOF") {
		t.Fatalf("readyz not ready: %d %s", w.Code, w.Body)
	}
	notReady = nil
	if w := f.do(http.MethodGet, ReadyzPath, "", nil); w.Code != 200 {
		t.Fatalf("readyz ready: %d", w.Code)
	}
	f.do(http.MethodPost, MutatePath, "application/json", readReview(t, "not-a-pod"))
	w := f.do(http.MethodGet, MetricsPath, "", nil)
	if w.Code != 200 || !strings.Contains(w.Body.String(), `cwcreds_inject_reviews_total{outcome="not_pod_create"} 1`) {
		t.Fatalf("metrics: %d %s", w.Code, w.Body)
	}
}

// TestHandlerLogsNoValues: env values and annotation values of the pod never
// reach a log line or a warning, whatever the outcome.
func TestHandlerLogsNoValues(t *testing.T) {
	f := newHandlerFixture(t, testAccounts(), nil)
	const secret = "CW-SECRET-abcdef0123456789"
	for _, name := range []string{"opted-in-pod", "user-env-kept", "not-opted-in", "bad-mode"} {
		body := bytes.Replace(readReview(t, name), []byte(`"value": "10"`), []byte(`"value": "`+secret+`"`), 1)
		body = bytes.Replace(body, []byte(`"prometheus.io/scrape": "false"`), []byte(`"prometheus.io/scrape": "`+secret+`"`), 1)
		w := f.do(http.MethodPost, MutatePath, "application/json", body)
		if w.Code != 200 {
			t.Fatalf("%s: %d %s", name, w.Code, w.Body)
		}
	}
	for _, e := range f.logs.All() {
		line, _ := json.Marshal(e.ContextMap())
		if strings.Contains(e.Message+string(line), secret) {
			t.Fatalf("a log line holds a pod's value: %s %s", e.Message, line)
		}
	}
}

// FuzzReview sends arbitrary bodies through the handler: it never panics,
// answers one of the statuses it documents, and a patch it returns applies to
// the request's pod, gives a pod, and is not needed a second time.
func FuzzReview(f *testing.F) {
	for _, tc := range goldenCases {
		if tc.name != "already-injected" {
			f.Add(readReview(f, tc.name))
		}
	}
	f.Add([]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"kind":"Pod","version":"v1"},"operation":"CREATE","namespace":"ml","object":{"metadata":{"annotations":{"cwcreds.io/inject":"true"}},"spec":{"containers":[{"name":"a","env":null,"volumeMounts":[]}],"initContainers":[],"volumes":null}}}}`))
	f.Add([]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"kind":"Pod","version":"v1"},"operation":"CREATE","object":{"metadata":{"annotations":{"cwcreds.io/inject":"true","cwcreds.io/mode":"agent"}},"spec":{"containers":[{"name":"cwcreds"}],"volumes":[{"name":"cwcreds-run"}]}}}}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`null`))
	fx := newHandlerFixture(f, testAccounts(), nil)
	f.Fuzz(func(t *testing.T, body []byte) {
		w := fx.do(http.MethodPost, MutatePath, "application/json", body)
		switch w.Code {
		case 200:
		case 400, 413:
			return
		default:
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
		var out admissionv1.AdmissionReview
		if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil || out.Response == nil {
			t.Fatalf("200 with a body that is no AdmissionReview: %v", err)
		}
		in, err := DecodeReview(body)
		if err != nil {
			t.Fatalf("200 for a body DecodeReview refuses: %v", err)
		}
		if out.Response.UID != in.Request.UID {
			t.Fatal("response uid differs from the request's")
		}
		if out.Response.Patch == nil {
			return
		}
		patched := applyPatch(t, in.Request.Object.Raw, out.Response.Patch)
		in.Request.Object.Raw = patched
		again, err := Mutate(context.Background(), testConfig(), in.Request, testAccounts())
		if err != nil {
			t.Fatalf("the patched pod is refused: %v", err)
		}
		if again.Outcome != OutcomeAlreadyInjected {
			t.Fatalf("the patched pod is not seen as injected: %s", again.Outcome)
		}
	})
}

// manyContainersReview is an opted-in pod CREATE with n containers, each
// container the JSON text c.
func manyContainersReview(n int, c string) []byte {
	var b bytes.Buffer
	b.WriteString(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"kind":"Pod","version":"v1"},"operation":"CREATE","namespace":"ml","object":{"metadata":{"annotations":{"cwcreds.io/inject":"true"}},"spec":{"containers":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(c)
	}
	b.WriteString(`]}}}}`)
	return b.Bytes()
}

// Each container gets a few hundred bytes of patch: a small review of many
// empty containers must not become a huge answer (it once did: 256 KiB in,
// 70 MB out, and the whole 7 MiB cap took the process down).
func TestHandlerRefusesPodsOfTooManyContainers(t *testing.T) {
	f := newHandlerFixture(t, testAccounts(), nil)
	for _, n := range []int{MaxPodContainers + 1, 100_000} {
		body := manyContainersReview(n, `{}`)
		w := f.do(http.MethodPost, MutatePath, "application/json", body)
		if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "at most 250") {
			t.Errorf("%d containers (%d bytes): status %d, %d bytes: %.200s", n, len(body), w.Code, w.Body.Len(), w.Body)
		}
	}
	// At the cap, real containers get their patch, bounded by the cap.
	body := manyContainersReview(MaxPodContainers, `{"name":"app","image":"app:1"}`)
	w := f.do(http.MethodPost, MutatePath, "application/json", body)
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"patch"`) {
		t.Fatalf("%d containers: status %d: %.300s", MaxPodContainers, w.Code, w.Body)
	}
	if w.Body.Len() > 1<<20 {
		t.Errorf("the answer for %d containers is %d bytes", MaxPodContainers, w.Body.Len())
	}
}
