package config

import (
	"fmt"
	"net/netip"
	"net/url"
	"path/filepath"
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

// The shapes of names and ids are checked byte by byte rather than with regular
// expressions: compiling those at start-up was a visible part of every
// credential_process run. validate_test.go holds the equivalent regexps and
// checks the two agree.

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// shaped reports whether s is non-empty, its first byte accepted by first and
// every other byte by rest.
func shaped(s string, first, rest func(byte) bool) bool {
	if s == "" || !first(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !rest(s[i]) {
			return false
		}
	}
	return true
}

// isID is what org ids and SAML config ids may be: they are opaque, but end up
// in URL paths and request bodies, so no spaces, slashes or quotes.
// ^[A-Za-z0-9][A-Za-z0-9._:-]*$
func isID(s string) bool {
	return shaped(s, isAlnum, func(c byte) bool { return isAlnum(c) || c == '.' || c == '_' || c == ':' || c == '-' })
}

// isRegion: ^[A-Za-z0-9][A-Za-z0-9-]*$
func isRegion(s string) bool {
	return shaped(s, isAlnum, func(c byte) bool { return isAlnum(c) || c == '-' })
}

// isProfileName keeps profile names safe as file names and URL path segments
// (/v1/credentials/<profile>): ^[A-Za-z0-9][A-Za-z0-9_.-]*$
func isProfileName(s string) bool {
	return shaped(s, isAlnum, func(c byte) bool { return isAlnum(c) || c == '_' || c == '.' || c == '-' })
}

// isEnvName: ^[A-Za-z_][A-Za-z0-9_]*$
func isEnvName(s string) bool {
	return shaped(s, func(c byte) bool { return isAlnum(c) && !('0' <= c && c <= '9') || c == '_' },
		func(c byte) bool { return isAlnum(c) || c == '_' })
}

// isScope is an RFC 6749 scope-token: ^[\x21\x23-\x5B\x5D-\x7E]+$
func isScope(s string) bool {
	scopeChar := func(c byte) bool { return c == 0x21 || 0x23 <= c && c <= 0x5B || 0x5D <= c && c <= 0x7E }
	return shaped(s, scopeChar, scopeChar)
}

func checkID(field, v string) (string, string, string) {
	if len(v) > 128 || !isID(v) {
		return "", fmt.Sprintf("%s %s is not a valid id", field, show(v)), "use the id shown in the CoreWeave console (letters, digits, '.', '_', ':', '-')"
	}
	return v, "", ""
}

func checkRegion(field, v string) (string, string, string) {
	if len(v) > 64 || !isRegion(v) {
		return "", fmt.Sprintf("%s %s is not a region name", field, show(v)), "use an availability zone such as US-EAST-04A"
	}
	return v, "", ""
}

func checkProfileName(field, v string) (string, string, string) {
	if len(v) > 64 || !isProfileName(v) || strings.Contains(v, "..") || looksSecret(v) {
		return "", fmt.Sprintf("%s %s is not a valid profile name", field, show(v)), "use up to 64 letters, digits, '_', '-' or '.', starting with a letter or digit"
	}
	return v, "", ""
}

func checkEnvName(field, v string) (string, string, string) {
	if len(v) > 128 || !isEnvName(v) {
		// Never echo: the usual mistake is pasting the token itself here.
		return "", field + " is not an environment variable name", "give the variable's name, such as CW_API_TOKEN, not its value"
	}
	return v, "", ""
}

func checkScope(field, v string) (string, string, string) {
	if !isScope(v) {
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
