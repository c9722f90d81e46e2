package emulator

import (
	"github.com/cwcreds/cwcreds/internal/cwobject"
)

type listAccessPoliciesResponse struct {
	Policies []cwobject.Policy `json:"policies"`
}

func (e *Emulator) listAccessPolicies(c *call) (any, *apiError) {
	return listAccessPoliciesResponse{Policies: e.policies.list()}, nil
}

func (e *Emulator) ensureAccessPolicy(c *call) (any, *apiError) {
	body, aerr := c.body()
	if aerr != nil {
		return nil, aerr
	}
	req, aerr := decodeEnsureAccessPolicy(body)
	if aerr != nil {
		return nil, aerr
	}
	if aerr := validatePolicy(req.Policy); aerr != nil {
		return nil, aerr
	}
	e.policies.ensure(req.Policy)
	return empty{}, nil
}

func (e *Emulator) deleteAccessPolicy(c *call) (any, *apiError) {
	name := c.r.PathValue("name")
	if !e.policies.delete(name) {
		return nil, errorf(cwobject.CodeNotFound, "access policy %q not found", name)
	}
	return empty{}, nil
}
