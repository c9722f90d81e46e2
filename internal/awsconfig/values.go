package awsconfig

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Setting is one `key = value` line of a profile, or of a nested sub-section such
// as `s3 =`.
type Setting struct {
	Key   string
	Value string
}

// checkProfileName keeps names to what both readers parse back unchanged from
// `[profile NAME]`: botocore shlex-splits the header (so no spaces, quotes or
// backslashes) and the Go SDK cuts headers at '#' and ';'.
func checkProfileName(p string) error {
	ok := p != "" && len(p) <= 128
	for i := 0; ok && i < len(p); i++ {
		c := p[i]
		ok = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-_.@+=,:/", c) >= 0
	}
	if !ok {
		return fmt.Errorf("AWS profile name %q cannot be written to the AWS config file: use 1 to 128 letters, digits and - _ . @ + = , : /", p)
	}
	return nil
}

// checkKey accepts the lower-case names both readers match (botocore keeps
// nested names as written, so upper case there would be a different key).
func checkKey(k string) error {
	ok := k != "" && len(k) <= 64
	for i := 0; ok && i < len(k); i++ {
		c := k[i]
		ok = c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_'
	}
	if !ok {
		return fmt.Errorf("setting name %q is not valid: use lower-case letters, digits and _", k)
	}
	return nil
}

// checkValue refuses values one of the readers would change: both strip
// surrounding spaces, neither has line continuations we could use safely, the
// Go SDK cuts " #" and " ;" as comments and unquotes a value wrapped in matching
// quotes. Errors name the key, never the value.
func checkValue(key, v string) error {
	why := ""
	switch {
	case v == "":
		why = "is empty"
	case !utf8.ValidString(v):
		why = "is not valid UTF-8"
	case strings.IndexFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f || r == 0x85 || r == '\u2028' || r == '\u2029' }) >= 0:
		why = "contains a control character or line break"
	case pyStrip(v) != v || strings.TrimSpace(v) != v:
		why = "starts or ends with spaces, which AWS tools strip"
	case strings.Contains(v, " #") || strings.Contains(v, " ;") || strings.Contains(v, "\t#") || strings.Contains(v, "\t;"):
		why = `contains " #" or " ;", which the AWS SDK for Go reads as the start of a comment`
	case len(v) >= 1 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0]:
		why = "is wrapped in quotes, which the AWS SDK for Go removes"
	}
	if why != "" {
		return fmt.Errorf("the value for %s cannot be written to the AWS config file: it %s", key, why)
	}
	return nil
}

func checkSettings(settings, nested []Setting) error {
	if len(settings) == 0 && len(nested) == 0 {
		return fmt.Errorf("nothing to write: pass at least one setting")
	}
	seen := map[string]bool{}
	for _, s := range settings {
		if err := checkKey(s.Key); err != nil {
			return err
		}
		if s.Key == nestedS3 {
			return fmt.Errorf("pass s3 settings as the nested list, not as a plain setting")
		}
		if seen[s.Key] {
			return fmt.Errorf("setting %s is given twice: pass it once", s.Key)
		}
		seen[s.Key] = true
		if err := checkValue(s.Key, s.Value); err != nil {
			return err
		}
	}
	seen = map[string]bool{}
	for _, s := range nested {
		if err := checkKey(s.Key); err != nil {
			return err
		}
		if seen[s.Key] {
			return fmt.Errorf("setting s3.%s is given twice: pass it once", s.Key)
		}
		seen[s.Key] = true
		if err := checkValue(nestedS3+"."+s.Key, s.Value); err != nil {
			return err
		}
	}
	return nil
}
