package exchange

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/cwcreds/cwcreds/internal/redact"
)

const (
	// DefaultCommandTimeout bounds one run of a token command.
	DefaultCommandTimeout = 30 * time.Second
	// commandWaitDelay is how long, after the command and what was left of its
	// process group are gone, its stdout may stay open (held by a process that left
	// the group, e.g. with setsid) before cwcreds closes it and stops reading.
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
// sources. The command runs on every call, in its own process group (on Unix):
// when Timeout passes the whole group is killed, and when the command exits
// whatever it left running in its group is killed too, so no background child
// outlives the call or holds its output open. Its stderr goes, live and
// unchanged, to Stderr (as kubectl passes on its exec plugins' stderr) and is
// never kept: errors say that it failed, how, and where its stderr went, and
// quote neither its stdout nor its stderr, which are arbitrary text that may
// hold secrets.
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
	// Stderr receives the command's stderr as it writes it, through a pipe (the
	// command never holds Stderr itself). Nil discards it.
	Stderr io.Writer
	// StderrName says in errors where Stderr goes, e.g. "cwcreds's stderr".
	StderrName string
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
	cmd.WaitDelay = commandWaitDelay
	setProcessGroup(cmd)

	runErr := c.run(cmd, stdout)
	out := stdout.buf.Bytes()
	if runErr != nil {
		return "", c.runError(runCtx, ctx, timeout, runErr, out)
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

// run starts cmd with its stdout into stdout and its stderr to c.Stderr, and
// returns the command's own result once it has exited, what it left in its
// process group has been killed, and its stdout has been read to the end (or,
// held open by a process outside the group, closed after commandWaitDelay).
func (c *TokenCommand) run(cmd *exec.Cmd, stdout io.Writer) error {
	type pipe struct {
		r, w *os.File
		to   io.Writer
	}
	var pipes []pipe
	closeAll := func() {
		for _, p := range pipes {
			p.r.Close()
			p.w.Close()
		}
	}
	// Pipes of our own rather than os/exec's copying goroutines: Wait then
	// returns when the command exits, not when the last holder of its output
	// does, so the group can be killed at once.
	newPipe := func(to io.Writer) (*os.File, error) {
		r, w, err := os.Pipe()
		if err != nil {
			return nil, err
		}
		pipes = append(pipes, pipe{r: r, w: w, to: to})
		return w, nil
	}
	var err error
	if cmd.Stdout, err = newPipe(stdout); err != nil {
		closeAll()
		return err
	}
	// Even an *os.File gets a pipe: the command's children never hold our own
	// stderr (a caller such as the AWS CLI reads it to the end), only a pipe we
	// close in the end.
	if c.Stderr != nil {
		if cmd.Stderr, err = newPipe(c.Stderr); err != nil {
			closeAll()
			return err
		}
	}
	if err := cmd.Start(); err != nil {
		closeAll()
		return err
	}
	var copies sync.WaitGroup
	for _, p := range pipes {
		p.w.Close() // the command holds its own copy
		copies.Go(func() { _, _ = io.Copy(p.to, p.r) })
	}
	copied := make(chan struct{})
	go func() { copies.Wait(); close(copied) }()

	runErr := waitAndKillGroup(cmd)
	timer := time.NewTimer(commandWaitDelay)
	defer timer.Stop()
	select {
	case <-copied:
	case <-timer.C:
		for _, p := range pipes {
			p.r.Close() // ends the blocked Read
		}
		<-copied
	}
	for _, p := range pipes {
		p.r.Close()
	}
	return runErr
}

// runError explains a failed run. It quotes neither stdout nor stderr: stderr
// has been passed on (see stderrNote), and either may hold secrets.
func (c *TokenCommand) runError(runCtx, parent context.Context, timeout time.Duration, err error, stdout []byte) error {
	note := " (" + c.stderrNote() + ")"
	name := c.name()
	switch {
	case parent.Err() != nil:
		return transientErr("token command "+name+" was stopped", parent.Err())
	case errors.Is(runCtx.Err(), context.DeadlineExceeded):
		return transientErr("token command "+name+" timed out",
			errors.New(fmt.Sprintf("no answer within %s, so it was killed with its process group; check that it does not wait for input", timeout)+note))
	case errors.Is(err, exec.ErrNotFound), errors.Is(err, os.ErrNotExist):
		return identityErr("token command "+name+" cannot be run", errors.New("it was not found: check the path or PATH"))
	case errors.Is(err, os.ErrPermission):
		return identityErr("token command "+name+" cannot be run", errors.New("it is not executable"))
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return transientErr("token command "+name+" failed", errors.New(ee.ProcessState.String()+note))
	}
	return transientErr("token command "+name+" failed", errors.New(redact.Text(err.Error(), stdoutSecrets(stdout), 200)))
}

// stderrNote says where the command's stderr went.
func (c *TokenCommand) stderrNote() string {
	switch {
	case c.Stderr == nil:
		return "its stderr was discarded"
	case c.StderrName != "":
		return "its stderr was passed through to " + c.StderrName
	default:
		return "its stderr was passed through"
	}
}

// stdoutSecrets lists what an error must not echo: the whole stdout and its lines.
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

// cappedBuffer keeps the first limit bytes written to it and drops the rest
// (still accepting them, so the writer never blocks).
type cappedBuffer struct {
	buf      bytes.Buffer
	limit    int64
	overflow bool
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	n := len(p)
	room := b.limit - int64(b.buf.Len())
	if int64(len(p)) > room {
		p = p[:max(room, 0)]
		b.overflow = true
	}
	b.buf.Write(p)
	return n, nil
}
