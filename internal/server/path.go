package server

import "strings"

// CredentialsPath is the path of the default profile's keys; /v1/credentials/<name>
// serves profile <name>. Profiles go in the path, never the query: the Rust SDK drops
// the query of AWS_CONTAINER_CREDENTIALS_FULL_URI.
const CredentialsPath = "/v1/credentials"

// maxProfileNameLen matches the config package's limit on profile names.
const maxProfileNameLen = 64

type pathKind int

const (
	pathOther   pathKind = iota // not under CredentialsPath: 404
	pathDefault                 // exactly CredentialsPath
	pathNamed                   // CredentialsPath/<valid name>
	pathBadName                 // under CredentialsPath but no valid name: 404
)

// parseCredentialsPath maps a request's decoded path and raw path (url.URL Path and
// RawPath) to the profile asked for. Any escape under the prefix is refused: RawPath
// is set whenever the client escaped something it need not have, so "%2F" or "%2E%2E"
// can never smuggle a "/" or ".." past the name check. A trailing slash is refused
// too, rather than guessed at.
func parseCredentialsPath(path, rawPath string) (pathKind, string) {
	rest, ok := strings.CutPrefix(path, CredentialsPath)
	if !ok {
		return pathOther, ""
	}
	if rest != "" && rest[0] != '/' { // e.g. /v1/credentialsX
		return pathOther, ""
	}
	if rawPath != "" {
		return pathBadName, ""
	}
	if rest == "" {
		return pathDefault, ""
	}
	name := rest[1:]
	if !validProfileName(name) {
		return pathBadName, ""
	}
	return pathNamed, name
}

// validProfileName is the config package's rule: 1–64 of [A-Za-z0-9_.-], starting
// with a letter or digit (so never "." or ".."), and no "..".
func validProfileName(name string) bool {
	if name == "" || len(name) > maxProfileNameLen || !isAlnum(name[0]) {
		return false
	}
	for i := 1; i < len(name); i++ {
		if c := name[i]; !isAlnum(c) && c != '_' && c != '.' && c != '-' {
			return false
		}
	}
	return !strings.Contains(name, "..")
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}
