package emulator

import (
	"strings"
	"time"

	"github.com/cwcreds/cwcreds/internal/cwobject"
)

// exchangeLifetime applies the POST exchanges' durationSeconds rules.
func exchangeLifetime(seconds int64) (time.Duration, *apiError) {
	if seconds < 0 || seconds > cwobject.MaxDurationSeconds {
		return 0, invalidArgument("durationSeconds must be between 0 and %d", cwobject.MaxDurationSeconds)
	}
	if seconds == 0 {
		return cwobject.DefaultExchangeLifetime, nil
	}
	return time.Duration(seconds) * time.Second, nil
}

// checkOrg refuses an exchange addressed to another organisation.
func (e *Emulator) checkOrg(orgID string) *apiError {
	if orgID == "" {
		return invalidArgument("orgId is required")
	}
	if orgID != e.orgID {
		return unauthenticated("organisation %q does not trust this identity: check orgId", orgID)
	}
	return nil
}

func (e *Emulator) createAccessKeyFromOIDC(c *call) (any, *apiError) {
	body, aerr := c.body()
	if aerr != nil {
		return nil, aerr
	}
	req, aerr := decodeCreateAccessKeyFromOIDC(body)
	if aerr != nil {
		return nil, aerr
	}
	lifetime, aerr := exchangeLifetime(req.DurationSeconds)
	if aerr != nil {
		return nil, aerr
	}
	if req.OIDCToken == "" {
		return nil, invalidArgument("oidcToken is required")
	}
	if aerr := e.checkOrg(req.OrgID); aerr != nil {
		return nil, aerr
	}
	principal, aerr := e.oidc.verify(c.r.Context(), req.OIDCToken)
	if aerr != nil {
		return nil, aerr
	}
	c.principal = principal
	return accessKeyResponse(e.keys.mint(principal, lifetime, req.Attributes)), nil
}

func (e *Emulator) createAccessKeyFromContainerCreds(c *call) (any, *apiError) {
	if aerr := e.checkOrg(c.r.PathValue("orgId")); aerr != nil {
		return nil, aerr
	}
	raw := strings.TrimSpace(c.r.Header.Get("Authorization"))
	if raw == "" {
		return nil, unauthenticated("missing Authorization header: send the raw OIDC token (no scheme)")
	}
	if scheme, _, ok := strings.Cut(raw, " "); ok && strings.EqualFold(scheme, "Bearer") {
		return nil, unauthenticated("send the raw OIDC token in Authorization, without the Bearer scheme")
	}
	principal, aerr := e.oidc.verify(c.r.Context(), raw)
	if aerr != nil {
		return nil, aerr
	}
	c.principal = principal
	return containerCredentials(e.keys.mint(principal, cwobject.ContainerCredsLifetime, nil)), nil
}

func (e *Emulator) createAccessKeyFromSAML(c *call) (any, *apiError) {
	body, aerr := c.body()
	if aerr != nil {
		return nil, aerr
	}
	req, aerr := decodeCreateAccessKeyFromSAML(body)
	if aerr != nil {
		return nil, aerr
	}
	lifetime, aerr := exchangeLifetime(req.DurationSeconds)
	if aerr != nil {
		return nil, aerr
	}
	if req.SAMLResponse == "" {
		return nil, invalidArgument("samlResponse is required")
	}
	if req.ConfigID == "" {
		return nil, invalidArgument("configId is required: use the Config ID shown in Workload Federation")
	}
	if aerr := e.checkOrg(req.OrgID); aerr != nil {
		return nil, aerr
	}
	id, aerr := e.saml.verify(req.ConfigID, req.SAMLResponse, req.Attributes[cwobject.SAMLRoleAttribute])
	if aerr != nil {
		return nil, aerr
	}
	c.principal = id.principal
	attrs := copyMap(req.Attributes)
	if id.principalName != "" {
		if attrs == nil {
			attrs = map[string]string{}
		}
		if _, set := attrs[cwobject.SAMLPrincipalNameAttribute]; !set {
			attrs[cwobject.SAMLPrincipalNameAttribute] = id.principalName
		}
	}
	return accessKeyResponse(e.keys.mint(id.principal, lifetime, attrs)), nil
}
