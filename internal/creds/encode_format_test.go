package creds

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

var encUpdateGolden = flag.Bool("update-env-golden", false, "rewrite testdata/env/*.golden")

// encHostile are values a shell would love to misread.
var encHostile = []string{
	"",
	"plain",
	"it's",
	"'",
	"''",
	"'\\''",
	`a"b`,
	`"`,
	"$HOME",
	"${HOME}",
	"$(id)",
	"`id`",
	"back\\slash",
	"trailing\\",
	"\\'",
	"line\nbreak",
	"trailing newline\n",
	"\n",
	"cr\rhere",
	"  leading and trailing  ",
	"tab\there",
	"!bang !! !$",
	"*glob?[a]",
	"~",
	"~root",
	"a;b&&c||d|e",
	"#not a comment",
	"<in >out",
	"héllo wörld 世界 🚀",
	"\u2018curly\u2019 \u201alow\u201b",
	"%PATH% ^caret",
	"a=b=c",
	"-e",
	"--",
	"\x01\x1b[31mred",
}

func encHostileVars() []EnvVar {
	vars := make([]EnvVar, len(encHostile))
	for i, v := range encHostile {
		vars[i] = EnvVar{fmt.Sprintf("CWT_%02d", i), v}
	}
	return vars
}

// encRunShell runs script in a shell with a clean environment and returns the
// environment the shell ends with, read NUL-separated so any byte survives.
func encRunShell(t testing.TB, shell []string, script string) map[string]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	args := append(append([]string{}, shell[1:]...), script)
	cmd := exec.CommandContext(ctx, shell[0], args...)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=/nonexistent-home", "LC_ALL=C.UTF-8"}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v failed: %v: %s", shell, err, stderr.String())
	}
	env := map[string]string{}
	for _, kv := range bytes.Split(out, []byte{0}) {
		if k, v, ok := strings.Cut(string(kv), "="); ok {
			env[k] = v
		}
	}
	return env
}

func encShells() [][]string {
	var found [][]string
	for _, s := range [][]string{{"sh", "-c"}, {"dash", "-c"}, {"bash", "-c"}, {"zsh", "-c"}, {"ksh", "-c"}, {"mksh", "-c"}, {"busybox", "sh", "-c"}} {
		if p, err := exec.LookPath(s[0]); err == nil {
			found = append(found, append([]string{p}, s[1:]...))
		}
	}
	return found
}

// TestFormatEnvShRoundTripsThroughRealShells evaluates the sh output in every
// POSIX shell on the machine and compares what each exported.
func TestFormatEnvShRoundTripsThroughRealShells(t *testing.T) {
	vars := encHostileVars()
	var buf bytes.Buffer
	if err := FormatEnv(&buf, FormatSh, vars); err != nil {
		t.Fatal(err)
	}
	shells := encShells()
	if len(shells) < 2 {
		t.Fatalf("expected at least sh and bash on this machine, found %v", shells)
	}
	for _, sh := range shells {
		t.Run(filepath.Base(strings.Join(sh[:len(sh)-1], " ")), func(t *testing.T) {
			env := encRunShell(t, sh, buf.String()+"exec env -0\n")
			for _, v := range vars {
				got, ok := env[v.Name]
				if !ok || got != v.Value {
					t.Errorf("%s: got %q (set %v), want %q", v.Name, got, ok, v.Value)
				}
			}
		})
	}
}

// FuzzShQuote round-trips arbitrary strings through /bin/sh. Inputs are made
// valid by construction (UTF-8, no NUL), never skipped.
func FuzzShQuote(f *testing.F) {
	for _, v := range encHostile {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, s string) {
		s = strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
		var buf bytes.Buffer
		if err := FormatEnv(&buf, FormatSh, []EnvVar{{"CWT_FUZZ", s}}); err != nil {
			t.Fatalf("FormatEnv refused a valid value: %v", err)
		}
		env := encRunShell(t, []string{"/bin/sh", "-c"}, buf.String()+"exec env -0\n")
		if got := env["CWT_FUZZ"]; got != s {
			t.Fatalf("/bin/sh read %q, want %q", got, s)
		}
	})
}

// encGoldenVars are values every format can carry (cmd and dotenv refuse some).
func encGoldenVars(format string) []EnvVar {
	base := []EnvVar{
		{"AWS_ACCESS_KEY_ID", encTestKeyID},
		{"AWS_SECRET_ACCESS_KEY", encTestSecret},
		{"AWS_SESSION_TOKEN", encTestToken},
		{"AWS_CREDENTIAL_EXPIRATION", "2026-11-26T23:00:00Z"},
		{"AWS_ENDPOINT_URL_S3", "https://cwobject.com/path?a=1&b=2"},
		{"AWS_REGION", "US-EAST-04A"},
		{"CWT_SPACES", "  two  spaces  "},
		{"CWT_UNICODE", "héllo 世界 🚀"},
	}
	switch format {
	case FormatCmd:
		base[4].Value = "https://cwobject.com/path?a=1"
		return append(base, EnvVar{"CWT_DOLLAR", "$HOME `id` #x 'q' (p) \\b"})
	case FormatDotenv:
		return append(base, EnvVar{"CWT_DOLLAR", "$HOME $(id) `id` #x \"dq\" a=b"})
	}
	return append(base,
		EnvVar{"CWT_QUOTES", "it's \"q\" \u2018c\u2019 \u201a\u201b"},
		EnvVar{"CWT_DOLLAR", "$HOME ${HOME} $(id) `id` %PATH% !x"},
		EnvVar{"CWT_BACKSLASH", `a\b\\c\`},
		EnvVar{"CWT_NEWLINE", "one\ntwo\n"},
	)
}

// TestFormatEnvGolden pins every format's exact output. Rewrite with
// go test ./internal/creds -run TestFormatEnvGolden -update-env-golden.
func TestFormatEnvGolden(t *testing.T) {
	for _, format := range EnvFormats() {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			if err := FormatEnv(&buf, format, encGoldenVars(format)); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", "env", format+".golden")
			if *encUpdateGolden {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update-env-golden to create it)", err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Fatalf("output differs from %s:\n%s", path, buf.String())
			}
		})
	}
}

// The golden sh file must also mean what it says: run it.
func TestFormatEnvShGoldenEvaluates(t *testing.T) {
	want := encGoldenVars(FormatSh)
	src, err := os.ReadFile(filepath.Join("testdata", "env", "sh.golden"))
	if err != nil {
		t.Fatal(err)
	}
	for _, sh := range encShells() {
		env := encRunShell(t, sh, string(src)+"exec env -0\n")
		for _, v := range want {
			if env[v.Name] != v.Value {
				t.Errorf("%v: %s = %q, want %q", sh, v.Name, env[v.Name], v.Value)
			}
		}
	}
}

// encFishUnquote reads one fish single-quoted word per the fish manual
// ("Quotes"): inside single quotes only \' and \\ are escapes.
func encFishUnquote(s string) (string, bool) {
	if len(s) < 2 || s[0] != '\'' || s[len(s)-1] != '\'' {
		return "", false
	}
	var b strings.Builder
	body := s[1 : len(s)-1]
	for i := 0; i < len(body); i++ {
		c := body[i]
		switch {
		case c == '\\' && i+1 < len(body) && (body[i+1] == '\\' || body[i+1] == '\''):
			b.WriteByte(body[i+1])
			i++
		case c == '\'':
			return "", false // an unescaped quote would end the word early
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), true
}

// encPowerShellUnquote reads one PowerShell verbatim string per about_Quoting_Rules:
// any of ' U+2018 U+2019 U+201A U+201B ends it unless doubled.
func encPowerShellUnquote(s string) (string, bool) {
	isQ := func(r rune) bool { return strings.ContainsRune("'\u2018\u2019\u201a\u201b", r) }
	rs := []rune(s)
	if len(rs) < 2 || !isQ(rs[0]) || !isQ(rs[len(rs)-1]) {
		return "", false
	}
	var b strings.Builder
	body := rs[1 : len(rs)-1]
	for i := 0; i < len(body); i++ {
		if isQ(body[i]) {
			if i+1 >= len(body) || !isQ(body[i+1]) {
				return "", false
			}
			i++
		}
		b.WriteRune(body[i])
	}
	return b.String(), true
}

// fish and pwsh are not installed on the build machines (and nothing may be
// installed for tests), so their quoting is checked against decoders written from
// each shell's manual, against the golden files, and against the real shell when
// one is on PATH.
func TestFishAndPowerShellQuotingRoundTrip(t *testing.T) {
	for _, v := range append(encHostile, "\\\\'", "''''", "\u2019\u2019") {
		if got, ok := encFishUnquote(fishQuote(v)); !ok || got != v {
			t.Errorf("fish: %q -> %s -> %q (ok %v)", v, fishQuote(v), got, ok)
		}
		if got, ok := encPowerShellUnquote(powerShellQuote(v)); !ok || got != v {
			t.Errorf("powershell: %q -> %s -> %q (ok %v)", v, powerShellQuote(v), got, ok)
		}
	}
}

func TestFormatEnvFishInRealFishWhenInstalled(t *testing.T) {
	fish, err := exec.LookPath("fish")
	if err != nil {
		t.Log("fish is not installed; its quoting is covered by the golden file and the manual-based decoder")
		return
	}
	vars := encHostileVars()
	var buf bytes.Buffer
	if err := FormatEnv(&buf, FormatFish, vars); err != nil {
		t.Fatal(err)
	}
	env := encRunShell(t, []string{fish, "--no-config", "-c"}, buf.String()+"exec env -0\n")
	for _, v := range vars {
		if env[v.Name] != v.Value {
			t.Errorf("fish: %s = %q, want %q", v.Name, env[v.Name], v.Value)
		}
	}
}

func TestFormatEnvPowerShellInRealPwshWhenInstalled(t *testing.T) {
	pwsh, err := exec.LookPath("pwsh")
	if err != nil {
		t.Log("pwsh is not installed; its quoting is covered by the golden file and the manual-based decoder")
		return
	}
	vars := encHostileVars()
	var buf bytes.Buffer
	if err := FormatEnv(&buf, FormatPowerShell, vars); err != nil {
		t.Fatal(err)
	}
	script := buf.String() + "& env -0\n"
	env := encRunShell(t, []string{pwsh, "-NoProfile", "-NonInteractive", "-Command"}, script)
	for _, v := range vars {
		if env[v.Name] != v.Value {
			t.Errorf("pwsh: %s = %q, want %q", v.Name, env[v.Name], v.Value)
		}
	}
}

func TestFormatEnvCmdRefusesUnsafeValues(t *testing.T) {
	const secretish = "cwoSECRETPART"
	for _, bad := range []string{`"`, "%", "!", "^", "&", "|", "<", ">", "\n", "\r", "\x1b"} {
		var buf bytes.Buffer
		err := FormatEnv(&buf, FormatCmd, []EnvVar{{"AWS_REGION", "ok"}, {"AWS_SECRET_ACCESS_KEY", secretish + bad}})
		if err == nil {
			t.Fatalf("cmd accepted a value with %q", bad)
		}
		if buf.Len() != 0 {
			t.Fatalf("cmd wrote partial output before failing: %q", buf.String())
		}
		if strings.Contains(err.Error(), secretish) || !strings.Contains(err.Error(), "AWS_SECRET_ACCESS_KEY") {
			t.Fatalf("error should name the variable and hide the value: %v", err)
		}
	}
	if err := FormatEnv(&bytes.Buffer{}, FormatCmd, []EnvVar{{"AWS_SESSION_TOKEN", ""}}); err == nil {
		t.Fatal("cmd accepted an empty value, which set would turn into a deletion")
	}
	var buf bytes.Buffer
	if err := FormatEnv(&buf, FormatCmd, []EnvVar{{"K", "a b (c) 'd' $e `f` #g \\h"}}); err != nil {
		t.Fatal(err)
	}
	if got := buf.String(); got != "set \"K=a b (c) 'd' $e `f` #g \\h\"\r\n" {
		t.Fatalf("got %q", got)
	}
	if _, err := exec.LookPath("cmd.exe"); err == nil {
		t.Log("cmd.exe found but not exercised: the golden file pins its output")
	}
}

func TestFormatEnvDotenvRefusesAmbiguousValues(t *testing.T) {
	for _, bad := range []string{"'", "\\", "\n", "\r", "${HOME}"} {
		var buf bytes.Buffer
		err := FormatEnv(&buf, FormatDotenv, []EnvVar{{"AWS_SESSION_TOKEN", "tokpart" + bad}})
		if err == nil {
			t.Fatalf("dotenv accepted %q", bad)
		}
		if buf.Len() != 0 || strings.Contains(err.Error(), "tokpart") {
			t.Fatalf("partial output %q or value in error %v", buf.String(), err)
		}
	}
}

// encDotenvValues are values the dotenv format accepts, chosen to trip loaders
// that interpolate or strip comments.
var encDotenvValues = []string{
	"plain", "$HOME", "$ {HOME}", "$(id)", "`id`", "#hash", "a #b", "a=b", `"dq"`,
	"  spaces  ", "héllo 世界 🚀", "https://cwobject.com/?a=1&b=2", "%PATH%", "", "!x",
}

func encDotenvFile(t *testing.T) (string, []EnvVar) {
	t.Helper()
	vars := make([]EnvVar, len(encDotenvValues))
	for i, v := range encDotenvValues {
		vars[i] = EnvVar{fmt.Sprintf("CWT_%02d", i), v}
	}
	var buf bytes.Buffer
	if err := FormatEnv(&buf, FormatDotenv, vars); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "creds.env")
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, vars
}

// Real dotenv loaders, where installed (python-dotenv and Node's --env-file are
// not test requirements; docker compose's rules are documented in FormatEnv).
func TestFormatEnvDotenvInRealLoadersWhenInstalled(t *testing.T) {
	path, vars := encDotenvFile(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	check := func(name string, raw []byte) {
		var got map[string]string
		if err := json.Unmarshal(raw, &got); err != nil {
			t.Fatalf("%s: %v: %s", name, err, raw)
		}
		for _, v := range vars {
			if got[v.Name] != v.Value {
				t.Errorf("%s: %s = %q, want %q", name, v.Name, got[v.Name], v.Value)
			}
		}
	}
	ran := 0
	if py, err := exec.LookPath("python3"); err == nil {
		cmd := exec.CommandContext(ctx, py, "-c", "import sys, json, dotenv; print(json.dumps(dotenv.dotenv_values(sys.argv[1])))", path)
		if out, err := cmd.Output(); err == nil {
			check("python-dotenv", out)
			ran++
		} else {
			t.Logf("python-dotenv not usable (%v)", err)
		}
	}
	if node, err := exec.LookPath("node"); err == nil {
		cmd := exec.CommandContext(ctx, node, "--env-file="+path, "-e", "process.stdout.write(JSON.stringify(process.env))")
		cmd.Env = []string{"PATH=/usr/bin:/bin"}
		if out, err := cmd.Output(); err == nil {
			check("node --env-file", out)
			ran++
		} else {
			t.Logf("node --env-file not usable (%v)", err)
		}
	}
	t.Logf("checked against %d real dotenv loaders", ran)
}

func TestFormatEnvJSONDecodes(t *testing.T) {
	vars := encHostileVars()
	var buf bytes.Buffer
	if err := FormatEnv(&buf, FormatJSON, vars); err != nil {
		t.Fatal(err)
	}
	var got map[string]string
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("%v: %s", err, buf.String())
	}
	if len(got) != len(vars) {
		t.Fatalf("got %d keys, want %d", len(got), len(vars))
	}
	for _, v := range vars {
		if got[v.Name] != v.Value {
			t.Errorf("%s = %q, want %q", v.Name, got[v.Name], v.Value)
		}
	}
	// Order is kept, so the document reads like the other formats.
	if i, j := strings.Index(buf.String(), "CWT_00"), strings.Index(buf.String(), "CWT_01"); i < 0 || j < i {
		t.Fatal("JSON output lost the variable order")
	}
	buf.Reset()
	if err := FormatEnv(&buf, FormatJSON, nil); err != nil || buf.String() != "{}\n" {
		t.Fatalf("empty json = %q, %v", buf.String(), err)
	}
}

func TestFormatEnvRejectsBadInput(t *testing.T) {
	cases := map[string][]EnvVar{
		"empty name":    {{"", "v"}},
		"digit first":   {{"1AWS", "v"}},
		"dash":          {{"AWS-REGION", "v"}},
		"space":         {{"AWS REGION", "v"}},
		"injection":     {{"X=1;rm -rf /;Y", "v"}},
		"duplicate":     {{"A", "1"}, {"A", "2"}},
		"nul value":     {{"AWS_SECRET_ACCESS_KEY", "sec\x00retXYZ"}},
		"invalid utf-8": {{"AWS_SECRET_ACCESS_KEY", "sec\xffretXYZ"}},
	}
	for name, vars := range cases {
		for _, format := range EnvFormats() {
			var buf bytes.Buffer
			err := FormatEnv(&buf, format, vars)
			if err == nil {
				t.Fatalf("%s/%s: no error, output %q", name, format, buf.String())
			}
			if buf.Len() != 0 || strings.Contains(err.Error(), "retXYZ") {
				t.Fatalf("%s/%s: partial output %q or value in error %v", name, format, buf.String(), err)
			}
		}
	}
}

func TestFormatEnvUnknownFormatListsFormats(t *testing.T) {
	err := FormatEnv(&bytes.Buffer{}, "zsh-ish", []EnvVar{{"A", "b"}})
	if err == nil {
		t.Fatal("no error")
	}
	for _, f := range EnvFormats() {
		if !strings.Contains(err.Error(), f) {
			t.Fatalf("error %q does not list %s", err, f)
		}
	}
}

func TestEnvFormatsIsAFreshSlice(t *testing.T) {
	a := EnvFormats()
	a[0] = "changed"
	if EnvFormats()[0] != FormatSh {
		t.Fatal("EnvFormats shares its backing array")
	}
	for _, f := range EnvFormats() {
		if !utf8.ValidString(f) || f == "" {
			t.Fatalf("bad format name %q", f)
		}
	}
}
