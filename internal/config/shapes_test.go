package config

import (
	"regexp"
	"testing"
)

// The byte-by-byte shape checks must accept exactly what these regexps accept.
var shapeSpecs = []struct {
	name string
	re   *regexp.Regexp
	fn   func(string) bool
}{
	{"id", regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]*$`), isID},
	{"region", regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]*$`), isRegion},
	{"profile name", regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`), isProfileName},
	{"env name", regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`), isEnvName},
	{"scope", regexp.MustCompile(`^[\x21\x23-\x5B\x5D-\x7E]+$`), isScope},
	{"jwt", regexp.MustCompile(`eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}\.`), containsJWT},
}

var yamlLineSpec = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

var shapeSeeds = []string{
	"", "a", "A9", "9a", "_a", "a_b", "org-abc12345", "US-EAST-04A", "a..b", "a:b", "a b", "a/b", "é",
	"CW_API_TOKEN", "1ABC", "openid", "a\"b", "a\\b", "~", "\x7f", "a\n", "\na",
	"eyJhbGciOi.eyJzdWIi.sig", "xx eyJab.cd.", "eyJa.bc.", "eyJab.c.", "eyJab.cd", "eyJeyJab.cd.", "eyJ-_.-_.",
	"yaml: line 3: did not find expected key", "yaml: line x: y", "yaml: line 3: a\nb", "yaml: line : y",
	"yaml: line 007: mapping values", "yaml: line 3:", "yaml: line 3: ", "yaml: line 99999999999999999999999: x",
}

func checkShapes(t *testing.T, s string) {
	for _, c := range shapeSpecs {
		if got, want := c.fn(s), c.re.MatchString(s); got != want {
			t.Errorf("%s(%q) = %v, the regexp says %v", c.name, s, got, want)
		}
	}
	line, rest, ok := yamlErrorLine(s)
	m := yamlLineSpec.FindStringSubmatch(s)
	if ok != (m != nil) || (ok && (rest != m[2] || line < 0)) {
		t.Errorf("yamlErrorLine(%q) = %d, %q, %v; the regexp says %q", s, line, rest, ok, m)
	}
}

func TestShapesMatchTheirRegexps(t *testing.T) {
	for _, s := range shapeSeeds {
		checkShapes(t, s)
	}
}

func FuzzShapesMatchTheirRegexps(f *testing.F) {
	for _, s := range shapeSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkShapes(t, s) })
}
