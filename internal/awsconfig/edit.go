package awsconfig

import (
	"sort"
	"strings"
)

// editor collects line replacements, insertions and deletions against the
// original lines and renders them in one pass, so indexes never shift mid-edit.
type editor struct {
	f       *file
	replace map[int]string
	remove  map[int]bool
	inserts map[int][]insertion // after line index (-1: at the very start)
}

type insertion struct {
	prio int // lower first when several groups go after the same line
	text []string
}

func newEditor(f *file) *editor {
	return &editor{f: f, replace: map[int]string{}, remove: map[int]bool{}, inserts: map[int][]insertion{}}
}

func (e *editor) insertAfter(i, prio int, text ...string) {
	if len(text) > 0 {
		e.inserts[i] = append(e.inserts[i], insertion{prio, text})
	}
}

// render builds the new file. Inserted lines take the terminator of the line
// they follow; after a last line without newline, that line gets the file's
// usual terminator and the last inserted line gets none, so the original bytes
// stay a prefix of the result.
//
// origin[i] is the original index of output line i, or -1 for an inserted line.
func (e *editor) render() (out *file, origin []int) {
	out = &file{bom: e.f.bom}
	emitInserts := func(after int, prev *line) {
		groups := e.inserts[after]
		if len(groups) == 0 {
			return
		}
		sort.SliceStable(groups, func(a, b int) bool { return groups[a].prio < groups[b].prio })
		eol := e.f.defaultEOL()
		last := ""
		if prev != nil {
			if prev.eol == "" {
				prev.eol = eol
			} else {
				eol, last = prev.eol, prev.eol
			}
		} else {
			last = eol
		}
		var texts []string
		for _, g := range groups {
			texts = append(texts, g.text...)
		}
		for k, t := range texts {
			ln := line{text: t, eol: eol}
			if k == len(texts)-1 {
				ln.eol = last
			}
			out.lines = append(out.lines, ln)
			origin = append(origin, -1)
		}
	}
	emitInserts(-1, nil)
	for i, ln := range e.f.lines {
		if !e.remove[i] {
			if t, ok := e.replace[i]; ok {
				ln.text = t
			}
			out.lines = append(out.lines, ln)
			origin = append(origin, i)
		}
		var prev *line
		if n := len(out.lines); n > 0 {
			prev = &out.lines[n-1]
		}
		emitInserts(i, prev)
	}
	// A removed last line leaves the new last line with the old one's terminator
	// choice: keep "no final newline" files that way.
	if n := len(e.f.lines); n > 0 && e.f.lines[n-1].eol == "" && e.remove[n-1] && len(e.inserts[n-1]) == 0 {
		if m := len(out.lines); m > 0 {
			out.lines[m-1].eol = ""
		}
	}
	return out, origin
}

// rewriteValue keeps a line's indentation, key spelling and spacing up to the
// value, and replaces the value (and anything after it) with v. delims are the
// separators the reader of this line accepts ("=:" for keys, "=" for nested keys).
func rewriteValue(text, v, delims string) string {
	p := strings.IndexAny(text, delims)
	if p < 0 {
		return text // cannot happen: the line parsed as a key
	}
	rest := text[p+1:]
	q := p + 1 + len(rest) - len(trimLeadingSpace(rest))
	prefix := text[:q]
	// `key =` with an empty value but a space before '=': mirror it after.
	if q == len(text) && q == p+1 && p > 0 && (text[p-1] == ' ' || text[p-1] == '\t') {
		prefix += " "
	}
	return prefix + v
}
