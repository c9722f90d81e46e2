package creds

import "strings"

// EnvVar is one environment variable handed to a child process or printed by
// `cwcreds env`.
type EnvVar struct {
	Name  string
	Value string
}

// String hides the values of secret variables so a stray %v cannot leak them.
func (e EnvVar) String() string {
	if isSecretEnvName(e.Name) {
		return e.Name + "=<redacted>"
	}
	return e.Name + "=" + e.Value
}

// GoString keeps %#v from printing a secret.
func (e EnvVar) GoString() string { return e.String() }

func isSecretEnvName(name string) bool {
	n := strings.ToUpper(name)
	return strings.Contains(n, "SECRET") || strings.Contains(n, "TOKEN") || strings.Contains(n, "PASSWORD")
}

// Names of the variables the AWS SDKs read for static credentials.
const (
	EnvAccessKeyID          = "AWS_ACCESS_KEY_ID"
	EnvSecretAccessKey      = "AWS_SECRET_ACCESS_KEY"
	EnvSessionToken         = "AWS_SESSION_TOKEN"
	EnvCredentialExpiration = "AWS_CREDENTIAL_EXPIRATION"
)

// EnvVars lists the variables that hand c to an AWS SDK, in this order:
// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN (only when
// non-empty), AWS_CREDENTIAL_EXPIRATION (RFC 3339 with Z; only when c has an
// expiry), then extra as given (e.g. AWS_ENDPOINT_URL_S3, AWS_REGION,
// AWS_DEFAULT_REGION). It mirrors `aws configure export-credentials`.
func EnvVars(c Credentials, extra ...EnvVar) []EnvVar {
	vars := make([]EnvVar, 0, 4+len(extra))
	vars = append(vars,
		EnvVar{EnvAccessKeyID, c.AccessKeyID},
		EnvVar{EnvSecretAccessKey, c.SecretAccessKey})
	if c.SessionToken != "" {
		vars = append(vars, EnvVar{EnvSessionToken, c.SessionToken})
	}
	if !c.Expiration.IsZero() {
		vars = append(vars, EnvVar{EnvCredentialExpiration, FormatExpiration(c.Expiration)})
	}
	return append(vars, extra...)
}
