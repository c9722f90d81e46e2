package inject

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"
	admissionv1 "k8s.io/api/admission/v1"
)

// MaxReviewBytes caps a request body. The API server stores objects up to about
// 1.5 MiB and takes request bodies up to 3 MiB; an UPDATE review carries the object
// twice.
const MaxReviewBytes = 7 << 20

// Paths of the webhook's listener.
const (
	MutatePath  = "/mutate"
	HealthzPath = "/healthz"
	ReadyzPath  = "/readyz"
	MetricsPath = "/metrics"
)

// lookupTimeout bounds a service-account lookup that misses the informer's
// cache, well within the API server's default 10 s webhook timeout.
const lookupTimeout = 3 * time.Second

// HandlerConfig configures NewHandler.
type HandlerConfig struct {
	// Config is what to inject; it must have passed Validate.
	Config Config
	// Accounts gives service-account annotations; nil: only pod annotations count.
	Accounts ServiceAccounts
	// Ready reports whether the webhook can answer (certificate loaded,
	// service accounts synced); nil: always ready.
	Ready func() error
	// Registerer receives the metrics, Gatherer serves /metrics. Required both:
	// never the global registry by accident.
	Registerer prometheus.Registerer
	Gatherer   prometheus.Gatherer
	// Logger: one line per pod injected (info) or skipped (debug), and every
	// refused request (warn). Never env values or annotations. Nil: none.
	Logger *zap.Logger
}

type handler struct {
	cfg     HandlerConfig
	log     *zap.Logger
	reviews *prometheus.CounterVec
	metrics http.Handler
}

// Outcomes of requests Mutate did not answer, for the reviews metric.
const (
	outcomeBadRequest = "bad_request"
	outcomeError      = "error"
)

// NewHandler serves POST /mutate (AdmissionReview v1 → AdmissionReview v1 with
// the patch), GET /healthz, /readyz and /metrics.
//
// A body that is not an AdmissionReview v1 gets 400 (415 for another content
// type, 413 above MaxReviewBytes), and a failed service-account lookup 500: the
// API server then applies the webhook's failure policy. A review of anything but
// a pod being created is allowed unchanged.
func NewHandler(cfg HandlerConfig) (http.Handler, error) {
	if cfg.Registerer == nil || cfg.Gatherer == nil {
		return nil, errors.New("the webhook handler needs a metrics registerer and gatherer")
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	h := &handler{cfg: cfg, log: cfg.Logger}
	h.reviews = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "cwcreds_inject_reviews_total",
		Help: "Admission reviews answered by the cwcreds injector, by outcome.",
	}, []string{"outcome"})
	if err := cfg.Registerer.Register(h.reviews); err != nil {
		return nil, fmt.Errorf("could not register the webhook metrics: %w", err)
	}
	for _, o := range []string{string(OutcomeInjected), string(OutcomeNotOptedIn), string(OutcomeOptedOut),
		string(OutcomeAlreadyInjected), string(OutcomeNotPodCreate), string(OutcomeDenied), outcomeBadRequest, outcomeError} {
		h.reviews.WithLabelValues(o)
	}
	h.metrics = promhttp.HandlerFor(cfg.Gatherer, promhttp.HandlerOpts{ErrorLog: zap.NewStdLog(h.log.Named("metrics"))})
	return h, nil
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case MutatePath:
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			h.fail(w, http.StatusMethodNotAllowed, "use POST with an AdmissionReview v1")
			return
		}
		h.mutate(w, r)
	case HealthzPath, ReadyzPath, MetricsPath:
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			h.fail(w, http.StatusMethodNotAllowed, "use GET")
			return
		}
		switch r.URL.Path {
		case HealthzPath:
			writeText(w, http.StatusOK, "ok\n")
		case ReadyzPath:
			if h.cfg.Ready != nil {
				if err := h.cfg.Ready(); err != nil {
					writeText(w, http.StatusServiceUnavailable, "not ready: "+oneLine(err)+"\n")
					return
				}
			}
			writeText(w, http.StatusOK, "ok\n")
		default:
			h.metrics.ServeHTTP(w, r)
		}
	default:
		h.fail(w, http.StatusNotFound, "no such path: use POST "+MutatePath+", or GET "+HealthzPath+", "+ReadyzPath+" or "+MetricsPath)
	}
}

func (h *handler) mutate(w http.ResponseWriter, r *http.Request) {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		h.refuse(w, http.StatusUnsupportedMediaType, "send the AdmissionReview as application/json")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxReviewBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			h.refuse(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the AdmissionReview is larger than %d bytes", MaxReviewBytes))
			return
		}
		h.refuse(w, http.StatusBadRequest, "could not read the request body")
		return
	}
	review, err := DecodeReview(body)
	if err != nil {
		h.refuse(w, http.StatusBadRequest, err.Error())
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), lookupTimeout)
	defer cancel()
	res, err := Mutate(ctx, h.cfg.Config, review.Request, h.cfg.Accounts)
	if err != nil {
		code := StatusCode(err)
		h.refuse(w, code, oneLine(err))
		return
	}
	h.reviews.WithLabelValues(string(res.Outcome)).Inc()
	fields := []zap.Field{zap.String("uid", string(review.Request.UID)), zap.String("pod", res.Pod),
		zap.String("service_account", res.ServiceAccount), zap.String("outcome", string(res.Outcome)), zap.String("reason", res.Reason)}
	switch res.Outcome {
	case OutcomeInjected:
		h.log.Info("injected", append(fields, zap.String("mode", string(res.Mode)))...)
	case OutcomeDenied:
		h.log.Warn("denied", fields...)
	default:
		h.log.Debug("skipped", fields...)
	}
	out, err := EncodeReview(res.Response)
	if err != nil {
		h.refuse(w, http.StatusInternalServerError, oneLine(err))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out)
}

// DecodeReview reads an AdmissionReview v1 with a request. Unknown fields are
// accepted: a newer API server may send some.
func DecodeReview(body []byte) (*admissionv1.AdmissionReview, error) {
	var review admissionv1.AdmissionReview
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&review); err != nil {
		return nil, badRequest("the body is not an AdmissionReview: %v", oneLine(err))
	}
	if dec.More() {
		return nil, badRequest("the body holds more than one JSON value")
	}
	if review.APIVersion != admissionv1.SchemeGroupVersion.String() || review.Kind != "AdmissionReview" {
		return nil, badRequest("the body is apiVersion %s kind %s, not an AdmissionReview v1: list only v1 in the webhook's admissionReviewVersions",
			quoteShort(review.APIVersion), quoteShort(review.Kind))
	}
	if review.Request == nil {
		return nil, badRequest("the AdmissionReview has no request")
	}
	if review.Request.UID == "" {
		return nil, badRequest("the AdmissionReview request has no uid")
	}
	return &review, nil
}

// EncodeReview wraps resp in an AdmissionReview v1 (the patch base64-encoded, as
// encoding/json does for bytes).
func EncodeReview(resp *admissionv1.AdmissionResponse) ([]byte, error) {
	out := admissionv1.AdmissionReview{Response: resp}
	out.APIVersion, out.Kind = admissionv1.SchemeGroupVersion.String(), "AdmissionReview"
	b, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("could not encode the AdmissionReview: %w", err)
	}
	return b, nil
}

// refuse answers a review it could not handle, and counts it.
func (h *handler) refuse(w http.ResponseWriter, code int, msg string) {
	outcome := outcomeBadRequest
	if code >= 500 {
		outcome = outcomeError
	}
	h.reviews.WithLabelValues(outcome).Inc()
	h.log.Warn("review refused", zap.Int("status", code), zap.String("error", msg))
	h.fail(w, code, msg)
}

func (h *handler) fail(w http.ResponseWriter, code int, msg string) {
	body, _ := json.Marshal(map[string]string{"code": http.StatusText(code), "message": msg})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_, _ = w.Write(append(body, '\n'))
}

func writeText(w http.ResponseWriter, code int, s string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	_, _ = io.WriteString(w, s)
}
