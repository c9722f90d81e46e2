package emulator

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/cwcreds/cwcreds/internal/cwobject"
)

// call is one API request being handled.
type call struct {
	op        cwobject.Operation
	w         http.ResponseWriter
	r         *http.Request
	principal string // coreweave/<uid> for bearer calls
	e         *Emulator
}

// handlerFunc answers a call with a response body (marshalled as JSON, 200) or an error.
type handlerFunc func(c *call) (any, *apiError)

func (e *Emulator) handlers() map[string]handlerFunc {
	return map[string]handlerFunc{
		cwobject.OpAuthCanI.Name:                          e.authCanI,
		cwobject.OpCreateAccessKeyFromJWT.Name:            e.createAccessKeyFromJWT,
		cwobject.OpListAccessKeyInfo.Name:                 e.listAccessKeyInfo,
		cwobject.OpGetAccessKeyInfo.Name:                  e.getAccessKeyInfo,
		cwobject.OpUpdateAccessKeyStatus.Name:             e.updateAccessKeyStatus,
		cwobject.OpListAccessPolicies.Name:                e.listAccessPolicies,
		cwobject.OpEnsureAccessPolicy.Name:                e.ensureAccessPolicy,
		cwobject.OpDeleteAccessPolicy.Name:                e.deleteAccessPolicy,
		cwobject.OpSetBucketSettings.Name:                 e.setBucketSettings,
		cwobject.OpListBucketInfo.Name:                    e.listBucketInfo,
		cwobject.OpGetBucketInfo.Name:                     e.getBucketInfo,
		cwobject.OpSetOrganizationSettings.Name:           e.setOrganizationSettings,
		cwobject.OpRevokeAccessKeyByAccessKey.Name:        e.revokeAccessKeyByAccessKey,
		cwobject.OpRevokeAccessKeysByPrincipal.Name:       e.revokeAccessKeysByPrincipal,
		cwobject.OpCreateAccessKeyFromSAML.Name:           e.createAccessKeyFromSAML,
		cwobject.OpCreateAccessKeyFromOIDC.Name:           e.createAccessKeyFromOIDC,
		cwobject.OpCreateAccessKeyFromContainerCreds.Name: e.createAccessKeyFromContainerCreds,
		cwobject.OpCreateAccessKeyFromApiToken.Name:       e.createAccessKeyFromApiToken,
	}
}

// routes builds the API mux from the contract's operation table.
func (e *Emulator) routes() (http.Handler, error) {
	mux := http.NewServeMux()
	handlers := e.handlers()
	for _, op := range cwobject.Operations {
		h, ok := handlers[op.Name]
		if !ok {
			return nil, fmt.Errorf("operation %s has no emulator handler", op.Name)
		}
		mux.Handle(op.Method+" "+op.Path, e.operation(op, h))
	}
	mux.HandleFunc("GET /_emulator/stats", e.serveStats)
	mux.HandleFunc("POST /_emulator/reset-stats", e.serveResetStats)
	mux.HandleFunc("POST /_emulator/faults", e.serveAddFault)
	mux.HandleFunc("DELETE /_emulator/faults", e.serveClearFaults)
	mux.HandleFunc("POST /_emulator/date-skew", e.serveDateSkew)
	mux.HandleFunc("GET /_emulator/info", e.serveInfo)
	mux.HandleFunc(DevIssuerPath+"/", func(w http.ResponseWriter, r *http.Request) {
		e.devHandler().ServeHTTP(w, r)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeStatus(w, http.StatusNotFound, cwobject.CodeNotFound, "no such operation: "+r.Method+" "+r.URL.Path)
	})
	return e.faults.withDate(e.clock, mux), nil
}

// operation wraps a handler with statistics, injected faults, auth and policy.
func (e *Emulator) operation(op cwobject.Operation, h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.stats.inc(op.Name)
		if f, ok := e.faults.take(op.Name); ok && !e.applyFault(w, r, op, h, f) {
			return
		}
		e.serve(w, r, op, h)
	})
}

func (e *Emulator) serve(w http.ResponseWriter, r *http.Request, op cwobject.Operation, h handlerFunc) {
	r.Body = http.MaxBytesReader(w, r.Body, cwobject.MaxRequestBytes)
	c := &call{op: op, w: w, r: r, e: e}
	resp, aerr := e.authenticate(c)
	if aerr == nil {
		resp, aerr = h(c)
	}
	if aerr != nil {
		e.log.Debug("cwobject call refused", zap.String("op", op.Name),
			zap.String("principal", c.principal), zap.Stringer("code", aerr.code), zap.String("reason", aerr.msg))
		writeError(w, aerr)
		return
	}
	e.log.Debug("cwobject call", zap.String("op", op.Name), zap.String("principal", c.principal))
	writeJSON(w, http.StatusOK, resp)
}

// authenticate checks the bearer token and the actions the contract requires.
func (e *Emulator) authenticate(c *call) (any, *apiError) {
	if c.op.Auth != cwobject.AuthBearer {
		return nil, nil
	}
	authz := c.r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(strings.TrimSpace(authz), " ")
	if authz == "" || !ok || !strings.EqualFold(scheme, "Bearer") {
		return nil, unauthenticated("missing credentials: send Authorization: Bearer <CoreWeave API token>")
	}
	e.mu.Lock()
	uid, known := e.tokens[strings.TrimSpace(token)]
	e.mu.Unlock()
	if !known {
		return nil, unauthenticated("invalid API access token: create one in the CoreWeave console")
	}
	c.principal = cwobject.PrincipalPrefixUser + uid
	if actions, ok := cwobject.RequiredActions[c.op.Name]; ok {
		return nil, c.authorize(actions...)
	}
	return nil, nil
}

// authorize evaluates the org's policies for the caller on resource "*".
func (c *call) authorize(actions ...string) *apiError {
	for _, a := range actions {
		if !c.e.policies.allowed(c.principal, a, "*") {
			return errorf(cwobject.CodePermissionDenied, "%s is not allowed %s: add an access policy that allows it", c.principal, a)
		}
	}
	return nil
}

// body reads the request body within cwobject.MaxRequestBytes.
func (c *call) body() ([]byte, *apiError) {
	data, err := io.ReadAll(c.r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, invalidArgument("request body is larger than %d bytes", cwobject.MaxRequestBytes)
		}
		return nil, invalidArgument("cannot read the request body")
	}
	return data, nil
}

// applyFault acts out f and reports whether normal handling should follow.
func (e *Emulator) applyFault(w http.ResponseWriter, r *http.Request, op cwobject.Operation, h handlerFunc, f Fault) bool {
	e.log.Debug("injecting fault", zap.String("op", op.Name))
	if f.Latency > 0 {
		// Buffer the body first: net/http cancels r.Context() on a client that
		// went away only once the request body has been read to its end.
		body, err := io.ReadAll(io.LimitReader(r.Body, cwobject.MaxRequestBytes+1))
		if err != nil {
			return false
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		select {
		case <-e.clock.After(f.Latency):
		case <-r.Context().Done():
			return false
		}
	}
	switch {
	case f.Reset:
		resetConnection(w)
		return false
	case f.Malformed:
		rec := &recorder{header: http.Header{}, status: http.StatusOK}
		e.serve(rec, r, op, h)
		body := rec.body.Bytes()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body[:len(body)/2])
		return false
	case f.failing():
		status, code := f.HTTPStatus, f.Code
		if status == 0 {
			status = cwobject.HTTPStatusForCode(code)
		}
		if code == cwobject.CodeOK {
			code = cwobject.CodeForHTTPStatus(status)
		}
		msg := f.Message
		if msg == "" {
			msg = "injected fault"
		}
		if f.RetryAfter > 0 {
			secs := int64((f.RetryAfter + time.Second - 1) / time.Second)
			w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
		}
		writeStatus(w, status, code, msg)
		return false
	}
	return true
}

// resetConnection closes the client's connection with a TCP RST.
func resetConnection(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler) // HTTP/2: aborts the stream instead
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tcp, ok := conn.(*net.TCPConn); ok {
		_ = tcp.SetLinger(0)
	}
	_ = conn.Close()
}
