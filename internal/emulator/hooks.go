package emulator

import (
	"encoding/json"
	"net/http"
	"slices"
	"time"

	"github.com/cwcreds/cwcreds/internal/cwobject"
)

// The /_emulator/ routes let tests in other processes (scripts, the CLI's users)
// read statistics and inject faults. They never reveal a token or secret.

type statsResponse struct {
	Calls map[string]int `json:"calls"`
}

func (e *Emulator) serveStats(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, statsResponse{Calls: e.stats.snapshot()})
}

func (e *Emulator) serveResetStats(w http.ResponseWriter, _ *http.Request) {
	e.stats.reset()
	writeJSON(w, http.StatusOK, empty{})
}

// faultRequest is the body of POST /_emulator/faults.
type faultRequest struct {
	Operation         string        `json:"operation"`
	Count             int           `json:"count"`
	HTTPStatus        int           `json:"httpStatus"`
	Code              cwobject.Code `json:"code"`
	Message           string        `json:"message"`
	RetryAfterSeconds float64       `json:"retryAfterSeconds"`
	LatencyMs         int64         `json:"latencyMs"`
	Reset             bool          `json:"reset"`
	Malformed         bool          `json:"malformed"`
}

// decodeFaultRequest parses and checks a fault request.
func decodeFaultRequest(body []byte) (string, Fault, *apiError) {
	var req faultRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return "", Fault{}, invalidArgument("fault must be JSON like {\"operation\":\"CreateAccessKeyFromOIDC\",\"count\":1,\"httpStatus\":503}")
	}
	known := req.Operation == "*" || slices.ContainsFunc(cwobject.Operations, func(op cwobject.Operation) bool {
		return op.Name == req.Operation
	})
	switch {
	case !known:
		return "", Fault{}, invalidArgument("operation %q is not a CWObject gRPC method name nor \"*\"", req.Operation)
	case req.Count < 0:
		return "", Fault{}, invalidArgument("count must not be negative")
	case req.HTTPStatus != 0 && (req.HTTPStatus < 100 || req.HTTPStatus > 599):
		return "", Fault{}, invalidArgument("httpStatus must be between 100 and 599")
	case req.Code < 0 || req.Code > cwobject.CodeUnauthenticated:
		return "", Fault{}, invalidArgument("code must be a gRPC code between 0 and 16")
	case req.RetryAfterSeconds < 0 || req.RetryAfterSeconds > 86400:
		return "", Fault{}, invalidArgument("retryAfterSeconds must be between 0 and 86400")
	case req.LatencyMs < 0 || req.LatencyMs > 3_600_000:
		return "", Fault{}, invalidArgument("latencyMs must be between 0 and 3600000")
	}
	return req.Operation, Fault{
		Count:      req.Count,
		HTTPStatus: req.HTTPStatus,
		Code:       req.Code,
		Message:    req.Message,
		RetryAfter: time.Duration(req.RetryAfterSeconds * float64(time.Second)),
		Latency:    time.Duration(req.LatencyMs) * time.Millisecond,
		Reset:      req.Reset,
		Malformed:  req.Malformed,
	}, nil
}

func (e *Emulator) serveAddFault(w http.ResponseWriter, r *http.Request) {
	c := &call{w: w, r: r, e: e}
	r.Body = http.MaxBytesReader(w, r.Body, cwobject.MaxRequestBytes)
	body, aerr := c.body()
	if aerr == nil {
		var op string
		var f Fault
		if op, f, aerr = decodeFaultRequest(body); aerr == nil {
			e.faults.add(op, f)
			writeJSON(w, http.StatusOK, empty{})
			return
		}
	}
	writeError(w, aerr)
}

func (e *Emulator) serveClearFaults(w http.ResponseWriter, _ *http.Request) {
	e.faults.clear()
	writeJSON(w, http.StatusOK, empty{})
}

type infoResponse struct {
	OrgID     string `json:"orgId"`
	Region    string `json:"region"`
	DevIssuer string `json:"devIssuer"`
	APIURL    string `json:"apiUrl,omitempty"`
	S3URL     string `json:"s3Url,omitempty"`
}

// serveInfo tells scripts what they need to talk to the emulator (no secrets).
func (e *Emulator) serveInfo(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, infoResponse{
		OrgID:     e.orgID,
		Region:    e.cfg.Region,
		DevIssuer: e.DevIssuer().URL(),
		APIURL:    e.APIURL(),
		S3URL:     e.S3URL(),
	})
}
