package cli

import (
	"context"
	"fmt"
	"github.com/cwcreds/cwcreds/internal/config"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/jonboulle/clockwork"
	"go.uber.org/zap"

	"github.com/cwcreds/cwcreds/internal/cwobject"
	"github.com/cwcreds/cwcreds/internal/emulator"
	"github.com/cwcreds/cwcreds/internal/emulator/devissuer"
	"github.com/cwcreds/cwcreds/internal/fileutil"
)

// What `cwcreds dev emulator` and `cwcreds serve --dev` share: the dev token file,
// the export lines, and letting go of stdout once they are printed.

// tokenFileWriter keeps a dev-issuer token in a file and rewrites it before it
// expires, as the kubelet does for a projected service-account token (at 80% of
// its lifetime).
type tokenFileWriter struct {
	issuer   *devissuer.Issuer
	path     string
	subject  string
	lifetime time.Duration
	clock    clockwork.Clock
}

func (w *tokenFileWriter) write() error {
	token, err := w.issuer.Mint(devissuer.MintOptions{
		Subject:  w.subject,
		Audience: []string{cwobject.RecommendedAudience},
		Lifetime: w.lifetime,
	})
	if err != nil {
		return fmt.Errorf("could not mint the dev token: %w", err)
	}
	return fileutil.WriteFileAtomic(w.path, []byte(token), 0o600)
}

func (w *tokenFileWriter) run(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-w.clock.After(w.lifetime * 4 / 5):
			if err := w.write(); err != nil {
				return err
			}
		}
	}
}

type envVar struct{ name, value string }

// emulatorExports are the variables that point cwcreds and the AWS tools at emu;
// tokenFile is the dev issuer's token file.
func emulatorExports(emu *emulator.Emulator, tokenFile string) []envVar {
	return []envVar{
		{"CWCREDS_API_ENDPOINT", emu.APIURL()},
		{"CWCREDS_ORG_ID", emu.OrgID()},
		{"CW_API_TOKEN", emu.AdminToken()},
		{"CWCREDS_DEV_OIDC_ISSUER", emu.DevIssuer().URL()},
		{"CWCREDS_TOKEN_FILE", tokenFile},
		{"CWCREDS_EMULATOR", emu.APIURL() + "/_emulator"},
		// The default profile waits this long before handing out brand-new keys.
		{config.EnvPropagationDelay, emu.KeyPropagationDelay().String()},
		{"AWS_ENDPOINT_URL_S3", emu.S3URL()},
		{"AWS_REGION", emu.Region()},
		// The AWS CLI v1 and botocore read only AWS_DEFAULT_REGION.
		{"AWS_DEFAULT_REGION", emu.Region()},
	}
}

// pidExport names this process, so that `kill "$<name>"` stops it after eval.
func pidExport(name string, pid int) envVar { return envVar{name, strconv.Itoa(pid)} }

// writeExports prints POSIX shell export lines, each value single-quoted.
func writeExports(w io.Writer, vars []envVar) error {
	var b strings.Builder
	for _, v := range vars {
		fmt.Fprintf(&b, "export %s=%s\n", v.name, shellQuote(v.value))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// shellQuote quotes s for POSIX sh: inside single quotes only ' itself needs care.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// evalHelp is the help text on how to use the exports of cmd ("cwcreds serve --dev").
func evalHelp(cmd, pidVar string) string {
	return "In a terminal, it prints the export lines and serves in the foreground until Ctrl-C.\n" +
		"To set the variables in your shell and keep it serving in the background, run\n\n" +
		"  eval \"$(" + cmd + " &)\"\n\n" +
		"The '&' inside the parentheses matters: without it the shell waits for the process\n" +
		"to exit. Once the export lines are written to a stdout that is not a terminal, the\n" +
		"process lets go of it (so the shell reading it goes on) and, when started in the\n" +
		"background like this, leaves the terminal's session so that Ctrl-C at the prompt\n" +
		"does not stop it. Stop it with: kill \"$" + pidVar + "\" (SIGTERM; exit status 0).\n" +
		"Run the cwcreds binary itself there: `go run` keeps the output open until it exits.\n"
}

// releaseStdout is called once the export lines are written. See detachStdout for
// what it does; here it logs what happened and, when a shell is evidently waiting
// for this process (eval without '&'), how to fix the command.
func releaseStdout(env Env, log *zap.Logger, cmd string) {
	r := detachStdout(env.Stdout, env.Stdin)
	switch {
	case r.err != nil:
		log.Warn("could not let go of stdout after the export lines; a shell reading them waits until this process exits", zap.Error(r.err))
	case r.waitedOn:
		log.Warn("stdout is captured but this process runs in the foreground, so a shell running eval \"$(" + cmd + ")\" waits for it to exit: " +
			"press Ctrl-C and run eval \"$(" + cmd + " &)\" instead")
	case r.newSession:
		log.Info("serving in the background; stop with kill", zap.Int("pid", os.Getpid()))
	}
}
