package redact

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// Credentials of every shape Text hides without being told about them.
var (
	jwt3      = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJjaSJ9.c2lnbmF0dXJlLXZhbHVl"
	jwt2      = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJjaSJ9."
	apiToken  = "CW-SECRET-abcDEF123_-.xyz"
	secretKey = "cwo" + strings.Repeat("a1b2c3d4e5", 4)
	bearerVal = "opaque.value~+/=123"
)

func TestEachCredentialShapeIsHidden(t *testing.T) {
	for _, tc := range []struct{ name, in, hidden string }{
		{"JWT", "token " + jwt3 + " rejected", jwt3},
		{"JWT without signature", "token " + jwt2 + " rejected", jwt2},
		{"JWT in JSON", `{"assertion":"` + jwt3 + `"}`, jwt3},
		{"API token", "invalid token " + apiToken, apiToken},
		{"API token in a header echo", "Authorization: Bearer " + apiToken, apiToken},
		{"secret key", `{"secretKey":"` + secretKey + `"}`, secretKey},
		{"secret key in prose", "key " + secretKey + " is bad", secretKey},
		{"bearer value", "got bearer " + bearerVal + " here", bearerVal},
		{"BEARER value", "got BEARER\t" + bearerVal, bearerVal},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Text(tc.in, nil, 1000)
			if strings.Contains(got, tc.hidden) || !strings.Contains(got, Placeholder) {
				t.Fatalf("Text(%q) = %q: %q not hidden", tc.in, got, tc.hidden)
			}
		})
	}
}

func TestKnownSecretsAreHidden(t *testing.T) {
	saml := strings.Repeat("PHNhbWxwOlJlc3BvbnNl", 8)
	wrapped := saml[:40] + "\r\n" + saml[40:80] + "\n" + saml[80:]
	for _, tc := range []struct {
		name, in string
		secrets  []string
		hidden   []string
	}{
		{"as given", "denied for hunter2-value", []string{"hunter2-value"}, []string{"hunter2"}},
		{"several", "a=first-secret b=second-secret", []string{"first-secret", "second-secret"}, []string{"first-secret", "second-secret"}},
		{"secret with surrounding whitespace", "refresh rt-123456 failed", []string{"  rt-123456\n"}, []string{"rt-123456"}},
		{"secret with whitespace, echoed with it", "x \trt-123456\n y", []string{" \trt-123456\n"}, []string{"rt-123456"}},
		{"line-wrapped in the text and the secret", "echo: " + wrapped + " end", []string{wrapped}, []string{saml[:40], saml[80:]}},
		{"line-wrapped secret echoed differently", "echo: " + saml[:40] + "\n" + saml[40:80] + "\r\n" + saml[80:], []string{wrapped}, []string{saml[:40], saml[80:]}},
		{"wrapped with a line separator", "echo " + saml[:40] + "\u2028" + saml[40:], []string{saml[:40] + "\n" + saml[40:]}, []string{saml[:40]}},
		{"secret and shape", "rt=refresh-value id=" + jwt3, []string{"refresh-value"}, []string{"refresh-value", jwt3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Text(tc.in, tc.secrets, 1000)
			for _, h := range tc.hidden {
				if strings.Contains(got, h) {
					t.Fatalf("Text(%q) = %q: %q not hidden", tc.in, got, h)
				}
			}
			if !strings.Contains(got, Placeholder) {
				t.Fatalf("Text(%q) = %q: no placeholder", tc.in, got)
			}
		})
	}
}

func TestShortSecretsAndPlainTextAreKept(t *testing.T) {
	for _, tc := range []struct {
		in      string
		secrets []string
		want    string
	}{
		{"the abc step failed", []string{"abc", "", "  ", "abcde"}, "the abc step failed"},
		{"principal lacks cwobject:CreateAccessKeyOIDC", nil, "principal lacks cwobject:CreateAccessKeyOIDC"},
		{"no such key", []string{"hunter2-value"}, "no such key"},
		{"cwo" + strings.Repeat("a", 39) + " is too short for a key", nil, "cwo" + strings.Repeat("a", 39) + " is too short for a key"},
		{"text/html; charset=utf-8", nil, "text/html; charset=utf-8"},
		{"", []string{"hunter2-value"}, ""},
	} {
		if got := Text(tc.in, tc.secrets, 1000); got != tc.want {
			t.Errorf("Text(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestOneLineValidUTF8(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"line one\nline two\r\n\u2028three\u2029four", "line one line two three four"},
		{"  padded\t\tand\x00nul\x7fdel\u0085nel  ", "padded and nul del nel"},
		{"bad \xff\xfe utf-8", "bad ? utf-8"},
		{"é ü 中文", "é ü 中文"},
	} {
		if got := Text(tc.in, nil, 1000); got != tc.want {
			t.Errorf("Text(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestCutAfterRedactionOnARuneBoundary(t *testing.T) {
	if got := Text(strings.Repeat("x", 600), nil, 512); got != strings.Repeat("x", 512)+"…" {
		t.Fatalf("cut: %d bytes", len(got))
	}
	if got := Text(strings.Repeat("é", 600), nil, 511); got != strings.Repeat("é", 255)+"…" || !utf8.ValidString(got) {
		t.Fatalf("cut inside a rune: %q", got)
	}
	// The secret straddles the limit: the cut must not leave its head visible.
	sec := "hunter2-secret-value"
	got := Text("0123456789 "+sec+" tail", []string{sec}, 15)
	if strings.Contains(got, "hunter") || got != "0123456789 [red…" {
		t.Fatalf("cut before redaction: %q", got)
	}
	got = Text("0123456789 "+apiToken, nil, 15)
	if strings.Contains(got, "CW-SE") {
		t.Fatalf("cut before shape redaction: %q", got)
	}
	if got := Text("short", nil, 64); got != "short" {
		t.Fatalf("%q", got)
	}
}

// FuzzText checks what every caller relies on: whatever the input, the output is
// valid UTF-8, one line without control characters, within the limit, and holds
// neither a planted secret nor a credential shape.
func FuzzText(f *testing.F) {
	for _, s := range []string{
		"", "plain", "line\nbreak", "\xff\xfe", "é\u2028中", "Bearer abc", "bearer\n\nabc",
		jwt3, jwt2, apiToken, secretKey, "x" + secretKey + "y", strings.Repeat("é", 300),
		`{"code":7,"message":"denied for ` + secretKey + `","details":[]}`,
		"<html>" + apiToken + "</html>",
	} {
		f.Add(s, "S3CRET0123456789", uint16(64))
		f.Add(s, "S3CRET\r\n98765", uint16(512))
	}
	f.Fuzz(func(t *testing.T, text, secret string, limit uint16) {
		// A secret the placeholder cannot spell: [A-Z0-9] with a fixed head,
		// planted in the middle of the text as given and line-wrapped.
		sec := "S3CRET" + strings.Map(func(r rune) rune {
			if r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
				return r
			}
			return -1
		}, secret)
		in := text + sec + text + sec[:len(sec)/2] + "\n" + sec[len(sec)/2:] + text
		got := Text(in, []string{sec}, int(limit))
		if !utf8.ValidString(got) {
			t.Fatalf("invalid UTF-8: %q", got)
		}
		if strings.IndexFunc(got, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '\u2028' || r == '\u2029' }) >= 0 {
			t.Fatalf("not one line: %q", got)
		}
		if len(got) > int(limit)+len("…") {
			t.Fatalf("%d bytes over the limit %d", len(got), limit)
		}
		if strings.Contains(got, sec) {
			t.Fatalf("planted secret %q in %q", sec, got)
		}
		if m := credentialShapes.FindString(got); m != "" {
			t.Fatalf("credential shape %q in %q", m, got)
		}
		if got != strings.TrimFunc(got, unicode.IsSpace) && !strings.HasSuffix(got, "…") {
			t.Fatalf("untrimmed: %q", got)
		}
		if again := Text(got, []string{sec}, int(limit)+len("…")); again != got {
			t.Fatalf("not stable: %q then %q", got, again)
		}
	})
}
