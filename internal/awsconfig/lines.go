package awsconfig

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// ErrBOM is returned by Upsert and Get for a file that starts with a UTF-8
// byte-order mark. botocore reads the mark as part of the first line and then
// refuses the whole file (aws/aws-cli#3419), and the Go SDK drops the first
// section, so writing a profile into such a file would still leave it unusable.
// Callers may offer StripBOM and try again.
var ErrBOM = errors.New("the AWS config file starts with a UTF-8 byte-order mark, which the AWS CLI cannot read (aws/aws-cli#3419): save it as UTF-8 without BOM and run again")

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// HasBOM reports whether contents start with a UTF-8 byte-order mark.
func HasBOM(contents []byte) bool { return bytes.HasPrefix(contents, utf8BOM) }

// StripBOM returns contents without a leading UTF-8 byte-order mark; every other
// byte is kept.
func StripBOM(contents []byte) []byte { return bytes.TrimPrefix(contents, utf8BOM) }

// line is one physical line: its text and its own terminator, so CRLF, LF and a
// missing final newline all survive a rewrite.
type line struct {
	text string // without the terminator
	eol  string // "\n", "\r\n", or "" for a last line without newline
}

type file struct {
	bom   bool
	lines []line
}

// splitLines cuts contents into lines. It refuses what the two SDK readers would
// split or trim differently: a carriage return that does not end a line (Python
// starts a new line there, Go does not), control characters and Unicode line
// separators (Python's whitespace set differs from Go's there), and invalid UTF-8
// (botocore cannot decode it).
func splitLines(contents []byte) (*file, error) {
	f := &file{}
	if HasBOM(contents) {
		f.bom = true
		contents = contents[len(utf8BOM):]
	}
	s := string(contents)
	for n := 1; s != ""; n++ {
		var ln line
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			ln.text, ln.eol, s = s[:i], "\n", s[i+1:]
			if strings.HasSuffix(ln.text, "\r") {
				ln.text, ln.eol = ln.text[:len(ln.text)-1], "\r\n"
			}
		} else {
			ln.text, s = s, ""
		}
		if err := checkLineChars(n, ln.text); err != nil {
			return nil, err
		}
		f.lines = append(f.lines, ln)
	}
	return f, nil
}

func checkLineChars(n int, text string) error {
	if !utf8.ValidString(text) {
		return fmt.Errorf("line %d is not valid UTF-8: save the AWS config file as UTF-8 and run again", n)
	}
	for _, r := range text {
		switch {
		case r == '\r':
			return fmt.Errorf("line %d contains a carriage return that does not end the line: remove it and run again", n)
		case r < 0x20 && r != '\t', r == 0x7f, r == 0x85, r == '\u2028', r == '\u2029':
			return fmt.Errorf("line %d contains the control character U+%04X, which AWS tools read differently: remove it and run again", n, r)
		}
	}
	return nil
}

func (f *file) bytes() []byte {
	var b bytes.Buffer
	if f.bom {
		b.Write(utf8BOM)
	}
	for _, ln := range f.lines {
		b.WriteString(ln.text)
		b.WriteString(ln.eol)
	}
	return b.Bytes()
}

// defaultEOL is the terminator new lines get when their neighbour has none: the
// file's first terminator, so a CRLF file stays CRLF.
func (f *file) defaultEOL() string {
	for _, ln := range f.lines {
		if ln.eol != "" {
			return ln.eol
		}
	}
	return "\n"
}

// pyIsSpace is Python's str.isspace restricted to what splitLines lets through.
// configparser strips lines and measures indentation with it.
func pyIsSpace(r rune) bool {
	switch r {
	case ' ', '\t', '\n', '\r', '\v', '\f', 0x1c, 0x1d, 0x1e, 0x1f, 0x85, 0xa0, 0x1680,
		0x2028, 0x2029, 0x202f, 0x205f, 0x3000:
		return true
	}
	return r >= 0x2000 && r <= 0x200a
}

func pyStrip(s string) string  { return strings.TrimFunc(s, pyIsSpace) }
func pyRstrip(s string) string { return strings.TrimRightFunc(s, pyIsSpace) }

// pyLeftSpace is the leading whitespace of s, as configparser measures indentation.
func pyLeftSpace(s string) string { return s[:len(s)-len(trimLeadingSpace(s))] }

func trimLeadingSpace(s string) string { return strings.TrimLeftFunc(s, pyIsSpace) }

// runeIndent counts code points, as Python's indexes do.
func runeIndent(s string) int { return utf8.RuneCountInString(pyLeftSpace(s)) }

func isBlankText(s string) bool { return pyStrip(s) == "" }

func isASCII(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return r >= utf8.RuneSelf }) < 0
}

// firstDelim is where configparser's OPTCRE splits a key from its value.
func firstDelim(s string) int { return strings.IndexAny(s, "=:") }

func lineNo(i int) int { return i + 1 }
