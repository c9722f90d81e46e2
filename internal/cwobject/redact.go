package cwobject

import (
	"regexp"
	"strings"
	"unicode/utf8"
)

// maxMessageBytes caps a server message kept in a StatusError.
const maxMessageBytes = 512

// minSecretLen keeps redaction from mangling messages around trivially short
// strings that happen to equal a credential.
const minSecretLen = 6

const redacted = "[redacted]"

// credentialShapes are credentials worth hiding even when this client did not send
// them: CoreWeave API tokens, bearer values, JWTs, and secret keys. Compiled once and
// never modified.
var credentialShapes = regexp.MustCompile(
	`CW-SECRET-[A-Za-z0-9_\-.]+` +
		`|(?i:bearer)\s+[A-Za-z0-9_\-.~+/=]+` +
		`|eyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+(?:\.[A-Za-z0-9_\-]*)?` +
		`|cwo[a-z0-9]{40}`)

// cleanText makes untrusted text safe for an error or a log line: valid UTF-8, one
// line, the given secrets and anything shaped like a credential replaced, and at
// most limit bytes (cut on a rune boundary, after redaction, so a cut never
// reveals part of a secret that redaction would have hidden).
func cleanText(s string, secrets []string, limit int) string {
	s = strings.ToValidUTF8(s, "?")
	// Redact before and after flattening control characters: a base64 SAML
	// response may be line-wrapped, and its echo should vanish either way.
	s = redactSecrets(s, secrets, func(x string) string { return x })
	s = strings.Map(oneLine, s)
	s = redactSecrets(s, secrets, func(x string) string { return strings.Map(oneLine, x) })
	s = credentialShapes.ReplaceAllString(s, redacted)
	s = strings.TrimSpace(s)
	if len(s) > limit {
		cut := limit
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

func redactSecrets(s string, secrets []string, form func(string) string) string {
	for _, sec := range secrets {
		if sec = form(sec); len(sec) >= minSecretLen {
			s = strings.ReplaceAll(s, sec, redacted)
		}
	}
	return s
}

// oneLine maps control and line-separator characters to a space.
func oneLine(r rune) rune {
	if r < 0x20 || r == 0x7f || r == '\u2028' || r == '\u2029' || (r >= 0x80 && r < 0xa0) {
		return ' '
	}
	return r
}
