package exchange

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/jonboulle/clockwork"
)

const (
	// DefaultCommandTimeout bounds one run of a token command.
	DefaultCommandTimeout = 30 * time.Second
	// maxStderrBytes is how much of a failing command's stderr an error keeps.
	maxStderrBytes = 2 << 10
	// commandWaitDelay is how long, after the command is killed or exits, its output
	// pipes may stay open (held by a grandchild) before they are closed.
	commandWaitDelay = 2 * time.Second
)

// Token command output formats.
const (
	FormatJWT            = "jwt"
	FormatExecCredential = "exec_credential"
)

// ExecCredential API versions accepted on a token command's output.
var execCredentialVersions = []string{
	"client.authentication.k8s.io/v1",
	"client.authentication.k8s.io/v1beta1",
}

// TokenCommand runs a command (no shell) that prints an OIDC JWT on stdout — bare
// (Format "jwt") or inside a Kubernetes ExecCredential (Format "exec_credential",
// status.token), so that kubelogin, cloud CLIs and CI tools can be identity
// sources. The command runs on every call, in its own process group, killed as a
// group when Timeout passes. Errors include its stderr (trimmed, capped, with the
// token redacted) and never its stdout.
type TokenCommand struct {
	// Argv is the program and its arguments; Argv[0] is looked up in PATH.
	Argv []string
	// Timeout bounds one run, default DefaultCommandTimeout. It runs on wall time:
	// it bounds a real process.
	Timeout time.Duration
	// Format is FormatJWT (default) or FormatExecCredential.
	Format string
	// Env entries ("NAME=value") are added to the inherited environment.
	Env []string
	// Environ is the inherited environment, default os.Environ.
	Environ func() []string
	// Dir is the working directory, default the current one.
	Dir string
	// MaxBytes caps stdout, default DefaultMaxTokenBytes.
	MaxBytes int64
	// Clock decides whether the printed token has expired.
	Clock clockwork.Clock
}

// Describe names what the source yields.
func (c *TokenCommand) Describe() string { return "the JWT printed by token command " + c.name() }

func (c *TokenCommand) name() string {
	if len(c.Argv) == 0 {
		return "(none)"
	}
	return filepath.Base(c.Argv[0])
}

// Token runs the command and returns the JWT it printed. A command that fails,
// hangs or prints garbage gives a transient error: the command itself may depend
// on the network or a login that comes back.
func (c *TokenCommand) Token(ctx context.Context) (string, error) {
	if len(c.Argv) == 0 || c.Argv[0] == "" {
		return "", identityErr("no token command configured", errors.New("set the command to run"))
	}
	switch c.Format {
	case "", FormatJWT, FormatExecCredential:
	default:
		return "", identityErr(fmt.Sprintf("token command format %q is unknown", c.Format),
			fmt.Errorf("use %q or %q", FormatJWT, FormatExecCredential))
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultCommandTimeout
	}
	limit := c.MaxBytes
	if limit <= 0 {
		limit = DefaultMaxTokenBytes
	}
	runCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	cmd := exec.CommandContext(runCtx, c.Argv[0], c.Argv[1:]...)
	environ := c.Environ
	if environ == nil {
		environ = os.Environ
	}
	cmd.Env = append(environ(), c.Env...)
	cmd.Dir = c.Dir
	cmd.Stdin = nil // the null device: never wait for input
	stdout := &cappedBuffer{limit: limit}
	stderr := &cappedBuffer{limit: maxStderrBytes, keepTail: true}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.WaitDelay = commandWaitDelay
	setProcessGroup(cmd)

	runErr := cmd.Run()
	out := stdout.buf.Bytes()
	if runErr != nil {
		return "", c.runError(runCtx, ctx, timeout, runErr, stderr, out)
	}
	if stdout.overflow {
		return "", transientErr("token command "+c.name()+" printed too much",
			fmt.Errorf("more than %d bytes on stdout; it must print the token alone", limit))
	}
	tok, err := c.parse(out)
	if err != nil {
		return "", transientErr("token command "+c.name()+" did not print a usable token", err)
	}
	clock := orReal(c.Clock)
	if _, err := CheckJWT(tok, clock.Now()); err != nil {
		return "", transientErr("token command "+c.name()+" did not print a usable JWT", err)
	}
	return tok, nil
}

// runError explains a failed run with the command's stderr, never its stdout.
func (c *TokenCommand) runError(runCtx, parent context.Context, timeout time.Duration, err error, stderr *cappedBuffer, stdout []byte) error {
	secrets := stdoutSecrets(stdout)
	msg := cleanText(stderr.String(), secrets, maxStderrBytes)
	withStderr := func(s string) string {
		if msg == "" {
			return s + " (no stderr)"
		}
		return s + "; stderr: " + msg
	}
	name := c.name()
	switch {
	case parent.Err() != nil:
		return transientErr("token command "+name+" was stopped", parent.Err())
	case errors.Is(runCtx.Err(), context.DeadlineExceeded):
		return transientErr("token command "+name+" timed out",
			errors.New(withStderr(fmt.Sprintf("no answer within %s, so it was killed; check that it does not wait for input", timeout))))
	case errors.Is(err, exec.ErrNotFound), errors.Is(err, os.ErrNotExist):
		return identityErr("token command "+name+" cannot be run", errors.New("it was not found: check the path or PATH"))
	case errors.Is(err, os.ErrPermission):
		return identityErr("token command "+name+" cannot be run", errors.New("it is not executable"))
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return transientErr("token command "+name+" failed", errors.New(withStderr(ee.ProcessState.String())))
	}
	return transientErr("token command "+name+" failed", errors.New(withStderr(cleanText(err.Error(), secrets, 200))))
}

// stdoutSecrets lists what stderr must not echo: the whole stdout and its lines.
func stdoutSecrets(stdout []byte) []string {
	s := []string{string(stdout)}
	for _, l := range strings.Split(string(stdout), "\n") {
		s = append(s, strings.TrimSpace(l))
	}
	var ec execCredential
	if json.Unmarshal(stdout, &ec) == nil && ec.Status.Token != "" {
		s = append(s, ec.Status.Token)
	}
	return s
}

type execCredential struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Status     struct {
		Token string `json:"token"`
	} `json:"status"`
}

func (c *TokenCommand) parse(out []byte) (string, error) {
	if c.Format != FormatExecCredential {
		tok := strings.TrimSpace(string(out))
		if tok == "" {
			return "", errors.New("stdout was empty; it must print the JWT")
		}
		return tok, nil
	}
	return ParseExecCredential(out)
}

// ParseExecCredential returns status.token of a Kubernetes ExecCredential
// (client.authentication.k8s.io/v1 or v1beta1). Errors never quote the input.
func ParseExecCredential(out []byte) (string, error) {
	var ec execCredential
	if err := json.Unmarshal(bytes.TrimSpace(out), &ec); err != nil {
		return "", errors.New("stdout is not an ExecCredential JSON object (or set the format to jwt)")
	}
	if ec.Kind != "" && ec.Kind != "ExecCredential" {
		return "", errors.New("stdout is JSON but its kind is not ExecCredential")
	}
	known := false
	for _, v := range execCredentialVersions {
		known = known || ec.APIVersion == v
	}
	if !known {
		return "", fmt.Errorf("ExecCredential apiVersion is not one of %s", strings.Join(execCredentialVersions, ", "))
	}
	tok := strings.TrimSpace(ec.Status.Token)
	if tok == "" {
		return "", errors.New("the ExecCredential has no status.token (client certificates cannot be exchanged)")
	}
	return tok, nil
}

// cappedBuffer keeps at most limit bytes: the first ones, or with keepTail the
// last ones (the end of stderr usually says what went wrong).
type cappedBuffer struct {
	buf      bytes.Buffer
	limit    int64
	keepTail bool
	overflow bool
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	n := len(p)
	if b.keepTail {
		b.buf.Write(p)
		if over := int64(b.buf.Len()) - b.limit; over > 0 {
			rest := append([]byte(nil), b.buf.Bytes()[over:]...)
			b.buf.Reset()
			b.buf.Write(rest)
			b.overflow = true
		}
		return n, nil
	}
	room := b.limit - int64(b.buf.Len())
	if int64(len(p)) > room {
		p = p[:max(room, 0)]
		b.overflow = true
	}
	b.buf.Write(p)
	return n, nil
}

func (b *cappedBuffer) String() string { return b.buf.String() }
