package server

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync/atomic"

	"github.com/cwcreds/cwcreds/internal/cache"
	"github.com/cwcreds/cwcreds/internal/creds"
)

// Provider hands out the current keys of one profile; *cache.Refresher is one. Get
// must return within ctx: the server gives it ColdWait to answer before replying
// 503. A *cache.NoCredentialsError (or any error with Unrecoverable() bool = true)
// becomes 503 with its message; other errors become 500. Errors must not hold
// secrets: their text is sent to the caller.
type Provider interface {
	Get(ctx context.Context) (creds.Credentials, error)
}

// StatusProvider is implemented by providers that can report what they hold without
// fetching (*cache.Refresher does). /readyz and the expiry gauge use it when present.
type StatusProvider interface {
	Status() cache.Status
}

// profile is one served profile. It lives as long as the profile set it belongs to.
type profile struct {
	name   string
	p      Provider
	status StatusProvider // nil when p cannot report
	pm     *profileMetrics
	body   atomic.Pointer[encodedCreds]
}

// encodedCreds is a response body for one set of keys, reused while the provider
// keeps returning those keys.
type encodedCreds struct {
	c             creds.Credentials
	body          []byte
	contentLength []string
}

// encoded returns the body for c, encoding it only when the keys changed.
func (p *profile) encoded(c creds.Credentials) *encodedCreds {
	if e := p.body.Load(); e != nil && e.c.AccessKeyID == c.AccessKeyID && e.c.Expiration.Equal(c.Expiration) &&
		e.c.SecretAccessKey == c.SecretAccessKey && e.c.SessionToken == c.SessionToken {
		return e
	}
	e := &encodedCreds{c: c, body: c.ContainerJSON()}
	e.contentLength = []string{strconv.Itoa(len(e.body))}
	p.body.Store(e)
	return e
}

// profileSet is an immutable picture of the served profiles, swapped as a whole.
type profileSet struct {
	def    *profile // nil: /v1/credentials answers 404
	byName map[string]*profile
	sorted []*profile
}

// SetProfiles replaces the served profiles at once: requests in flight finish with
// the old set, later ones see the new one, and nothing is dropped in between.
// defaultName names the profile /v1/credentials serves ("" for none) and must be a
// key of providers. Names follow the config rule (1–64 of [A-Za-z0-9_.-], starting
// with a letter or digit, no ".."). Metrics of profiles no longer present are
// removed. Call it before starting the providers' refreshers, so their first events
// are counted under their own profile.
func (s *Server) SetProfiles(defaultName string, providers map[string]Provider) error {
	if s.agent != nil {
		return fmt.Errorf("a node agent serves no profiles: each caller's token is its identity")
	}
	set := &profileSet{byName: make(map[string]*profile, len(providers))}
	for name, prov := range providers {
		if !validProfileName(name) {
			return fmt.Errorf("profile name %q cannot be served at %s/<profile>: use up to 64 letters, digits, '_', '-' or '.', starting with a letter or digit", name, CredentialsPath)
		}
		if prov == nil {
			return fmt.Errorf("profile %q has no provider", name)
		}
		p := &profile{name: name, p: prov}
		p.status, _ = prov.(StatusProvider)
		set.byName[name] = p
		set.sorted = append(set.sorted, p)
	}
	if defaultName != "" {
		if set.def = set.byName[defaultName]; set.def == nil {
			return fmt.Errorf("default profile %q is not among the served profiles: add it or choose another default", defaultName)
		}
	}
	slices.SortFunc(set.sorted, func(a, b *profile) int {
		switch {
		case a.name < b.name:
			return -1
		case a.name > b.name:
			return 1
		}
		return 0
	})
	s.mu.Lock()
	defer s.mu.Unlock()
	s.metrics.setProfiles(set.sorted)
	s.set.Store(set)
	return nil
}

// Profiles returns the names of the served profiles, sorted.
func (s *Server) Profiles() []string {
	set := s.set.Load()
	names := make([]string, len(set.sorted))
	for i, p := range set.sorted {
		names[i] = p.name
	}
	return names
}

// DefaultProfile returns the profile /v1/credentials serves, or "" for none.
func (s *Server) DefaultProfile() string {
	if def := s.set.Load().def; def != nil {
		return def.name
	}
	return ""
}
