package creds

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Env formats understood by FormatEnv.
const (
	FormatSh         = "sh"         // export K='v'         (POSIX sh, bash, zsh, dash, ksh)
	FormatFish       = "fish"       // set -gx K 'v';
	FormatPowerShell = "powershell" // $Env:K = 'v'
	FormatCmd        = "cmd"        // set "K=v"            (Windows cmd.exe)
	FormatDotenv     = "dotenv"     // K='v'                (docker compose --env-file, python-dotenv, node --env-file)
	FormatJSON       = "json"       // {"K": "v"}
)

// EnvFormats lists the formats FormatEnv accepts, in the order help text shows them.
func EnvFormats() []string {
	return []string{FormatSh, FormatFish, FormatPowerShell, FormatCmd, FormatDotenv, FormatJSON}
}

// FormatEnv writes vars to w in format (one of EnvFormats), quoted so that the
// shell or loader reads back exactly the given bytes:
//
//   - sh: `export K='v'`; each ' is written as close-quote, backslash-quote, reopen.
//     Newlines, $, backticks and backslashes are literal inside single quotes.
//   - fish: `set -gx K 'v';`; inside fish single quotes only \\ and \' are escapes.
//   - powershell: `$Env:K = 'v'`; quote characters are doubled. PowerShell also
//     ends a single-quoted string at the typographic quotes U+2018, U+2019, U+201A
//     and U+201B, so those are doubled too.
//   - cmd: `set "K=v"`. cmd.exe has no escape that survives both an interactive
//     prompt and a batch file, so values holding " % ! ^ & | < > or a line break,
//     and empty values (which would unset the variable), are refused. Lines end
//     in CRLF, as batch files expect.
//   - dotenv: `K='v'`. Single-quoted values are taken literally (no $ interpolation)
//     by docker compose, python-dotenv and Node's --env-file, but those loaders
//     disagree on escapes inside quotes, so values holding ', \ or a line break are
//     refused rather than written in a form one of them misreads. python-dotenv
//     expands ${NAME} even inside single quotes and has no escape for it, so values
//     holding "${" are refused too.
//   - json: one object mapping names to values, in the given order.
//
// Names must be [A-Za-z_][A-Za-z0-9_]* and appear once. Values must be UTF-8
// without NUL (an environment cannot carry NUL). Errors name the variable and never
// show its value. Nothing is written when an error is returned.
func FormatEnv(w io.Writer, format string, vars []EnvVar) error {
	seen := make(map[string]bool, len(vars))
	for _, v := range vars {
		if !validEnvName(v.Name) {
			return fmt.Errorf("environment variable name %q is not valid: use letters, digits and _ only, not starting with a digit", v.Name)
		}
		if seen[v.Name] {
			return fmt.Errorf("environment variable %s is given twice: pass each variable once", v.Name)
		}
		seen[v.Name] = true
		if !utf8.ValidString(v.Value) {
			return fmt.Errorf("the value of %s is not valid UTF-8 and cannot be printed safely", v.Name)
		}
		if strings.IndexByte(v.Value, 0) >= 0 {
			return fmt.Errorf("the value of %s contains a NUL byte, which no environment can hold", v.Name)
		}
	}
	var buf bytes.Buffer
	var err error
	switch format {
	case FormatSh:
		for _, v := range vars {
			buf.WriteString("export " + v.Name + "=" + ShQuote(v.Value) + "\n")
		}
	case FormatFish:
		for _, v := range vars {
			buf.WriteString("set -gx " + v.Name + " " + fishQuote(v.Value) + ";\n")
		}
	case FormatPowerShell:
		for _, v := range vars {
			buf.WriteString("$Env:" + v.Name + " = " + powerShellQuote(v.Value) + "\n")
		}
	case FormatCmd:
		err = writeCmd(&buf, vars)
	case FormatDotenv:
		err = writeDotenv(&buf, vars)
	case FormatJSON:
		err = writeEnvJSON(&buf, vars)
	default:
		return fmt.Errorf("unknown env format %q: use one of %s", format, strings.Join(EnvFormats(), ", "))
	}
	if err != nil {
		return err
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("could not write environment: %w", err)
	}
	return nil
}

func validEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_', c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// ShQuote quotes s as one POSIX shell word: inside single quotes every byte is
// literal, and each single quote is written as close-quote, backslash-quote, reopen.
func ShQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// fishQuote: in fish single quotes, \\ and \' are the only escapes; everything else
// (including newlines and $) is literal.
func fishQuote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `'`, `\'`)
	return "'" + r.Replace(s) + "'"
}

// powerShellQuote doubles every character PowerShell treats as a single quote.
func powerShellQuote(s string) string {
	var b strings.Builder
	b.WriteByte('\'')
	for _, r := range s {
		switch r {
		case '\'', '\u2018', '\u2019', '\u201a', '\u201b':
			b.WriteRune(r)
		}
		b.WriteRune(r)
	}
	b.WriteByte('\'')
	return b.String()
}

func writeCmd(buf *bytes.Buffer, vars []EnvVar) error {
	for _, v := range vars {
		if v.Value == "" {
			return fmt.Errorf("%s is empty, and cmd's set would delete it instead: use --format powershell", v.Name)
		}
		if i := strings.IndexFunc(v.Value, func(r rune) bool {
			return strings.ContainsRune(`"%!^&|<>`, r) || r < 0x20 || r == 0x7f
		}); i >= 0 {
			return fmt.Errorf("the value of %s contains a character cmd cannot carry safely (one of \" %% ! ^ & | < > or a control character): use --format powershell", v.Name)
		}
		buf.WriteString(`set "` + v.Name + "=" + v.Value + "\"\r\n")
	}
	return nil
}

func writeDotenv(buf *bytes.Buffer, vars []EnvVar) error {
	for _, v := range vars {
		if strings.ContainsAny(v.Value, "'\\\r\n") || strings.Contains(v.Value, "${") {
			return fmt.Errorf("the value of %s contains a quote, backslash, line break or ${, which dotenv loaders read differently: use --format json or sh", v.Name)
		}
		buf.WriteString(v.Name + "='" + v.Value + "'\n")
	}
	return nil
}

func writeEnvJSON(buf *bytes.Buffer, vars []EnvVar) error {
	if len(vars) == 0 {
		buf.WriteString("{}\n")
		return nil
	}
	buf.WriteString("{\n")
	for i, v := range vars {
		var s bytes.Buffer
		enc := json.NewEncoder(&s)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v.Value); err != nil {
			return fmt.Errorf("could not encode %s as JSON: %w", v.Name, err)
		}
		buf.WriteString(`  "` + v.Name + `": ` + strings.TrimSuffix(s.String(), "\n"))
		if i < len(vars)-1 {
			buf.WriteByte(',')
		}
		buf.WriteByte('\n')
	}
	buf.WriteString("}\n")
	return nil
}
