package awsconfig

import (
	"fmt"
	"regexp"
	"strings"
)

const (
	diffContext = 3
	// diffMaxCells bounds the LCS table; beyond it the changed middle is shown as
	// a plain replacement (config edits change a few lines, so this is rare).
	diffMaxCells = 4_000_000
)

// secretLine matches keys whose values must not be printed by --dry-run.
var secretLine = regexp.MustCompile(`(?i)^(\s*(?:aws_secret_access_key|aws_session_token|aws_security_token)\s*[=:]\s*)\S.*$`)

type diffLine struct {
	text, eol string
}

// Diff returns a unified-style diff (hunks with 3 lines of context, lines
// prefixed ' ', '-', '+') from old to new, or "" when they are equal. It prints
// no file names: the caller adds the path. A change of line ending shows as a
// changed line; a last line without newline is marked as in diff(1). Values of
// aws_secret_access_key, aws_session_token and aws_security_token are replaced
// by <redacted>, since dry runs are pasted into tickets.
func Diff(old, new []byte) string {
	a, b := diffSplit(old), diffSplit(new)
	if string(old) == string(new) {
		return ""
	}
	ops := diffOps(a, b)
	var out strings.Builder
	for start := 0; start < len(ops); {
		// Find the next change, then extend the hunk while changes are close.
		for start < len(ops) && ops[start].kind == ' ' {
			start++
		}
		if start == len(ops) {
			break
		}
		lo := max(start-diffContext, 0)
		hi := start
		for i := start; i < len(ops); i++ {
			if ops[i].kind != ' ' {
				hi = i
			} else if i-hi > 2*diffContext {
				break
			}
		}
		hi = min(hi+diffContext, len(ops)-1)
		writeHunk(&out, ops[lo:hi+1])
		start = hi + 1
	}
	return out.String()
}

type diffOp struct {
	kind       byte // ' ', '-', '+'
	line       diffLine
	aIdx, bIdx int // 0-based line numbers in old and new
}

func diffSplit(s []byte) []diffLine {
	var out []diffLine
	rest := string(s)
	for rest != "" {
		var l diffLine
		if i := strings.IndexByte(rest, '\n'); i >= 0 {
			l.text, l.eol, rest = rest[:i], "\n", rest[i+1:]
			if strings.HasSuffix(l.text, "\r") {
				l.text, l.eol = l.text[:len(l.text)-1], "\r\n"
			}
		} else {
			l.text, rest = rest, ""
		}
		out = append(out, l)
	}
	return out
}

// diffOps aligns a and b: common prefix and suffix first, then an LCS table on
// the changed middle.
func diffOps(a, b []diffLine) []diffOp {
	pre := 0
	for pre < len(a) && pre < len(b) && a[pre] == b[pre] {
		pre++
	}
	suf := 0
	for suf < len(a)-pre && suf < len(b)-pre && a[len(a)-1-suf] == b[len(b)-1-suf] {
		suf++
	}
	var ops []diffOp
	for i := 0; i < pre; i++ {
		ops = append(ops, diffOp{' ', a[i], i, i})
	}
	am, bm := a[pre:len(a)-suf], b[pre:len(b)-suf]
	n, m := len(am), len(bm)
	if n*m <= diffMaxCells {
		// lcs[i][j] = LCS length of am[i:] and bm[j:].
		lcs := make([][]int32, n+1)
		for i := range lcs {
			lcs[i] = make([]int32, m+1)
		}
		for i := n - 1; i >= 0; i-- {
			for j := m - 1; j >= 0; j-- {
				if am[i] == bm[j] {
					lcs[i][j] = lcs[i+1][j+1] + 1
				} else {
					lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
				}
			}
		}
		i, j := 0, 0
		for i < n || j < m {
			switch {
			case i < n && j < m && am[i] == bm[j]:
				ops = append(ops, diffOp{' ', am[i], pre + i, pre + j})
				i++
				j++
			case j < m && (i == n || lcs[i][j+1] > lcs[i+1][j]):
				ops = append(ops, diffOp{'+', bm[j], pre + i, pre + j})
				j++
			default:
				ops = append(ops, diffOp{'-', am[i], pre + i, pre + j})
				i++
			}
		}
	} else {
		for i := range am {
			ops = append(ops, diffOp{'-', am[i], pre + i, pre})
		}
		for j := range bm {
			ops = append(ops, diffOp{'+', bm[j], pre + n, pre + j})
		}
	}
	for k := 0; k < suf; k++ {
		ops = append(ops, diffOp{' ', a[len(a)-suf+k], len(a) - suf + k, len(b) - suf + k})
	}
	return ops
}

func writeHunk(out *strings.Builder, ops []diffOp) {
	aStart, bStart := -1, -1
	aLen, bLen := 0, 0
	for _, op := range ops {
		if op.kind != '+' {
			if aStart < 0 {
				aStart = op.aIdx
			}
			aLen++
		}
		if op.kind != '-' {
			if bStart < 0 {
				bStart = op.bIdx
			}
			bLen++
		}
	}
	// diff(1) numbers an empty side by the line before it.
	if aStart < 0 {
		aStart = ops[0].aIdx - 1
	}
	if bStart < 0 {
		bStart = ops[0].bIdx - 1
	}
	fmt.Fprintf(out, "@@ -%d,%d +%d,%d @@\n", aStart+1, aLen, bStart+1, bLen)
	for _, op := range ops {
		text := secretLine.ReplaceAllString(op.line.text, "${1}<redacted>")
		out.WriteByte(op.kind)
		out.WriteString(text)
		if op.line.eol == "\r\n" {
			out.WriteString("\r")
		}
		out.WriteByte('\n')
		if op.line.eol == "" {
			out.WriteString("\\ No newline at end of file\n")
		}
	}
}
