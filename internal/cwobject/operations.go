package cwobject

import (
	"context"

	"go.uber.org/zap"

	"github.com/cwcreds/cwcreds/internal/redact"
)

// One method per CWObject operation. Each validates its input, then goes through
// do; method, path and authentication come from the Operation table in contract.go.

// AuthCanI reports whether the token's principal may perform every action on every
// resource.
func (c *Client) AuthCanI(ctx context.Context, req AuthCanIRequest) (bool, error) {
	if err := req.validate(); err != nil {
		return false, err
	}
	var resp AuthCanIResponse
	if err := c.do(ctx, OpAuthCanI, nil, nil, req, &resp); err != nil {
		return false, err
	}
	return resp.Verdict, nil
}

// CreateAccessKeyFromJWT mints a key for the token's principal. DurationSeconds 0
// makes a permanent key. The call is not retried after an ambiguous failure.
func (c *Client) CreateAccessKeyFromJWT(ctx context.Context, req CreateAccessKeyFromJWTRequest) (*AccessKey, error) {
	if err := req.validate(); err != nil {
		return nil, err
	}
	var key AccessKey
	if err := c.do(ctx, OpCreateAccessKeyFromJWT, nil, nil, req, &key); err != nil {
		return nil, err
	}
	return &key, nil
}

// ListAccessKeyInfo returns one page of key descriptions (no secrets). Limit 0
// means 1000; see AllAccessKeyInfo to walk every page.
func (c *Client) ListAccessKeyInfo(ctx context.Context, req ListAccessKeyInfoRequest) ([]AccessKeyInfo, error) {
	q, err := req.query()
	if err != nil {
		return nil, err
	}
	var resp accessKeyInfoList
	if err := c.do(ctx, OpListAccessKeyInfo, nil, q, nil, &resp); err != nil {
		return nil, err
	}
	c.warnUnknownStatus(OpListAccessKeyInfo, resp.Info...)
	return resp.Info, nil
}

// GetAccessKeyInfo describes one key by its id.
func (c *Client) GetAccessKeyInfo(ctx context.Context, accessKeyID string) (*AccessKeyInfo, error) {
	v := newChecker(OpGetAccessKeyInfo)
	v.keyID("accessKeyId", accessKeyID)
	if err := v.result(); err != nil {
		return nil, err
	}
	var resp accessKeyInfoOne
	if err := c.do(ctx, OpGetAccessKeyInfo, map[string]string{"accessKeyId": accessKeyID}, nil, nil, &resp); err != nil {
		return nil, err
	}
	c.warnUnknownStatus(OpGetAccessKeyInfo, resp.Info)
	return &resp.Info, nil
}

// UpdateAccessKeyStatus activates or suspends every key of a principal. Status may
// be given as ACTIVE or ACCESS_KEY_STATUS_ACTIVE (likewise SUSPENDED).
func (c *Client) UpdateAccessKeyStatus(ctx context.Context, req UpdateAccessKeyStatusRequest) error {
	req, err := req.normalized()
	if err != nil {
		return err
	}
	return c.do(ctx, OpUpdateAccessKeyStatus, nil, nil, req, nil)
}

// ListAccessPolicies returns the organization's access policies. Effects and
// versions this client does not know are returned as sent and logged as warnings.
func (c *Client) ListAccessPolicies(ctx context.Context) ([]Policy, error) {
	var resp policyList
	if err := c.do(ctx, OpListAccessPolicies, nil, nil, nil, &resp); err != nil {
		return nil, err
	}
	c.warnUnknownPolicyTerms(resp.Policies)
	return resp.Policies, nil
}

// EnsureAccessPolicy creates or replaces a policy by name. An empty Version means
// PolicyVersion; every statement needs a name, Allow or Deny, and non-empty
// actions, resources and principals.
func (c *Client) EnsureAccessPolicy(ctx context.Context, p Policy) error {
	p, err := p.normalized()
	if err != nil {
		return err
	}
	return c.do(ctx, OpEnsureAccessPolicy, nil, nil, EnsureAccessPolicyRequest{Policy: p}, nil)
}

// DeleteAccessPolicy deletes a policy by name; an unknown name is NotFound.
func (c *Client) DeleteAccessPolicy(ctx context.Context, name string) error {
	return c.do(ctx, OpDeleteAccessPolicy, map[string]string{"name": name}, nil, nil, nil)
}

// SetBucketSettings changes the settings that are set (non-nil) and returns the
// bucket's settings afterwards.
func (c *Client) SetBucketSettings(ctx context.Context, req SetBucketSettingsRequest) (*BucketSettings, error) {
	if err := req.validate(); err != nil {
		return nil, err
	}
	var resp SetBucketSettingsResponse
	if err := c.do(ctx, OpSetBucketSettings, nil, nil, req, &resp); err != nil {
		return nil, err
	}
	return &resp.Settings, nil
}

// ListBucketInfo returns one page of buckets. Limit 0 means 1000; see AllBucketInfo.
func (c *Client) ListBucketInfo(ctx context.Context, req ListBucketInfoRequest) ([]BucketInfo, error) {
	q, err := req.query()
	if err != nil {
		return nil, err
	}
	var resp bucketInfoList
	if err := c.do(ctx, OpListBucketInfo, nil, q, nil, &resp); err != nil {
		return nil, err
	}
	return resp.Info, nil
}

// GetBucketInfo describes one bucket.
func (c *Client) GetBucketInfo(ctx context.Context, name string) (*BucketInfo, error) {
	var resp bucketInfoOne
	if err := c.do(ctx, OpGetBucketInfo, map[string]string{"bucketName": name}, nil, nil, &resp); err != nil {
		return nil, err
	}
	return &resp.Info, nil
}

// SetOrganizationSettings changes the org-wide audit settings that are set (non-nil)
// and returns the settings afterwards.
func (c *Client) SetOrganizationSettings(ctx context.Context, s OrganizationSettings) (*OrganizationSettings, error) {
	var resp SetOrganizationSettingsResponse
	if err := c.do(ctx, OpSetOrganizationSettings, nil, nil, SetOrganizationSettingsRequest{Settings: s}, &resp); err != nil {
		return nil, err
	}
	return &resp.Settings, nil
}

// RevokeAccessKeyByAccessKey revokes one key, named by its id (CW…), never its secret.
func (c *Client) RevokeAccessKeyByAccessKey(ctx context.Context, accessKeyID string) error {
	req := RevokeAccessKeyByAccessKeyRequest{AccessKey: accessKeyID}
	if err := req.validate(); err != nil {
		return err
	}
	return c.do(ctx, OpRevokeAccessKeyByAccessKey, nil, nil, req, nil)
}

// RevokeAccessKeysByPrincipal revokes every key of a principal.
func (c *Client) RevokeAccessKeysByPrincipal(ctx context.Context, principal string) error {
	req := RevokeAccessKeysByPrincipalRequest{PrincipalName: principal}
	if err := req.validate(); err != nil {
		return err
	}
	return c.do(ctx, OpRevokeAccessKeysByPrincipal, nil, nil, req, nil)
}

// CreateAccessKeyFromSAML exchanges a SAML response for a key. It sends no
// Authorization header: the identity is the assertion. DurationSeconds 0 asks for
// the server default (DefaultExchangeLifetime).
func (c *Client) CreateAccessKeyFromSAML(ctx context.Context, req CreateAccessKeyFromSAMLRequest) (*AccessKey, error) {
	if err := req.validate(); err != nil {
		return nil, err
	}
	var key AccessKey
	if err := c.do(ctx, OpCreateAccessKeyFromSAML, nil, nil, req, &key); err != nil {
		return nil, err
	}
	return &key, nil
}

// CreateAccessKeyFromOIDC exchanges an OIDC ID token for a key, with no
// Authorization header. DurationSeconds 0 asks for the server default.
func (c *Client) CreateAccessKeyFromOIDC(ctx context.Context, req CreateAccessKeyFromOIDCRequest) (*AccessKey, error) {
	if err := req.validate(); err != nil {
		return nil, err
	}
	var key AccessKey
	if err := c.do(ctx, OpCreateAccessKeyFromOIDC, nil, nil, req, &key); err != nil {
		return nil, err
	}
	return &key, nil
}

// CreateAccessKeyFromContainerCreds exchanges a workload JWT, sent raw as the
// Authorization header, for a key of fixed lifetime ContainerCredsLifetime.
func (c *Client) CreateAccessKeyFromContainerCreds(ctx context.Context, orgID, jwt string) (*ContainerCredentials, error) {
	var creds ContainerCredentials
	if err := c.withJWT(jwt).do(ctx, OpCreateAccessKeyFromContainerCreds, map[string]string{"orgId": orgID}, nil, nil, &creds); err != nil {
		return nil, err
	}
	return &creds, nil
}

// CreateAccessKeyFromApiToken exchanges the bearer API token for a key of fixed
// lifetime ContainerCredsLifetime.
func (c *Client) CreateAccessKeyFromApiToken(ctx context.Context) (*ContainerCredentials, error) {
	var creds ContainerCredentials
	if err := c.do(ctx, OpCreateAccessKeyFromApiToken, nil, nil, nil, &creds); err != nil {
		return nil, err
	}
	return &creds, nil
}

// Warnings about values the server may add later: decoded and returned as sent,
// logged so that an operator notices. Names and values here are not secrets.

func (c *Client) warnUnknownStatus(op Operation, infos ...AccessKeyInfo) {
	for _, i := range infos {
		if _, known := ParseAccessKeyStatus(string(i.Status)); !known {
			c.logger.Warn("cwobject: unknown access key status from server",
				zap.String("op", op.Name), zap.String("accessKeyId", redact.Text(i.AccessKeyID, nil, 64)),
				zap.String("status", redact.Text(string(i.Status), nil, 64)))
		}
	}
}

func (c *Client) warnUnknownPolicyTerms(ps []Policy) {
	for _, p := range ps {
		if p.Version != PolicyVersion {
			c.logger.Warn("cwobject: unknown policy version from server",
				zap.String("policy", redact.Text(p.Name, nil, 128)), zap.String("version", redact.Text(p.Version, nil, 64)))
		}
		for _, s := range p.Statements {
			if s.Effect != EffectAllow && s.Effect != EffectDeny {
				c.logger.Warn("cwobject: unknown policy effect from server",
					zap.String("policy", redact.Text(p.Name, nil, 128)), zap.String("statement", redact.Text(s.Name, nil, 128)),
					zap.String("effect", redact.Text(s.Effect, nil, 64)))
			}
		}
	}
}
