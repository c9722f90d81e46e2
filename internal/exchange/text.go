package exchange

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strings"
	"unicode/utf8"
)

// credentialShapes are credentials hidden even when they are not among the known
// secrets: CoreWeave API tokens, JWTs, bearer values. Compiled once, never modified.
var credentialShapes = regexp.MustCompile(
	`CW-SECRET-[A-Za-z0-9_\-.]+` +
		`|eyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+(?:\.[A-Za-z0-9_\-]*)?` +
		`|(?i:bearer)\s+[A-Za-z0-9_\-.~+/=]+`)

const redacted = "[redacted]"

// minSecretLen keeps redaction from mangling text around trivially short strings.
const minSecretLen = 6

// cleanText makes untrusted text (a command's stderr, an IdP's error description)
// fit for an error message: valid UTF-8, one line, the given secrets replaced, at
// most limit bytes. Secrets are replaced before the cut so a cut never reveals part
// of one.
func cleanText(s string, secrets []string, limit int) string {
	s = strings.ToValidUTF8(s, "?")
	s = redact(s, secrets)
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '\u2028' || r == '\u2029' || (r >= 0x80 && r < 0xa0) {
			return ' '
		}
		return r
	}, s)
	s = redact(s, secrets) // a secret broken over lines is now on one
	s = credentialShapes.ReplaceAllString(s, redacted)
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > limit {
		cut := limit
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

func redact(s string, secrets []string) string {
	for _, sec := range secrets {
		if sec = strings.TrimSpace(sec); len(sec) >= minSecretLen {
			s = strings.ReplaceAll(s, sec, redacted)
		}
	}
	return s
}

// fingerprint is the hex sha256 of an identity input: safe to keep and compare,
// useless to an attacker.
func fingerprint(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
