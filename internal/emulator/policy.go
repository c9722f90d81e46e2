package emulator

import (
	"sort"
	"strings"
	"sync"

	"github.com/cwcreds/cwcreds/internal/cwobject"
)

// adminPolicyName is the policy seeded at start so that the admin token can do
// everything, as an org owner can.
const adminPolicyName = "emulator-admin"

// policyStore holds the org's access policies by name.
type policyStore struct {
	mu       sync.RWMutex
	policies map[string]cwobject.Policy
}

func newPolicyStore() *policyStore {
	return &policyStore{policies: map[string]cwobject.Policy{}}
}

func clonePolicy(p cwobject.Policy) cwobject.Policy {
	out := p
	out.Statements = make([]cwobject.PolicyStatement, len(p.Statements))
	for i, s := range p.Statements {
		out.Statements[i] = cwobject.PolicyStatement{
			Name:       s.Name,
			Effect:     s.Effect,
			Actions:    append([]string{}, s.Actions...),
			Resources:  append([]string{}, s.Resources...),
			Principals: append([]string{}, s.Principals...),
		}
	}
	return out
}

// ensure creates or replaces the policy by name.
func (s *policyStore) ensure(p cwobject.Policy) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.policies[p.Name] = clonePolicy(p)
}

func (s *policyStore) delete(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.policies[name]; !ok {
		return false
	}
	delete(s.policies, name)
	return true
}

func (s *policyStore) list() []cwobject.Policy {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]cwobject.Policy, 0, len(s.policies))
	for _, p := range s.policies {
		out = append(out, clonePolicy(p))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// allowed evaluates every policy with the contract's rules (cwobject.PolicyAllows).
func (s *policyStore) allowed(principal, action, resource string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	ps := make([]cwobject.Policy, 0, len(s.policies))
	for _, p := range s.policies {
		ps = append(ps, p)
	}
	return cwobject.PolicyAllows(ps, principal, action, resource)
}

// allowedAll reports whether every action is allowed on every resource.
func (s *policyStore) allowedAll(principal string, actions, resources []string) bool {
	for _, a := range actions {
		for _, r := range resources {
			if !s.allowed(principal, a, r) {
				return false
			}
		}
	}
	return true
}

// validatePolicy is the server-side check of an incoming policy.
func validatePolicy(p cwobject.Policy) *apiError {
	if strings.TrimSpace(p.Name) == "" {
		return invalidArgument("policy name is required")
	}
	if strings.ContainsAny(p.Name, "/?#") || len(p.Name) > 253 {
		return invalidArgument("policy name %q must be at most 253 characters without '/', '?' or '#'", p.Name)
	}
	if p.Version != cwobject.PolicyVersion {
		return invalidArgument("policy %q: version must be %q", p.Name, cwobject.PolicyVersion)
	}
	if len(p.Statements) == 0 {
		return invalidArgument("policy %q needs at least one statement", p.Name)
	}
	for i, st := range p.Statements {
		if st.Effect != cwobject.EffectAllow && st.Effect != cwobject.EffectDeny {
			return invalidArgument("policy %q statement %d: effect must be %q or %q", p.Name, i, cwobject.EffectAllow, cwobject.EffectDeny)
		}
		for _, f := range []struct {
			name string
			vals []string
		}{{"actions", st.Actions}, {"resources", st.Resources}, {"principals", st.Principals}} {
			if len(f.vals) == 0 {
				return invalidArgument("policy %q statement %d: %s must not be empty", p.Name, i, f.name)
			}
			for _, v := range f.vals {
				if strings.TrimSpace(v) == "" {
					return invalidArgument("policy %q statement %d: %s must not contain an empty value", p.Name, i, f.name)
				}
			}
		}
	}
	return nil
}
