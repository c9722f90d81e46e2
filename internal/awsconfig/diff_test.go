package awsconfig

import (
	"fmt"
	"math/rand"
	"strconv"
	"strings"
	"testing"
)

func TestDiffExact(t *testing.T) {
	old := "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk\nl\n"
	new := "a\nB\nc\nd\ne\nf\ng\nh\ni\nj\nk\nl\nm\n"
	want := "@@ -1,5 +1,5 @@\n a\n-b\n+B\n c\n d\n e\n" +
		"@@ -10,3 +10,4 @@\n j\n k\n l\n+m\n"
	if got := Diff([]byte(old), []byte(new)); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	if Diff([]byte(old), []byte(old)) != "" {
		t.Fatal("equal inputs gave a diff")
	}
	if got := Diff(nil, []byte("x\n")); got != "@@ -0,0 +1,1 @@\n+x\n" {
		t.Fatalf("from empty: %q", got)
	}
	if got := Diff([]byte("x"), []byte("x\n")); got != "@@ -1,1 +1,1 @@\n-x\n\\ No newline at end of file\n+x\n" {
		t.Fatalf("final newline: %q", got)
	}
	if got := Diff([]byte("x\n"), []byte("x\r\n")); got != "@@ -1,1 +1,1 @@\n-x\n+x\r\n" {
		t.Fatalf("line ending: %q", got)
	}
}

func TestDiffRedactsSecrets(t *testing.T) {
	old := "[profile a]\naws_access_key_id = AKIDEXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG\nregion = x\n"
	new := strings.Replace(old, "region = x", "region = y", 1) + "  AWS_SESSION_TOKEN: tokenvalue\n"
	got := Diff([]byte(old), []byte(new))
	if strings.Contains(got, "wJalrXUtnFEMI") || strings.Contains(got, "tokenvalue") {
		t.Fatalf("diff shows a secret:\n%s", got)
	}
	if !strings.Contains(got, " aws_secret_access_key = <redacted>\n") || !strings.Contains(got, "+  AWS_SESSION_TOKEN: <redacted>\n") {
		t.Fatalf("redaction lost the key names:\n%s", got)
	}
	if !strings.Contains(got, "AKIDEXAMPLE") {
		t.Fatal("key ids are not secret and should stay visible")
	}
}

// applyDiff is a minimal patch(1) for Diff's output, to prove the hunks are right.
func applyDiff(t *testing.T, old []byte, d string) []byte {
	t.Helper()
	a := diffSplit(old)
	var out []diffLine
	pos := 0
	lines := strings.SplitAfter(d, "\n")
	for i := 0; i < len(lines) && lines[i] != ""; {
		h := lines[i]
		var aStart, aLen, bStart, bLen int
		if _, err := fmt.Sscanf(h, "@@ -%d,%d +%d,%d @@\n", &aStart, &aLen, &bStart, &bLen); err != nil {
			t.Fatalf("bad hunk header %q: %v", h, err)
		}
		if aLen == 0 {
			aStart++ // diff(1) numbers an empty side by the line before it
		}
		for ; pos < aStart-1; pos++ {
			out = append(out, a[pos])
		}
		i++
		for i < len(lines) && lines[i] != "" && !strings.HasPrefix(lines[i], "@@") {
			op, body := lines[i][0], strings.TrimSuffix(lines[i][1:], "\n")
			l := diffLine{text: body, eol: "\n"}
			if strings.HasSuffix(body, "\r") {
				l = diffLine{text: strings.TrimSuffix(body, "\r"), eol: "\r\n"}
			}
			i++
			if i < len(lines) && lines[i] == "\\ No newline at end of file\n" {
				l = diffLine{text: body, eol: ""}
				i++
			}
			switch op {
			case ' ', '-':
				if pos >= len(a) || (a[pos] != l && !secretLine.MatchString(a[pos].text)) {
					t.Fatalf("hunk does not match line %d: %q vs %q", pos+1, l, a[pos])
				}
				if op == ' ' {
					out = append(out, a[pos])
				}
				pos++
			case '+':
				out = append(out, l)
			default:
				t.Fatalf("bad line %q", lines[i-1])
			}
		}
	}
	out = append(out, a[pos:]...)
	var b strings.Builder
	for _, l := range out {
		b.WriteString(l.text + l.eol)
	}
	return []byte(b.String())
}

func TestDiffAppliesBackRandomEdits(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for round := 0; round < 500; round++ {
		n := rng.Intn(40)
		var a []string
		for i := 0; i < n; i++ {
			a = append(a, strconv.Itoa(rng.Intn(8)))
		}
		b := append([]string{}, a...)
		for e := rng.Intn(6); e > 0; e-- {
			switch k := rng.Intn(3); {
			case k == 0 || len(b) == 0:
				i := rng.Intn(len(b) + 1)
				b = append(b[:i], append([]string{"new" + strconv.Itoa(e)}, b[i:]...)...)
			case k == 1:
				i := rng.Intn(len(b))
				b = append(b[:i], b[i+1:]...)
			default:
				b[rng.Intn(len(b))] += "x"
			}
		}
		join := func(s []string) []byte {
			out := strings.Join(s, "\n")
			if len(s) > 0 && rng.Intn(4) > 0 {
				out += "\n"
			}
			if rng.Intn(5) == 0 {
				out = strings.ReplaceAll(out, "\n", "\r\n")
			}
			return []byte(out)
		}
		old, new := join(a), join(b)
		d := Diff(old, new)
		if got := applyDiff(t, old, d); string(got) != string(new) {
			t.Fatalf("round %d: patch(old, Diff) != new\nold %q\nnew %q\ndiff\n%s\ngot %q", round, old, new, d, got)
		}
	}
}

func TestDiffLargeFilesFallBack(t *testing.T) {
	var a, b strings.Builder
	for i := 0; i < 2500; i++ {
		fmt.Fprintf(&a, "a%d\n", i)
		fmt.Fprintf(&b, "b%d\n", i)
	}
	d := Diff([]byte(a.String()), []byte(b.String()))
	if got := applyDiff(t, []byte(a.String()), d); string(got) != b.String() {
		t.Fatal("fallback diff does not apply")
	}
}
