package emulator

import (
	"math"
	"time"

	"github.com/cwcreds/cwcreds/internal/cwobject"
)

// empty is google.protobuf.Empty.
type empty struct{}

type listAccessKeyInfoResponse struct {
	Info []cwobject.AccessKeyInfo `json:"info"`
}

type getAccessKeyInfoResponse struct {
	Info cwobject.AccessKeyInfo `json:"info"`
}

func accessKeyResponse(rec keyRecord) cwobject.AccessKey {
	return cwobject.AccessKey{
		AccessKeyID:   rec.id,
		SecretKey:     rec.secret,
		PrincipalName: rec.principal,
		Expiry:        rec.expiryForWire(),
		Attributes:    copyMap(rec.attributes),
	}
}

func containerCredentials(rec keyRecord) cwobject.ContainerCredentials {
	return cwobject.ContainerCredentials{
		AccessKeyID:     rec.id,
		SecretAccessKey: rec.secret,
		Token:           "",
		Expiration:      rec.expiryForWire(),
	}
}

func page[T any](items []T, offset, limit int) []T {
	if offset >= len(items) {
		return []T{}
	}
	end := min(offset+limit, len(items))
	return items[offset:end]
}

func (e *Emulator) authCanI(c *call) (any, *apiError) {
	body, aerr := c.body()
	if aerr != nil {
		return nil, aerr
	}
	req, aerr := decodeAuthCanI(body)
	if aerr != nil {
		return nil, aerr
	}
	if len(req.Actions) == 0 || len(req.Resources) == 0 {
		return nil, invalidArgument("actions and resources are both required")
	}
	return cwobject.AuthCanIResponse{Verdict: e.policies.allowedAll(c.principal, req.Actions, req.Resources)}, nil
}

// maxJWTKeySeconds keeps expiry arithmetic far from overflow; the real limit for
// CreateAccessKeyFromJWT is not documented.
const maxJWTKeySeconds = math.MaxInt64 / int64(time.Second) / 2

func (e *Emulator) createAccessKeyFromJWT(c *call) (any, *apiError) {
	body, aerr := c.body()
	if aerr != nil {
		return nil, aerr
	}
	req, aerr := decodeCreateAccessKeyFromJWT(body)
	if aerr != nil {
		return nil, aerr
	}
	if req.DurationSeconds < 0 || req.DurationSeconds > maxJWTKeySeconds {
		return nil, invalidArgument("durationSeconds must be 0 (a permanent key) or a positive number of seconds")
	}
	rec := e.keys.mint(c.principal, time.Duration(req.DurationSeconds)*time.Second, req.Attributes)
	return accessKeyResponse(rec), nil
}

func (e *Emulator) createAccessKeyFromApiToken(c *call) (any, *apiError) {
	rec := e.keys.mint(c.principal, cwobject.ContainerCredsLifetime, nil)
	return containerCredentials(rec), nil
}

func (e *Emulator) listAccessKeyInfo(c *call) (any, *apiError) {
	offset, limit, status, aerr := decodeListQuery(c.r.URL.Query(), true)
	if aerr != nil {
		return nil, aerr
	}
	recs := page(e.keys.list(status), offset, limit)
	out := listAccessKeyInfoResponse{Info: make([]cwobject.AccessKeyInfo, 0, len(recs))}
	for _, rec := range recs {
		out.Info = append(out.Info, rec.info(e.orgID))
	}
	return out, nil
}

func (e *Emulator) getAccessKeyInfo(c *call) (any, *apiError) {
	rec, ok := e.keys.get(c.r.PathValue("accessKeyId"))
	if !ok {
		// The value is not echoed: a caller may have pasted a secret by mistake.
		return nil, errorf(cwobject.CodeNotFound, "access key not found: send the key id (CW…)")
	}
	return getAccessKeyInfoResponse{Info: rec.info(e.orgID)}, nil
}

func (e *Emulator) updateAccessKeyStatus(c *call) (any, *apiError) {
	body, aerr := c.body()
	if aerr != nil {
		return nil, aerr
	}
	req, aerr := decodeUpdateAccessKeyStatus(body)
	if aerr != nil {
		return nil, aerr
	}
	if req.PrincipalName == "" {
		return nil, invalidArgument("principalName is required")
	}
	if req.Status == cwobject.AccessKeyStatusUnspecified {
		return nil, invalidArgument("status must be %s or %s", cwobject.AccessKeyStatusActive, cwobject.AccessKeyStatusSuspended)
	}
	e.keys.setStatus(req.PrincipalName, req.Status)
	return empty{}, nil
}

func (e *Emulator) revokeAccessKeyByAccessKey(c *call) (any, *apiError) {
	body, aerr := c.body()
	if aerr != nil {
		return nil, aerr
	}
	req, aerr := decodeRevokeAccessKeyByAccessKey(body)
	if aerr != nil {
		return nil, aerr
	}
	if req.AccessKey == "" {
		return nil, invalidArgument("accessKey (the key id, CW…) is required")
	}
	if !e.keys.revoke(req.AccessKey) {
		return nil, errorf(cwobject.CodeNotFound, "access key not found: send the key id (CW…), not the secret")
	}
	return empty{}, nil
}

func (e *Emulator) revokeAccessKeysByPrincipal(c *call) (any, *apiError) {
	body, aerr := c.body()
	if aerr != nil {
		return nil, aerr
	}
	req, aerr := decodeRevokeAccessKeysByPrincipal(body)
	if aerr != nil {
		return nil, aerr
	}
	if req.PrincipalName == "" {
		return nil, invalidArgument("principalName is required")
	}
	e.keys.revokePrincipal(req.PrincipalName)
	return empty{}, nil
}
