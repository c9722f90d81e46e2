package config

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"
)

// Config is the effective configuration: every layer applied, every value
// defaulted and checked.
type Config struct {
	// Path is the config file read (absolute), or "" when the `default` profile
	// was built from the environment because there is no file.
	Path string

	// Globals, after precedence. Profiles copy them unless they set their own.
	APIEndpoint string
	OrgID       string
	S3Endpoint  string
	Region      string // "" when nothing sets one
	CABundle    string // absolute path, or ""
	CacheDir    string // absolute path; $XDG_CACHE_HOME/cwcreds by default
	// DefaultProfile is the profile used when none is named: --profile,
	// CWCREDS_PROFILE, default_profile, or "default".
	DefaultProfile string

	profiles map[string]*Profile
	order    []string          // profile names in file order
	origins  map[string]Origin // by global key, e.g. "org_id"

	dependsOnWorkDir bool
}

// DependsOnWorkDir reports whether loading resolved a path against the working
// folder (a relative path from a flag or the environment, or a relative home
// folder): loaded from another folder, the result could differ.
func (c *Config) DependsOnWorkDir() bool { return c.dependsOnWorkDir }

// Profile is one named identity → keys recipe, fully resolved: everything an
// exchange and a cache need, with no further defaulting to do.
type Profile struct {
	Name string

	APIEndpoint string
	OrgID       string // "" only when the exchange does not need it
	S3Endpoint  string
	Region      string
	CABundle    string // absolute path or ""; added to the system roots
	CacheDir    string // absolute path of the cache folder shared by all profiles

	Source   Source
	Exchange Exchange

	// Lifetime is the key lifetime asked for, or keypolicy.FixedLifetime
	// for the GET exchanges.
	Lifetime time.Duration
	// RefreshMargin: refresh once less than this remains.
	RefreshMargin time.Duration
	// PropagationDelay: keep serving the old keys until the new ones are this old.
	PropagationDelay time.Duration
	// MinTTL: never serve keys with less than this left.
	MinTTL time.Duration

	origins map[string]Origin // by key relative to the profile, e.g. "source.path"
}

// Source is a profile's identity source: Type says which one of the pointers is set.
type Source struct {
	Type         SourceType
	TokenFile    *TokenFileSource
	APIToken     *APITokenSource
	OIDCRefresh  *OIDCRefreshSource
	SAMLFile     *SAMLFileSource
	TokenCommand *TokenCommandSource
	SAMLLogin    *SAMLLoginSource
}

// TokenFileSource reads a JWT from Path on every exchange.
type TokenFileSource struct {
	Path string // absolute
}

// APITokenSource says where a CoreWeave API token is found: exactly one of Env,
// File and Keyring is set (Env is "CW_API_TOKEN" when the config names none).
type APITokenSource struct {
	Env     string
	File    string // absolute
	Keyring *KeyringRef
}

// KeyringRef names an OS keyring entry.
type KeyringRef struct {
	Service string // default "cwcreds"
	User    string // default: the profile name
}

// OIDCRefreshSource turns the refresh token stored for the profile (by `cwcreds
// login`) into an ID token. The refresh token itself is never in the config.
type OIDCRefreshSource struct {
	Issuer           string
	ClientID         string
	ClientSecretFile string   // absolute, or "" for a public client
	Scopes           []string // default openid, offline_access
}

// SAMLFileSource reads a base64 SAML response from Path, or stdin when Path is "-".
type SAMLFileSource struct {
	Path     string
	ConfigID string
}

// SAMLLoginSource is an SP-initiated login at the IdP described by its metadata:
// a URL (IDPMetadataURL) or a file (IDPMetadataFile), exactly one.
type SAMLLoginSource struct {
	IDPMetadataURL  string
	IDPMetadataFile string // absolute
	ConfigID        string
	Role            string // the CoreWeave role to pick when the assertion has several; "" asks
	ACSPort         int    // fixed port of the loopback ACS the IdP posts to; 0 picks one
}

// SAMLConfigID is the CoreWeave SAML config id of a saml_file or saml_login source.
func (s Source) SAMLConfigID() string {
	switch {
	case s.SAMLFile != nil:
		return s.SAMLFile.ConfigID
	case s.SAMLLogin != nil:
		return s.SAMLLogin.ConfigID
	}
	return ""
}

// CommandFormat is what a token_command prints.
type CommandFormat string

// The formats a token_command may print.
const (
	// FormatJWT: stdout is the JWT, surrounding whitespace ignored.
	FormatJWT CommandFormat = "jwt"
	// FormatExecCredential: stdout is a Kubernetes ExecCredential; the JWT is status.token.
	FormatExecCredential CommandFormat = "exec_credential"
)

// TokenCommandSource runs Command (argv, no shell) and reads its stdout.
type TokenCommandSource struct {
	Command []string
	Timeout time.Duration
	Format  CommandFormat
}

// Profile returns the named profile; "" means the default profile. Profiles are
// shared by every caller: treat them as read-only.
func (c *Config) Profile(name string) (*Profile, error) {
	if name == "" {
		name = c.DefaultProfile
	}
	if p, ok := c.profiles[name]; ok {
		return p, nil
	}
	known := c.ProfileNames()
	sort.Strings(known)
	// show: the name may come from a request path, so it is capped and never
	// echoed if it looks like a token.
	if len(known) == 0 {
		return nil, fmt.Errorf("unknown profile %s: no profiles are configured", show(name))
	}
	return nil, fmt.Errorf("unknown profile %s: known profiles are %s", show(name), strings.Join(known, ", "))
}

// ProfileNames lists the profiles in the order the file defines them.
func (c *Config) ProfileNames() []string {
	return append([]string(nil), c.order...)
}

// Origin says where the effective value of a global setting came from; key is
// its YAML name, e.g. "org_id".
func (c *Config) Origin(key string) Origin { return c.origins[key] }

// Equal reports whether p and q describe the same identity, exchange and
// timings, ignoring where the values came from (so a reload that only moved
// lines around changes nothing).
func (p *Profile) Equal(q *Profile) bool {
	if p == nil || q == nil {
		return p == q
	}
	a, b := *p, *q
	a.origins, b.origins = nil, nil
	return reflect.DeepEqual(a, b)
}

// Origin says where the effective value of one of the profile's settings came
// from; key is its YAML path within the profile, e.g. "lifetime" or "source.path".
func (p *Profile) Origin(key string) Origin { return p.origins[key] }

// Identity is a fingerprint of every setting that decides which identity, and
// which keys, the profile gets: the API endpoint and CA bundle it trusts, the org,
// the source with all its settings, the exchange and the lifetime asked for. Keys
// cached under one Identity are never served under another. It holds no secret:
// secrets never appear in a Profile.
func (p *Profile) Identity() string {
	// Strings, slices, pointers to structs of them and durations: Marshal cannot fail.
	data, _ := json.Marshal(struct {
		APIEndpoint, OrgID, CABundle string
		Source                       Source
		Exchange                     Exchange
		Lifetime                     time.Duration
	}{p.APIEndpoint, p.OrgID, p.CABundle, p.Source, p.Exchange, p.Lifetime})
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:16])
}
