package server

import (
	"net"
	"net/http"

	"go.uber.org/zap"
)

// Handler returns the credentials endpoint for a listener bound to addr (use
// ln.Addr()); the Host header check is derived from it. A node agent (Config.Agent)
// gets the agent's handler. A unix socket address
// accepts any Host; a nil or unparsable address refuses every request.
func (s *Server) Handler(addr net.Addr) http.Handler {
	if s.agent != nil {
		return &agentHandler{s: s, hosts: newHostRule(addr)}
	}
	return &handler{s: s, hosts: newHostRule(addr)}
}

type handler struct {
	s     *Server
	hosts hostRule
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s := h.s
	set := s.set.Load()
	kind, name := parseCredentialsPath(r.URL.Path, r.URL.RawPath)
	var p *profile
	switch kind {
	case pathDefault:
		p = set.def
	case pathNamed:
		p = set.byName[name]
	}
	pm := s.metrics.unknown
	if p != nil {
		pm = p.pm
	}

	var refusal *errorResponse
	switch {
	case isForwarded(r.Header):
		refusal = s.static.forwarded
	case !h.hosts.allows(r.Host):
		refusal = s.static.misdirected
	case kind == pathOther:
		refusal = s.static.notFound
	case r.Method != http.MethodGet && r.Method != http.MethodHead:
		refusal = s.static.methodNotAllowed
	default:
		refusal = s.checkToken(r.Header)
	}
	if refusal == nil && p == nil {
		refusal = s.static.notFound // only now: unauthenticated callers learn no names
	}
	if refusal != nil {
		s.refuse(w, r, pm, refusal)
		return
	}

	ctx := newColdCtx(r.Context(), s.coldWait)
	c, err := p.p.Get(ctx)
	ctx.release()
	if err == nil && (c.AccessKeyID == "" || c.SecretAccessKey == "" || !s.clock.Now().Before(c.Expiration)) {
		err = errInvalidKeys
	}
	if err != nil {
		s.fail(w, r, p, err)
		return
	}
	e := p.encoded(c)
	hdr := w.Header()
	hdr["Content-Type"] = s.hdrJSON
	hdr["Cache-Control"] = s.hdrNoStore
	hdr["Content-Length"] = e.contentLength
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(e.body) // a failed write means the caller left
	}
	p.pm.requests[stOK].Inc()
}

// isForwarded reports proxy headers: no SDK sends them; proxies and SSRF relays do.
func isForwarded(h http.Header) bool {
	return h["X-Forwarded-For"] != nil || h["Forwarded"] != nil || h["X-Real-Ip"] != nil || h["X-Forwarded-Host"] != nil
}

// checkToken returns nil when the request carries exactly one Authorization header
// equal to the token (sent raw, without "Bearer", as every SDK does).
func (s *Server) checkToken(h http.Header) *errorResponse {
	v := h["Authorization"]
	switch {
	case len(v) == 0 || len(v) == 1 && v[0] == "":
		return s.static.missingToken
	case len(v) > 1 || !s.token.Check(v[0]):
		return s.static.wrongToken
	}
	return nil
}

func (s *Server) refuse(w http.ResponseWriter, r *http.Request, pm *profileMetrics, e *errorResponse) {
	s.writeError(w, e)
	pm.requests[statusIndex(e.status)].Inc()
	if ce := s.log.Check(zap.DebugLevel, "refused a credentials request"); ce != nil {
		// Path and Host are not logged: they are the caller's text, not ours.
		ce.Write(zap.Int("status", e.status), zap.String("code", e.code), zap.String("remote", r.RemoteAddr))
	}
}

func (s *Server) fail(w http.ResponseWriter, r *http.Request, p *profile, err error) {
	e := s.responseFor(p.name, err)
	s.writeError(w, e)
	p.pm.requests[statusIndex(e.status)].Inc()
	lvl := zap.DebugLevel // the cache logs its own failures
	if e.status == http.StatusInternalServerError {
		lvl = zap.ErrorLevel
	}
	if ce := s.log.Check(lvl, "could not serve credentials"); ce != nil {
		ce.Write(zap.String("profile", p.name), zap.Int("status", e.status), zap.String("error", cleanMessage(err.Error())), zap.String("remote", r.RemoteAddr))
	}
}
