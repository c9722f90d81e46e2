// Package redact makes untrusted text — an upstream body, a server message, an
// error from an HTTP client, a command's stderr — fit for an error message or a
// log line. It is the one redactor of cwcreds: internal/cwobject and
// internal/exchange both use it, so a secret hidden in one place is hidden in all.
//
// It imports only the standard library, so any package can use it.
package redact

import (
	"regexp"
	"strings"
	"unicode/utf8"
)

// Placeholder replaces every secret Text hides.
const Placeholder = "[redacted]"

// MinSecretLen is the shortest known secret Text replaces: it keeps redaction
// from mangling text around trivially short strings that happen to equal one.
// Credential shapes are hidden whatever their length.
const MinSecretLen = 6

// credentialShapes are credentials hidden even when they are not among the known
// secrets: CoreWeave API tokens (CW-SECRET-…), bearer values, JWTs, and CoreWeave
// object-storage secret keys (cwo followed by 40 lowercase letters and digits).
// Compiled once and never modified.
var credentialShapes = regexp.MustCompile(
	`CW-SECRET-[A-Za-z0-9_\-.]+` +
		`|(?i:bearer)\s+[A-Za-z0-9_\-.~+/=]+` +
		`|eyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+(?:\.[A-Za-z0-9_\-]*)?` +
		`|cwo[a-z0-9]{40}`)

// Text makes untrusted text safe for an error or a log line:
//
//   - invalid UTF-8 becomes '?';
//   - each of secrets (at least MinSecretLen bytes long, as given or with its
//     surrounding whitespace trimmed) becomes Placeholder, whether it appears as
//     given or line-wrapped (a base64 SAML response, say): secrets are replaced
//     before and after control characters are flattened;
//   - control and line-separator characters become spaces, runs of whitespace one
//     space, and the ends are trimmed, so the result is one line;
//   - anything shaped like a credential (see credentialShapes) becomes Placeholder;
//   - the result is cut to at most limit bytes (plus "…"), on a rune boundary and
//     after redaction, so a cut never reveals part of a secret redaction would
//     have hidden.
func Text(s string, secrets []string, limit int) string {
	s = strings.ToValidUTF8(s, "?")
	s = replaceSecrets(s, secrets, func(x string) string { return x })
	s = replaceSecrets(s, secrets, strings.TrimSpace)
	s = strings.Map(oneLine, s)
	s = replaceSecrets(s, secrets, func(x string) string { return strings.Map(oneLine, x) })
	s = collapse(s)
	s = replaceSecrets(s, secrets, func(x string) string { return collapse(strings.Map(oneLine, x)) })
	s = credentialShapes.ReplaceAllString(s, Placeholder)
	if limit < 0 {
		limit = 0
	}
	if len(s) > limit {
		cut := limit
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

// replaceSecrets replaces form(secret) for each secret long enough to hide.
func replaceSecrets(s string, secrets []string, form func(string) string) string {
	for _, sec := range secrets {
		if sec = form(sec); len(sec) >= MinSecretLen {
			s = strings.ReplaceAll(s, sec, Placeholder)
		}
	}
	return s
}

// collapse makes every run of whitespace one space and trims the ends.
func collapse(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// oneLine maps control and line-separator characters to a space.
func oneLine(r rune) rune {
	if r < 0x20 || r == 0x7f || r == '\u2028' || r == '\u2029' || (r >= 0x80 && r < 0xa0) {
		return ' '
	}
	return r
}
