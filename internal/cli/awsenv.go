package cli

import (
	"sort"
	"strings"

	"github.com/cwcreds/cwcreds/internal/creds"
)

// Variables the AWS SDKs read, beyond the static-key ones in package creds.
const (
	envEndpointS3      = "AWS_ENDPOINT_URL_S3"
	envRegion          = "AWS_REGION"
	envDefaultRegion   = "AWS_DEFAULT_REGION"
	envContainerFull   = "AWS_CONTAINER_CREDENTIALS_FULL_URI"
	envContainerToken  = "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"
	envConfigFile      = "AWS_CONFIG_FILE"
	defaultAWSConfig   = ".aws/config"
	envContainerRel    = "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"
	envContainerTokVal = "AWS_CONTAINER_AUTHORIZATION_TOKEN"
)

// credentialEnv lists the variables that give an AWS SDK credentials, or pick
// where it gets them, ahead of or instead of the ones exec hands the command. A
// command run by exec must not see them: AWS_PROFILE would make some tools ignore
// our keys, AWS_CONTAINER_CREDENTIALS_RELATIVE_URI wins over our FULL_URI, and
// stale keys would be mixed with ours.
var credentialEnv = []string{
	creds.EnvAccessKeyID, creds.EnvSecretAccessKey, creds.EnvSessionToken, "AWS_SECURITY_TOKEN",
	creds.EnvCredentialExpiration, "AWS_PROFILE", "AWS_DEFAULT_PROFILE",
	envContainerFull, envContainerRel, envContainerToken, envContainerTokVal,
	"AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_ROLE_SESSION_NAME",
}

// childEnv builds a command's environment: base minus every credentialEnv
// variable and every variable in set, then set. found lists the credentialEnv
// variables base held (sorted, without values), for the warning.
func childEnv(base []string, set []creds.EnvVar) (env []string, found []string) {
	drop := make(map[string]bool, len(credentialEnv)+len(set))
	for _, n := range credentialEnv {
		drop[n] = true
	}
	replace := make(map[string]bool, len(set))
	for _, v := range set {
		replace[v.Name] = true
	}
	seen := map[string]bool{}
	for _, kv := range base {
		name, _, ok := strings.Cut(kv, "=")
		if !ok || name == "" {
			continue
		}
		if drop[name] {
			if !seen[name] {
				seen[name] = true
				found = append(found, name)
			}
			continue
		}
		if replace[name] {
			continue
		}
		env = append(env, kv)
	}
	for _, v := range set {
		env = append(env, v.Name+"="+v.Value)
	}
	sort.Strings(found)
	return env, found
}
