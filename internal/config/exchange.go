package config

import (
	"strings"
	"time"
)

// SourceType names an identity source.
type SourceType string

// The identity sources a profile can name.
const (
	// SourceTokenFile re-reads a JWT from a file (a projected service-account
	// token, a CI OIDC token) on every exchange.
	SourceTokenFile SourceType = "token_file"
	// SourceAPIToken is a CoreWeave API token from an environment variable, a
	// file or the OS keyring.
	SourceAPIToken SourceType = "api_token"
	// SourceOIDCRefresh turns a refresh token stored by `cwcreds login` into a
	// fresh ID token.
	SourceOIDCRefresh SourceType = "oidc_refresh"
	// SourceSAMLFile reads a base64 SAML response from a file or stdin.
	SourceSAMLFile SourceType = "saml_file"
	// SourceTokenCommand runs a command that prints a JWT or an ExecCredential.
	SourceTokenCommand SourceType = "token_command"
	// SourceSAMLLogin is an SP-initiated SAML login by `cwcreds login` at the
	// IdP its metadata names; SAML has no refresh, so keys last the lifetime.
	SourceSAMLLogin SourceType = "saml_login"
)

var sourceTypes = []SourceType{SourceTokenFile, SourceAPIToken, SourceOIDCRefresh, SourceSAMLFile, SourceTokenCommand, SourceSAMLLogin}

// Exchange names the CWObject operation that turns an identity into keys.
type Exchange string

// The exchanges a profile can name.
const (
	// ExchangeOIDC is CreateAccessKeyFromOIDC (POST, chosen lifetime).
	ExchangeOIDC Exchange = "oidc"
	// ExchangeContainerCreds is CreateAccessKeyFromContainerCreds (GET, fixed 15 min).
	ExchangeContainerCreds Exchange = "container_creds"
	// ExchangeSAML is CreateAccessKeyFromSAML (POST, chosen lifetime).
	ExchangeSAML Exchange = "saml"
	// ExchangeAPIToken is CreateAccessKeyFromJWT with an API token (POST, chosen lifetime).
	ExchangeAPIToken Exchange = "api_token"
	// ExchangeAPITokenGet is CreateAccessKeyFromApiToken (GET, fixed 15 min).
	ExchangeAPITokenGet Exchange = "api_token_get"
)

var exchanges = []Exchange{ExchangeOIDC, ExchangeContainerCreds, ExchangeSAML, ExchangeAPIToken, ExchangeAPITokenGet}

// FixedLifetime reports whether the server decides the key lifetime (the GET
// exchanges, always keypolicy.FixedLifetime) so `lifetime` cannot be set.
func (e Exchange) FixedLifetime() bool {
	return e == ExchangeContainerCreds || e == ExchangeAPITokenGet
}

// NeedsOrgID reports whether the exchange sends the organisation id (the
// federated exchanges do; the API-token ones take it from the token).
func (e Exchange) NeedsOrgID() bool {
	return e == ExchangeOIDC || e == ExchangeContainerCreds || e == ExchangeSAML
}

// defaultExchange is the exchange a source uses when the profile names none: the
// POST exchanges, since 15-minute keys make every SDK refetch almost constantly.
func defaultExchange(s SourceType) Exchange {
	switch s {
	case SourceSAMLFile, SourceSAMLLogin:
		return ExchangeSAML
	case SourceAPIToken:
		return ExchangeAPIToken
	default:
		return ExchangeOIDC
	}
}

// compatibleExchanges lists the exchanges that accept what a source produces.
func compatibleExchanges(s SourceType) []Exchange {
	switch s {
	case SourceSAMLFile, SourceSAMLLogin:
		return []Exchange{ExchangeSAML}
	case SourceAPIToken:
		return []Exchange{ExchangeAPIToken, ExchangeAPITokenGet}
	default: // token_file, token_command, oidc_refresh all yield an OIDC JWT
		return []Exchange{ExchangeOIDC, ExchangeContainerCreds}
	}
}

// Lifetime bounds and the refresh rule's defaults are keypolicy's.
const (
	// DefaultCommandTimeout bounds a token_command run.
	DefaultCommandTimeout = 30 * time.Second
	// MaxCommandTimeout is the longest token_command timeout accepted.
	MaxCommandTimeout = 10 * time.Minute
)

func joinExchanges(es []Exchange) string {
	s := make([]string, len(es))
	for i, e := range es {
		s[i] = string(e)
	}
	return orList(s)
}

// orList renders "a", "a or b", "a, b or c".
func orList(s []string) string {
	switch len(s) {
	case 0:
		return ""
	case 1:
		return s[0]
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}

// aSource reads "a token_file source", "an api_token source".
func aSource(t SourceType) string {
	if strings.ContainsRune("aeiou", rune(t[0])) {
		return "an " + string(t) + " source"
	}
	return "a " + string(t) + " source"
}
