package doctor

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/cwcreds/cwcreds/internal/config"
	"github.com/cwcreds/cwcreds/internal/cwobject"
	"github.com/cwcreds/cwcreds/internal/exchange"
)

const titleIdentity = "identity source"

// fixedToken hands the exchange the token the identity step read, so a token
// command runs once and the exchange sees what was checked.
type fixedToken string

func (t fixedToken) Token(context.Context) (string, error) { return string(t), nil }

func (r *run) checkIdentity(ctx context.Context) {
	p := r.profile
	s := p.Source
	switch s.Type {
	case config.SourceTokenFile:
		src := &exchange.TokenFile{Path: s.TokenFile.Path, Clock: r.d.Clock}
		r.checkJWTSource(ctx, src, "token file "+s.TokenFile.Path, func() string { return rawFile(s.TokenFile.Path) },
			"whatever writes the file (kubelet for a projected service-account token, the CI runner) must keep it fresh: check that it runs and that the path is right")
	case config.SourceTokenCommand:
		c := s.TokenCommand
		src := &exchange.TokenCommand{Argv: c.Command, Timeout: c.Timeout, Format: string(c.Format), Clock: r.d.Clock,
			Stderr: r.d.CommandStderr, StderrName: "cwcreds's stderr"}
		r.checkJWTSource(ctx, src, "token command "+c.Command[0], nil,
			"run the command by hand and check that it prints a fresh JWT (or an ExecCredential with format: exec_credential)")
	case config.SourceAPIToken:
		tok, err := exchange.NewAPIToken(s.APIToken, r.d.Getenv, nil).Token(ctx)
		if err != nil {
			r.add(problemStep(StepIdentity, titleIdentity, "", err.Error(), apiTokenFix(s.APIToken)))
			return
		}
		r.token, r.identityOK = tok, true
		r.add(okStep(StepIdentity, titleIdentity, "API token from "+apiTokenWhere(s.APIToken)+" (present; checked by the exchange)"))
	case config.SourceOIDCRefresh:
		// The refresh is the identity: the exchange step runs it.
		r.identityOK = true
		r.add(okStep(StepIdentity, titleIdentity, "ID token refreshed from "+s.OIDCRefresh.Issuer+" with the login stored by `cwcreds login` (checked by the exchange)"))
	case config.SourceSAMLFile:
		if s.SAMLFile.Path == "-" {
			r.cachedIdentity("a SAML response on standard input")
			return
		}
		src := &exchange.SAMLFile{Path: s.SAMLFile.Path}
		tok, err := src.Token(ctx)
		if err != nil {
			r.add(problemStep(StepIdentity, titleIdentity, "", err.Error(), "put the IdP's base64 SAML response in the file (a fresh one: assertions are valid for minutes)"))
			return
		}
		r.token, r.identityOK = tok, true
		r.add(okStep(StepIdentity, titleIdentity, "SAML response in "+s.SAMLFile.Path+" (checked by the exchange)"))
	case config.SourceSAMLLogin:
		r.cachedIdentity("an interactive SAML login")
	default:
		r.add(problemStep(StepIdentity, titleIdentity, "", fmt.Sprintf("unknown identity source %q", s.Type), "use a source type cwcreds knows"))
	}
}

// cachedIdentity handles the sources doctor cannot run without the user: it
// checks the keys `cwcreds login` (or the last call) left in the cache.
func (r *run) cachedIdentity(what string) {
	r.cachedOnly = true
	if r.d.Cached != nil {
		if c, ok := r.d.Cached(r.profile); ok {
			r.keys, r.haveKeys = c, true
			r.identityOK = true
			r.add(okStep(StepIdentity, titleIdentity, fmt.Sprintf("%s, which doctor cannot repeat: using the keys it left in the cache (valid until %s)", what, stamp(c.Expiration))))
			return
		}
	}
	r.add(problemStep(StepIdentity, titleIdentity, "", fmt.Sprintf("profile %s gets its identity from %s, and the cache holds no fresh keys from it", r.profile.Name, what),
		fmt.Sprintf("run `cwcreds login --profile %s` (or, for a saml_file on stdin, `cwcreds credential-process --profile %s` with the response), then run doctor again", r.profile.Name, r.profile.Name)))
}

type tokenSource interface {
	Token(ctx context.Context) (string, error)
}

// checkJWTSource reads a JWT from src and checks its claims; raw re-reads the
// input when src refused it, to show an expired token's claims.
func (r *run) checkJWTSource(ctx context.Context, src tokenSource, what string, raw func() string, keepFresh string) {
	now := r.d.Clock.Now()
	tok, err := src.Token(ctx)
	if err != nil {
		detail := ""
		if raw != nil {
			if c, cerr := exchange.CheckJWT(raw(), now); errors.Is(cerr, exchange.ErrExpired) {
				detail = claimsDetail(c, now)
			}
		}
		prob, fix := err.Error(), keepFresh
		var e *exchange.Error
		if errors.As(err, &e) && e.Err != nil {
			// The source's error is "<what>: <cause>; <hint>": doctor says the
			// cause as the problem and the hint as the fix.
			cause, hint, _ := strings.Cut(e.Err.Error(), "; ")
			switch {
			case errors.Is(err, exchange.ErrExpired):
				prob = e.Op // the claims, in the detail, say when
			case errors.Is(err, exchange.ErrNotJWT):
				prob = e.Op + ": " + cause
				fix = "it must hold one signed JWT (three base64url parts separated by dots) and nothing else; " + keepFresh
			default:
				prob = e.Op + ": " + cause
				if hint != "" {
					fix = hint
				}
			}
		}
		r.add(problemStep(StepIdentity, titleIdentity, detail, prob, fix))
		return
	}
	c, err := exchange.CheckJWT(tok, now)
	if err != nil { // the source checked it: only a clock that moved gets here
		r.add(problemStep(StepIdentity, titleIdentity, "", what+": "+err.Error(), keepFresh))
		return
	}
	r.token, r.claims = tok, &c
	detail := "JWT from " + what + ": " + claimsDetail(c, now)
	var probs, fixes []string
	if c.Issuer == "" {
		probs = append(probs, "the token has no iss claim")
		fixes = append(fixes, "use a token from an OIDC issuer registered in the org's Workload Federation")
	} else if u, err := url.Parse(c.Issuer); err != nil || u.Host == "" || (u.Scheme != "https" && !(u.Scheme == "http" && loopbackHost(u.Hostname()))) {
		probs = append(probs, fmt.Sprintf("its iss %s is not an https URL, and CoreWeave trusts only HTTPS issuers", c.Issuer))
		fixes = append(fixes, "use a token from an HTTPS issuer registered in the org's Workload Federation")
	}
	if c.Subject == "" {
		probs = append(probs, "the token has no sub claim, which names the principal")
		fixes = append(fixes, "use a token that names its subject")
	}
	if !slices.Contains(c.Audience, cwobject.RecommendedAudience) {
		// Only a problem when the exchange is refused too: an org may trust
		// another audience (checkExchange decides).
		r.audMismatch = true
	}
	if !c.IssuedAt.IsZero() && c.IssuedAt.After(now.Add(cwobject.OIDCIssuedAtSkew)) {
		probs = append(probs, fmt.Sprintf("it was issued %s in the future (iat %s): this machine's clock is behind the issuer's", round(c.IssuedAt.Sub(now)), stamp(c.IssuedAt)))
		fixes = append(fixes, "synchronise this machine's clock (timedatectl set-ntp true, chronyd or ntpd)")
	}
	if len(probs) > 0 {
		r.add(problemStep(StepIdentity, titleIdentity, detail, strings.Join(probs, "; "), strings.Join(fixes, "; ")))
		return
	}
	r.identityOK = true
	r.add(okStep(StepIdentity, titleIdentity, detail))
}

// audienceProblem turns the identity step into a problem once the exchange has
// been refused: the token's audience is the likely reason.
func (r *run) audienceProblem(idx int) {
	s := &r.steps[idx]
	s.Status = StatusProblem
	s.Problem = fmt.Sprintf("the token's aud %s does not include %s, the audience CoreWeave expects, and the exchange was refused", showList(r.claims.Audience), cwobject.RecommendedAudience)
	s.Fix = "ask for a token with audience " + cwobject.RecommendedAudience + " (a projected service-account token's audience:, the CI system's audience setting), or register its audience in the org's Workload Federation"
}

func claimsDetail(c exchange.Claims, now time.Time) string {
	exp := fmt.Sprintf("expires %s (in %s)", stamp(c.Expiry), round(c.Expiry.Sub(now)))
	if !c.Expiry.After(now) {
		exp = fmt.Sprintf("expired %s (%s ago)", stamp(c.Expiry), round(now.Sub(c.Expiry)))
	}
	return fmt.Sprintf("iss %s, sub %s, aud %s, %s", orNone(c.Issuer), orNone(c.Subject), showList(c.Audience), exp)
}

// rawFile is the token file's contents when small enough to be a JWT.
func rawFile(path string) string {
	fi, err := os.Stat(path)
	if err != nil || !fi.Mode().IsRegular() || fi.Size() > exchange.MaxJWTBytes {
		return ""
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

func apiTokenWhere(s *config.APITokenSource) string {
	switch {
	case s.Env != "":
		return "$" + s.Env
	case s.File != "":
		return "file " + s.File
	case s.Keyring != nil:
		return fmt.Sprintf("the keyring (service %s, user %s)", s.Keyring.Service, s.Keyring.User)
	}
	return "the profile"
}

func apiTokenFix(s *config.APITokenSource) string {
	switch {
	case s.Env != "":
		return "export " + s.Env + " with a CoreWeave API access token (create one in the CoreWeave console)"
	case s.File != "":
		return "write a CoreWeave API access token into " + s.File + " (0600)"
	}
	return "store a CoreWeave API access token in the keyring entry the profile names"
}

func loopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func showList(l []string) string {
	if len(l) == 0 {
		return "(none)"
	}
	return strings.Join(l, ",")
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// round keeps a duration readable: whole seconds, or whole minutes past ten.
func round(d time.Duration) time.Duration {
	if d < 0 {
		d = -d
	}
	if d >= 10*time.Minute {
		return d.Round(time.Minute)
	}
	return d.Round(time.Second)
}
