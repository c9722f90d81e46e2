package config

import (
	"fmt"
	"strings"
)

// Error is a configuration problem, located where the offending value came from:
// a file position, an environment variable or a flag. Its message is one line,
// "<where>: <problem>: <fix>", for example
//
//	config.yaml:12: profiles.ci.lifetime 13h is over the 12h maximum: use 12h or less
type Error struct {
	// File, Line and Column locate a value read from the config file (Line and
	// Column are 1-based; zero when unknown).
	File   string
	Line   int
	Column int
	// Where names a value's origin outside the file ("env CWCREDS_ORG_ID",
	// "flag --region", "environment") when File is empty.
	Where   string
	Field   string // dotted path of the setting, e.g. profiles.ci.lifetime; may be empty
	Problem string // what is wrong, starting with the field
	Fix     string // what to do about it
}

func (e *Error) Error() string {
	var b strings.Builder
	switch {
	case e.File != "" && e.Line > 0:
		fmt.Fprintf(&b, "%s:%d: ", e.File, e.Line)
	case e.File != "":
		fmt.Fprintf(&b, "%s: ", e.File)
	case e.Where != "":
		b.WriteString(e.Where + ": ")
	}
	b.WriteString(e.Problem)
	if e.Fix != "" {
		b.WriteString(": " + e.Fix)
	}
	return oneLine(b.String())
}

// errAt builds an Error located at origin o.
func errAt(o Origin, field, problem, fix string) *Error {
	e := &Error{Field: field, Problem: problem, Fix: fix}
	if o.Kind == OriginFile {
		e.File, e.Line, e.Column = o.File, o.Line, o.Column
	} else {
		e.Where = o.String()
	}
	return e
}

// oneLine folds any line breaks (from a YAML library message, say) into spaces.
func oneLine(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	return strings.Join(strings.Fields(s), " ")
}

// maxShown caps how much of a user's value an error message repeats.
const maxShown = 64

// show quotes a user-supplied value for an error message, unless it looks like a
// secret (a CoreWeave API token or a JWT pasted into the wrong place), which is
// never repeated.
func show(v string) string {
	if looksSecret(v) {
		return "(value hidden: it looks like a secret)"
	}
	if len(v) > maxShown {
		v = v[:maxShown] + "…"
	}
	return fmt.Sprintf("%q", v)
}

// looksSecret reports whether s holds something shaped like a credential.
func looksSecret(s string) bool {
	if strings.Contains(strings.ToUpper(s), "CW-SECRET-") {
		return true
	}
	return containsJWT(s)
}

// containsJWT finds a JWT anywhere in s: base64url segments joined by dots, the
// header starting with `{"`, which encodes as "eyJ". As the regexp
// eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}\.
func containsJWT(s string) bool {
	for i := 0; ; i++ {
		j := strings.Index(s[i:], "eyJ")
		if j < 0 {
			return false
		}
		i += j
		rest, ok := base64urlRun(s[i+len("eyJ"):])
		if ok {
			_, ok = base64urlRun(rest)
		}
		if ok {
			return true
		}
	}
}

// base64urlRun reads at least two base64url bytes and then a dot, and returns
// what follows the dot.
func base64urlRun(s string) (string, bool) {
	n := 0
	for n < len(s) && (isAlnum(s[n]) || s[n] == '_' || s[n] == '-') {
		n++
	}
	if n < 2 || n == len(s) || s[n] != '.' {
		return "", false
	}
	return s[n+1:], true
}
