package config

import (
	"fmt"
	"net/netip"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
)

// A check inspects one string setting and returns it normalised, or a problem
// (which must not repeat a secret) and a fix.
type check func(field, v string) (norm, problem, fix string)

// checkURL accepts an absolute https URL, or http to a loopback host (the
// emulator, a local proxy): tokens are sent to it. Credentials, queries and
// fragments are refused: a URL is printed by `config show` and in logs.
func checkURL(field, v string) (string, string, string) { return checkURLScheme(field, v, false) }

// checkS3URL also accepts plain http anywhere: CoreWeave's in-cluster LOTA
// cache is http://cwlota.com, and SigV4 never sends the secret key.
func checkS3URL(field, v string) (string, string, string) { return checkURLScheme(field, v, true) }

func checkURLScheme(field, v string, anyHTTP bool) (string, string, string) {
	u, err := url.Parse(v)
	if err != nil || u.Scheme == "" || u.Host == "" || u.Opaque != "" {
		if strings.Contains(v, "@") {
			return "", field + " is not a valid URL", "write it as https://host[:port]"
		}
		return "", fmt.Sprintf("%s %s is not a URL", field, show(v)), "write it as https://host[:port]"
	}
	if u.User != nil {
		return "", field + " holds a user name or password", "remove the user:password@ part; credentials never go in URLs"
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return "", field + " has a query or fragment", "remove the part after ? or #"
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
	case "http":
		if !anyHTTP && !isLoopback(u.Hostname()) {
			return "", fmt.Sprintf("%s %s uses plain http to a host that is not loopback", field, show(v)), "use https (http is only accepted for localhost, 127.0.0.1 or ::1)"
		}
	default:
		return "", fmt.Sprintf("%s %s has scheme %s", field, show(v), show(u.Scheme)), "use an https:// URL"
	}
	return strings.TrimRight(v, "/"), "", ""
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Zone() == "" && ip.Unmap().IsLoopback()
}

// idPattern is what org ids and SAML config ids may contain: they are opaque, but
// end up in URL paths and request bodies, so no spaces, slashes or quotes.
// The length limits of these patterns are checked apart from them: a bounded
// repetition such as {0,127} compiles into 127 copies of its class, which made
// compiling them at start-up the largest cost of every cwcreds invocation
// (credential-process runs once per AWS CLI call).
var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]*$`)

func checkID(field, v string) (string, string, string) {
	if len(v) > 128 || !idPattern.MatchString(v) {
		return "", fmt.Sprintf("%s %s is not a valid id", field, show(v)), "use the id shown in the CoreWeave console (letters, digits, '.', '_', ':', '-')"
	}
	return v, "", ""
}

var regionPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]*$`)

func checkRegion(field, v string) (string, string, string) {
	if len(v) > 64 || !regionPattern.MatchString(v) {
		return "", fmt.Sprintf("%s %s is not a region name", field, show(v)), "use an availability zone such as US-EAST-04A"
	}
	return v, "", ""
}

// profileNamePattern keeps profile names safe as file names and URL path
// segments (/v1/credentials/<profile>).
var profileNamePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

func checkProfileName(field, v string) (string, string, string) {
	if len(v) > 64 || !profileNamePattern.MatchString(v) || strings.Contains(v, "..") || looksSecret(v) {
		return "", fmt.Sprintf("%s %s is not a valid profile name", field, show(v)), "use up to 64 letters, digits, '_', '-' or '.', starting with a letter or digit"
	}
	return v, "", ""
}

var envNamePattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func checkEnvName(field, v string) (string, string, string) {
	if len(v) > 128 || !envNamePattern.MatchString(v) {
		// Never echo: the usual mistake is pasting the token itself here.
		return "", field + " is not an environment variable name", "give the variable's name, such as CW_API_TOKEN, not its value"
	}
	return v, "", ""
}

var scopePattern = regexp.MustCompile(`^[\x21\x23-\x5B\x5D-\x7E]+$`) // RFC 6749 scope-token

func checkScope(field, v string) (string, string, string) {
	if !scopePattern.MatchString(v) {
		return "", fmt.Sprintf("%s %s is not a valid OAuth scope", field, show(v)), "write one scope per list item, without spaces or quotes"
	}
	return v, "", ""
}

// pathResolver makes paths absolute: `~` is the home folder; a relative path is
// relative to base (the config file's folder, or the working directory for
// paths from flags and the environment).
type pathResolver struct {
	home string
}

func (r pathResolver) abs(field, v, base string) (string, string, string) {
	if strings.ContainsRune(v, 0) {
		return "", field + " holds a NUL byte", "write a plain path"
	}
	switch {
	case v == "~" || strings.HasPrefix(v, "~/") || strings.HasPrefix(v, `~\`):
		if r.home == "" {
			return "", fmt.Sprintf("%s %s starts with ~ but the home folder is unknown", field, show(v)), "set HOME or write the full path"
		}
		v = filepath.Join(r.home, v[1:])
	case strings.HasPrefix(v, "~"):
		return "", fmt.Sprintf("%s %s uses ~user", field, show(v)), "write the full path"
	case !filepath.IsAbs(v):
		if base == "" {
			return "", fmt.Sprintf("%s %s is relative and the working folder is unknown", field, show(v)), "write the full path"
		}
		v = filepath.Join(base, v)
	}
	return filepath.Clean(v), "", ""
}
