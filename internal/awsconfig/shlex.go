package awsconfig

import (
	"errors"
	"strings"
)

// shlexSplit mirrors Python's shlex.split(s) (posix=True, whitespace_split=True,
// no comments), which botocore uses to read a `[profile NAME]` header: the
// header names a profile only when it splits into exactly two words.
func shlexSplit(s string) ([]string, error) {
	const (
		whitespace = " \t\r\n"
		quotes     = `'"`
	)
	var (
		words  []string
		token  strings.Builder
		quoted bool
		state  = ' ' // ' ' between words, 'a' in a word, a quote, or '\\'
		escSt  rune  // state to return to after an escape
	)
	emit := func() {
		if token.Len() > 0 || quoted {
			words = append(words, token.String())
		}
		token.Reset()
		quoted = false
	}
	for _, c := range s {
		switch {
		case state == ' ' || state == 'a':
			switch {
			case strings.ContainsRune(whitespace, c):
				if state == 'a' {
					emit()
				}
				state = ' '
			case strings.ContainsRune(quotes, c):
				state = c
			case c == '\\':
				escSt, state = 'a', '\\'
			default:
				token.WriteRune(c)
				state = 'a'
			}
		case state == '\'' || state == '"':
			quoted = true
			switch {
			case c == state:
				state = 'a'
			case c == '\\' && state == '"':
				escSt, state = state, '\\'
			default:
				token.WriteRune(c)
			}
		case state == '\\':
			// Inside double quotes a backslash only escapes " and itself.
			if escSt == '"' && c != '\\' && c != '"' {
				token.WriteRune('\\')
			}
			token.WriteRune(c)
			state = escSt
		}
	}
	switch state {
	case '\'', '"':
		return nil, errors.New("no closing quotation")
	case '\\':
		return nil, errors.New("no escaped character")
	}
	emit()
	return words, nil
}
