package doctor

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/cwcreds/cwcreds/internal/config"
	"github.com/cwcreds/cwcreds/internal/cwobject"
	"github.com/cwcreds/cwcreds/internal/exchange"
)

const titleExchange = "exchange for keys"

func (r *run) identityIndex() int {
	for i, s := range r.steps {
		if s.ID == StepIdentity {
			return i
		}
	}
	return -1
}

func (r *run) checkExchange(ctx context.Context) {
	p := r.profile
	if r.cachedOnly {
		if r.haveKeys {
			r.exchangeAt = r.add(skippedStep(StepExchange, titleExchange, "not repeated: the identity comes from a login; the cached keys are checked on S3"))
		} else {
			r.exchangeAt = r.add(skippedStep(StepExchange, titleExchange, "needs a login first (see identity)"))
		}
		return
	}
	if !r.identityOK && !r.audMismatch {
		r.exchangeAt = r.add(skippedStep(StepExchange, titleExchange, "needs a usable identity (see identity)"))
		return
	}
	if r.d.NewFetcher == nil {
		r.exchangeAt = r.add(problemStep(StepExchange, titleExchange, "", "no exchange configured", "this is a bug in cwcreds"))
		return
	}
	var src exchange.TokenSource
	if r.token != "" {
		src = fixedToken(r.token)
	}
	f, err := r.d.NewFetcher(p, src)
	if err != nil {
		r.exchangeAt = r.add(problemStep(StepExchange, titleExchange, "", err.Error(), "fix the profile's settings named"))
		return
	}
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	c, err := f.Fetch(ctx)
	if err != nil {
		r.exchangeAt = r.add(problemStep(StepExchange, titleExchange, fmt.Sprintf("%s exchange at %s", p.Exchange, p.APIEndpoint), err.Error(), r.exchangeFix(err)))
		if r.audMismatch && r.claims != nil && unrecoverable(err) {
			if i := r.identityIndex(); i >= 0 {
				r.audienceProblem(i)
			}
		}
		return
	}
	r.keys, r.haveKeys, r.minted, r.mintedAt = c, true, true, r.d.Clock.Now()
	principal := c.Principal
	if principal == "" {
		principal = "(not named by the API)"
	}
	detail := fmt.Sprintf("%s exchange at %s gave keys for principal %s, valid %s (until %s)", p.Exchange, p.APIEndpoint, principal, round(c.Remaining(r.mintedAt)), stamp(c.Expiration))
	if r.audMismatch && r.claims != nil {
		detail += fmt.Sprintf("; the token's aud %s is not %s, but the org accepts it", showList(r.claims.Audience), cwobject.RecommendedAudience)
		if i := r.identityIndex(); i >= 0 && r.steps[i].Status == StatusOK {
			r.identityOK = true
		}
	}
	r.exchangeAt = r.add(okStep(StepExchange, titleExchange, detail))
}

// exchangeFix says what to do about a failed exchange, by the API's code.
func (r *run) exchangeFix(err error) string {
	p := r.profile
	principal := r.principal()
	action := exchangeAction(p.Exchange)
	switch cwobject.CodeOf(err) {
	case cwobject.CodePermissionDenied:
		who := "the principal"
		if principal != "" {
			who = principal
		}
		return fmt.Sprintf("an org admin must allow %s %s in an access policy (check with `cwcreds can-i %s --resource '*' --principal %s`)", who, action, action, orNone(principal))
	case cwobject.CodeUnauthenticated:
		if p.Source.Type == config.SourceAPIToken {
			return "the API token is invalid, expired or revoked: create a new one in the CoreWeave console"
		}
		if r.claims != nil {
			return fmt.Sprintf("CoreWeave did not accept the token: the org's Workload Federation must trust issuer %s with audience %s, and the token must be fresh", orNone(r.claims.Issuer), cwobject.RecommendedAudience)
		}
		return "CoreWeave did not accept the identity: check that the org's Workload Federation trusts its issuer, and log in again"
	case cwobject.CodeNotFound, cwobject.CodeFailedPrecondition, cwobject.CodeInvalidArgument:
		return fmt.Sprintf("check org_id (%s, from %s) and the profile's exchange settings", orNone(p.OrgID), p.Origin("org_id"))
	}
	if strings.Contains(err.Error(), "cwcreds login") {
		return fmt.Sprintf("run `cwcreds login --profile %s`", p.Name)
	}
	return "the CoreWeave API is unavailable or unreachable: try again later, and check api_endpoint (" + p.Origin("api_endpoint").String() + "), the network and HTTPS_PROXY/NO_PROXY"
}

// principal is the principal the exchange acts as, when the claims say.
func (r *run) principal() string {
	if r.claims != nil && r.claims.Issuer != "" && r.claims.Subject != "" {
		return cwobject.PrincipalPrefixOIDC + r.claims.Issuer + ":" + r.claims.Subject
	}
	return ""
}

func exchangeAction(e config.Exchange) string {
	switch e {
	case config.ExchangeSAML:
		return "cwobject:CreateAccessKeySAML"
	case config.ExchangeAPIToken, config.ExchangeAPITokenGet:
		return "cwobject:CreateAccessKey"
	}
	return "cwobject:CreateAccessKeyOIDC"
}

// revoke revokes the keys doctor minted, when an API token allows it.
func (r *run) revoke(ctx context.Context) {
	if !r.minted || r.exchangeAt <= 0 {
		return
	}
	s := &r.steps[r.exchangeAt]
	left := fmt.Sprintf("; they were left to expire at %s", stamp(r.keys.Expiration))
	if r.d.Revoker == nil {
		s.Detail += left
		return
	}
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	if _, err := r.d.Revoker.Token(ctx, r.profile); err != nil {
		s.Detail += left + " (export " + exchange.DefaultAPITokenEnv + " to have doctor revoke them)"
		return
	}
	res, err := r.d.Revoker.Revoke(ctx, r.profile, []string{r.keys.AccessKeyID})
	switch {
	case err != nil:
		s.Detail += left + " (could not revoke them: " + err.Error() + ")"
	case len(res) == 1 && res[0].Err != nil:
		s.Detail += left + " (could not revoke them: " + res[0].Err.Error() + ")"
	default:
		s.Detail += "; doctor revoked them after its checks"
	}
}

// unrecoverable: the exchange was refused, not merely unavailable.
func unrecoverable(err error) bool {
	var e *exchange.Error
	return errors.As(err, &e) && e.Unrecoverable()
}
