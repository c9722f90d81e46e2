// Package fastpath is the whole of the cwcreds-credential-process binary: the warm
// answer to an AWS credential_process call, linked with nothing but the disk cache
// and the JSON encoder, because every AWS CLI call starts it anew and the start-up
// of the full cwcreds binary (its HTTP stack, metrics, emulator, SAML and YAML
// libraries) costs several times a Go hello world.
//
// When a memo (memo.go) says which profile and cache folder these arguments
// resolve to, and the disk cache holds keys that `cwcreds credential-process`
// would return without locking or exchanging, fastpath prints them. Anything
// else — no memo or a changed input, a cold or stale cache, a flag it does not
// know, --help — it hands, with the same arguments, standard streams and
// environment, to `cwcreds credential-process`, which answers and writes the memo.
package fastpath

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/jonboulle/clockwork"

	"github.com/cwcreds/cwcreds/internal/cache"
	"github.com/cwcreds/cwcreds/internal/creds"
	"github.com/cwcreds/cwcreds/internal/fileutil"
)

// Name is the file name of the small binary, without ".exe".
const Name = "cwcreds-credential-process"

// Env is what the binary gets from its process.
type Env struct {
	Args   []string // after the program name: the flags of `cwcreds credential-process`
	Getenv func(string) string
	Stdout io.Writer
	Stderr io.Writer
	Clock  clockwork.Clock // nil: the real clock
	Getwd  func() (string, error)
	// Executable is os.Executable: the full binary is looked for beside it first.
	Executable func() (string, error)
	// LookPath finds "cwcreds" on PATH when it is not beside this binary.
	LookPath func(string) (string, error)
	// HandOff replaces this process with the full binary (nil: the platform's
	// exec). It returns only on failure, or on Windows with the child's exit code.
	HandOff func(path string, args []string) (exitCode int, err error)
}

// Run answers one credential_process call and returns the exit code.
func Run(env Env) int {
	if len(env.Args) > 0 && env.Args[0] == "credential-process" {
		// Only a copy of this binary installed as cwcreds hands a call over this way;
		// handing it over again would never end.
		fmt.Fprintf(env.Stderr, "%s: this binary was run as cwcreds credential-process: install the real cwcreds next to it\n", Name)
		return 1
	}
	if out, ok := warm(env); ok {
		if _, err := env.Stdout.Write(out); err != nil {
			fmt.Fprintf(env.Stderr, "%s: could not write the credentials: %v\n", Name, err)
			return 1
		}
		return 0
	}
	return handOff(env)
}

// warm returns the credential_process JSON when the disk cache can answer alone.
func warm(env Env) ([]byte, bool) {
	opts, ok := parseArgs(env.Args)
	if !ok {
		return nil, false
	}
	res, ok := recall(env.Getenv, env.Getwd, opts.configPath, opts.profile)
	if !ok || !fileutil.IsPrivateDir(res.CacheDir) {
		return nil, false
	}
	store, err := cache.NewDiskStore(cache.DiskConfig{Dir: res.CacheDir, Clock: env.Clock})
	if err != nil {
		return nil, false
	}
	c, ok := store.Fresh(res.Key, res.Policy)
	if !ok {
		return nil, false
	}
	out, err := creds.ProcessJSON(c)
	return out, err == nil
}

type options struct {
	profile, configPath string
}

// parseArgs reads the only flags the warm path needs, in the spellings cobra
// accepts for them; anything else is left to the full binary.
func parseArgs(args []string) (options, bool) {
	var o options
	for i := 0; i < len(args); i++ {
		name, value, hasValue := strings.Cut(args[i], "=")
		var dst *string
		switch name {
		case "--profile":
			dst = &o.profile
		case "--config":
			dst = &o.configPath
		default:
			return options{}, false
		}
		if !hasValue {
			if i+1 == len(args) {
				return options{}, false
			}
			i++
			value = args[i]
		}
		*dst = value
	}
	return o, true
}

// handOff runs `cwcreds credential-process` with the same arguments.
func handOff(env Env) int {
	full, err := findFull(env)
	if err != nil {
		fmt.Fprintf(env.Stderr, "%s: %v\n", Name, err)
		return 1
	}
	run := env.HandOff
	if run == nil {
		run = execFull
	}
	code, err := run(full, append([]string{full, "credential-process"}, env.Args...))
	if err != nil {
		fmt.Fprintf(env.Stderr, "%s: could not start %s: %v\n", Name, full, err)
		return 1
	}
	return code
}

// Beside returns the cwcreds-credential-process binary installed next to the
// full cwcreds binary at full, if there is one: `cwcreds configure` writes it
// into the AWS config instead of `cwcreds credential-process`.
func Beside(full string) (string, bool) {
	fast := filepath.Join(filepath.Dir(full), exeName(Name))
	return fast, isOtherExecutable(fast, full)
}

func exeName(name string) string {
	if runtime.GOOS == "windows" {
		return name + ".exe"
	}
	return name
}

// findFull finds the full cwcreds binary: beside this one (as `go install
// ./cmd/...` and the release archives put it), else on PATH.
func findFull(env Env) (string, error) {
	name := exeName("cwcreds")
	self, err := env.Executable()
	if err == nil {
		beside := filepath.Join(filepath.Dir(self), name)
		if isOtherExecutable(beside, self) {
			return beside, nil
		}
	}
	if p, err := env.LookPath(name); err == nil {
		if abs, err := filepath.Abs(p); err == nil && isOtherExecutable(abs, self) {
			return abs, nil
		}
	}
	return "", errors.New("the cache cannot answer and the cwcreds binary is neither beside this one nor on PATH: install cwcreds next to " + Name)
}

// isOtherExecutable reports whether path is an executable file that is not self
// (a copy of this binary named cwcreds would hand off to itself forever).
func isOtherExecutable(path, self string) bool {
	fi, err := os.Stat(path)
	if err != nil || !fi.Mode().IsRegular() || (runtime.GOOS != "windows" && fi.Mode().Perm()&0o111 == 0) {
		return false
	}
	if me, err := os.Stat(self); err == nil && os.SameFile(fi, me) {
		return false
	}
	return true
}
