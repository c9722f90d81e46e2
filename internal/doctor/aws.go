package doctor

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/cwcreds/cwcreds/internal/awsconfig"
	"github.com/cwcreds/cwcreds/internal/config"
)

// What an AWS SDK in this shell would use, in the order the SDKs try them
// (botocore: environment, assume-role, web identity, SSO, the credentials
// file, credential_process, …, the container endpoint; aws-sdk-go-v2 and the JS
// SDK agree on everything doctor names): the first source that yields keys wins.

const (
	titleAWSEnvironment    = "AWS variables in this shell"
	titleAWSProfile        = "what AWS SDKs use here"
	titleCredentialProcess = "the cwcreds credential_process runs"
)

// ecsHost is where AWS_CONTAINER_CREDENTIALS_RELATIVE_URI points.
const ecsHost = "http://169.254.170.2"

// versionTimeout bounds `cwcreds version` of the binary a profile names.
const versionTimeout = 10 * time.Second

// roleKeys make AWS tools assume a role, or log in with SSO, before they would
// run credential_process; staticKeys are keys written into a file.
var (
	roleKeys   = []string{"role_arn", "source_profile", "credential_source", "web_identity_token_file", "sso_session", "sso_start_url", "sso_account_id", "login_session"}
	staticKeys = []string{"aws_access_key_id", "aws_secret_access_key"}
)

// cpCommand is a credential_process line that runs cwcreds.
type cpCommand struct {
	awsProfile string
	file       string
	line       int
	argv       []string
	fast       bool   // cwcreds-credential-process
	profile    string // --profile, "" when absent
	config     string // --config, "" when absent
}

// awsFiles are the AWS config and credentials files as the SDKs find them.
type awsFiles struct {
	configPath, credsPath string
	config, creds         []byte
}

func (r *run) checkAWS(ctx context.Context) {
	r.checkAWSEnvironment()
	cp := r.checkAWSProfile()
	if cp == nil {
		r.add(skippedStep(StepCredentialProcess, titleCredentialProcess, "AWS SDKs here do not run cwcreds as a credential_process"))
		return
	}
	r.checkBinary(ctx, cp)
}

func (r *run) checkAWSEnvironment() {
	g := r.d.Getenv
	var probs, fixes []string
	var set []string
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"} {
		if g(k) != "" {
			set = append(set, k)
		}
	}
	if len(set) > 0 && (g("AWS_ACCESS_KEY_ID") != "" || g("AWS_SECRET_ACCESS_KEY") != "") {
		probs = append(probs, fmt.Sprintf("%s %s set in this shell: the AWS CLI and SDKs use these static keys before any profile or cwcreds (the Go SDK ignores them only when AWS_PROFILE is set)", strings.Join(set, ", "), isAre(len(set))))
		fixes = append(fixes, "unset "+strings.Join(set, " "))
	}
	if g("AWS_WEB_IDENTITY_TOKEN_FILE") != "" && g("AWS_ROLE_ARN") != "" {
		probs = append(probs, "AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE are set: AWS tools assume that role with the web identity token before running any credential_process")
		fixes = append(fixes, "unset AWS_ROLE_ARN AWS_WEB_IDENTITY_TOKEN_FILE")
	}
	if len(probs) > 0 {
		r.add(problemStep(StepAWSEnvironment, titleAWSEnvironment, "", strings.Join(probs, "; "), strings.Join(fixes, "; ")))
		return
	}
	r.add(okStep(StepAWSEnvironment, titleAWSEnvironment, "no AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY or web-identity variables set"))
}

// awsProfileName is the AWS profile the SDKs use and what chose it.
func (r *run) awsProfileName() (name, from string) {
	for _, k := range []string{"AWS_PROFILE", "AWS_DEFAULT_PROFILE"} {
		if v := r.d.Getenv(k); v != "" {
			return v, k
		}
	}
	return "default", ""
}

// checkAWSProfile finds what the SDKs use after the environment: the AWS
// profile's keys, role or credential_process, else the container endpoint. It
// returns the credential_process when that runs cwcreds.
func (r *run) checkAWSProfile() *cpCommand {
	name, from := r.awsProfileName()
	chosen := "AWS profile " + name
	if from != "" {
		chosen += " (" + from + ")"
	} else {
		chosen += " (no AWS_PROFILE)"
	}
	files, err := r.readAWSFiles()
	if err != nil {
		r.add(problemStep(StepAWSProfile, titleAWSProfile, "", err.Error(), "fix the file: AWS tools refuse it too"))
		return nil
	}
	cfgProf, inConfig, err := awsconfig.Get(files.config, name)
	if err != nil {
		r.add(problemStep(StepAWSProfile, titleAWSProfile, "", fmt.Sprintf("%s: %v", files.configPath, err), "fix the line named: the AWS CLI refuses this file"))
		return nil
	}
	credProf, inCreds, err := awsconfig.CredentialsProfile(files.creds, name)
	if err != nil {
		r.add(problemStep(StepAWSProfile, titleAWSProfile, "", fmt.Sprintf("%s: %v", files.credsPath, err), "fix the line named: the AWS CLI refuses this file"))
		return nil
	}
	use := r.useHint(files, name)
	if from != "" && !inConfig && !inCreds {
		r.add(problemStep(StepAWSProfile, titleAWSProfile, "",
			fmt.Sprintf("%s=%s names a profile that is in neither %s nor %s: AWS tools fail with \"the config profile could not be found\"", from, name, files.configPath, files.credsPath), use))
		return nil
	}
	// Both files hold profile settings; the credentials file's win (botocore
	// and the Go SDK merge them).
	cp, cpFile, cpLine := cfgProf.Values["credential_process"], files.configPath, cfgProf.Line
	if v, ok := credProf.Values["credential_process"]; inCreds && ok {
		cp, cpFile, cpLine = v, files.credsPath, credProf.Line
	}
	if keys := present(credProf.Values, staticKeys); inCreds && len(keys) > 0 {
		prob := fmt.Sprintf("%s gets the static keys (%s) in [%s] of %s line %d", chosen, strings.Join(keys, ", "), name, files.credsPath, credProf.Line)
		if cp != "" {
			prob += fmt.Sprintf(", which AWS tools use before its credential_process (%s line %d)", cpFile, cpLine)
		} else {
			prob += ", not keys from cwcreds"
		}
		r.add(problemStep(StepAWSProfile, titleAWSProfile, "", prob, fmt.Sprintf("remove the keys from [%s] in %s (keep a copy if you need them), or %s", name, files.credsPath, use)))
		return nil
	}
	if keys := present(cfgProf.Values, staticKeys); len(keys) > 0 {
		r.add(problemStep(StepAWSProfile, titleAWSProfile, "",
			fmt.Sprintf("%s sets static keys (%s) in %s line %d, which the Go, Java and JS SDKs use before any credential_process (the AWS CLI after it)", chosen, strings.Join(keys, ", "), files.configPath, cfgProf.Line),
			fmt.Sprintf("remove them from the profile, or %s", use)))
		return nil
	}
	for _, f := range []struct {
		values map[string]string
		path   string
		line   int
	}{{credProf.Values, files.credsPath, credProf.Line}, {cfgProf.Values, files.configPath, cfgProf.Line}} {
		if keys := present(f.values, roleKeys); len(keys) > 0 {
			r.add(problemStep(StepAWSProfile, titleAWSProfile, "",
				fmt.Sprintf("%s sets %s in %s line %d, which AWS tools use before any credential_process", chosen, strings.Join(keys, ", "), f.path, f.line),
				fmt.Sprintf("remove them from the profile, or %s", use)))
			return nil
		}
	}
	if cp != "" {
		c, isCwcreds, err := parseCredentialProcess(cp)
		if err != nil {
			r.add(problemStep(StepAWSProfile, titleAWSProfile, "", fmt.Sprintf("the credential_process of %s (%s line %d) cannot be split into words: %v", chosen, cpFile, cpLine, err), use))
			return nil
		}
		if !isCwcreds {
			r.add(problemStep(StepAWSProfile, titleAWSProfile, "",
				fmt.Sprintf("%s gets its keys from credential_process %s (%s line %d), which is not cwcreds", chosen, filepath.Base(c.argv[0]), cpFile, cpLine), use))
			return nil
		}
		c.awsProfile, c.file, c.line = name, cpFile, cpLine
		selects := c.profile
		if selects == "" {
			selects = r.d.Getenv(config.EnvProfile)
			if selects == "" {
				selects = config.DefaultProfileName
			}
		}
		if selects != r.profileName() {
			r.add(problemStep(StepAWSProfile, titleAWSProfile, "",
				fmt.Sprintf("%s runs cwcreds profile %s (%s line %d), not %s", chosen, selects, cpFile, cpLine, r.profileName()),
				fmt.Sprintf("check that one with `cwcreds doctor --profile %s`, or %s", selects, use)))
			return nil
		}
		if prob := r.configMismatch(c); prob != "" {
			r.add(problemStep(StepAWSProfile, titleAWSProfile, "", fmt.Sprintf("%s %s", chosen, prob), use))
			return nil
		}
		r.add(okStep(StepAWSProfile, titleAWSProfile, fmt.Sprintf("%s gets its keys from cwcreds profile %s through credential_process (%s line %d)", chosen, selects, cpFile, cpLine)))
		return &c
	}
	r.checkContainer(chosen, use)
	return nil
}

// configMismatch says when the credential_process reads another cwcreds
// config file than doctor did.
func (r *run) configMismatch(c cpCommand) string {
	if r.cfg == nil {
		return ""
	}
	if c.config != "" {
		abs := c.config
		if !filepath.IsAbs(abs) {
			abs = filepath.Join(r.workDir(), abs)
		}
		if abs != r.cfg.Path {
			return fmt.Sprintf("runs cwcreds with --config %s, but doctor read %s: run doctor with --config %s", c.config, where(r.cfg), c.config)
		}
		return ""
	}
	if r.d.ConfigFlag != "" {
		return fmt.Sprintf("runs cwcreds without --config, so it does not read %s (named by doctor's --config)", r.d.ConfigFlag)
	}
	return ""
}

// checkContainer is the last source doctor looks at: the container endpoint.
func (r *run) checkContainer(chosen, use string) {
	g := r.d.Getenv
	rel, full := g("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"), g("AWS_CONTAINER_CREDENTIALS_FULL_URI")
	none := chosen + " has no credentials"
	switch {
	case rel != "":
		prob := fmt.Sprintf("%s, so AWS SDKs get keys from the ECS container endpoint %s%s (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI), not from cwcreds", none, ecsHost, pathOnly(rel))
		if full != "" {
			prob += "; AWS_CONTAINER_CREDENTIALS_RELATIVE_URI wins over AWS_CONTAINER_CREDENTIALS_FULL_URI"
		}
		r.add(problemStep(StepAWSProfile, titleAWSProfile, "", prob, "unset AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, or "+use))
	case full != "":
		served, isCwcreds := cwcredsEndpoint(full)
		shown := showURL(full)
		switch {
		case !isCwcreds:
			r.add(problemStep(StepAWSProfile, titleAWSProfile, "",
				fmt.Sprintf("%s, so AWS SDKs get keys from the container endpoint %s (AWS_CONTAINER_CREDENTIALS_FULL_URI), which is not a cwcreds serve endpoint", none, shown),
				"unset AWS_CONTAINER_CREDENTIALS_FULL_URI and AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE, or "+use))
		case served != "" && served != r.profileName():
			r.add(problemStep(StepAWSProfile, titleAWSProfile, "",
				fmt.Sprintf("%s, so AWS SDKs get keys from cwcreds serve at %s (AWS_CONTAINER_CREDENTIALS_FULL_URI), which serves profile %s, not %s", none, shown, served, r.profileName()),
				fmt.Sprintf("point AWS_CONTAINER_CREDENTIALS_FULL_URI at .../v1/credentials/%s, or check that profile with `cwcreds doctor --profile %s`", r.profileName(), served)))
		default:
			which := "its default profile"
			if served != "" {
				which = "profile " + served
			}
			r.add(okStep(StepAWSProfile, titleAWSProfile, fmt.Sprintf("%s, so AWS SDKs get keys from cwcreds serve at %s (AWS_CONTAINER_CREDENTIALS_FULL_URI), %s", none, shown, which)))
		}
	default:
		r.add(problemStep(StepAWSProfile, titleAWSProfile, "",
			none+" and no container endpoint is set: AWS SDKs here get no keys from cwcreds (they would try EC2 instance metadata)", use))
	}
}

// useHint is the fix that makes the SDKs use cwcreds: an AWS profile already
// configured for this cwcreds profile, or configure one.
func (r *run) useHint(files awsFiles, current string) string {
	p := r.profileName()
	if ps, err := awsconfig.Profiles(files.config); err == nil {
		for _, ap := range ps {
			c, isCwcreds, err := parseCredentialProcess(ap.Values["credential_process"])
			if err == nil && isCwcreds && c.profile == p && ap.Name != current {
				return fmt.Sprintf("export AWS_PROFILE=%s, whose credential_process runs cwcreds profile %s", ap.Name, p)
			}
		}
	}
	name := p
	if name == current {
		name = "cwcreds-" + p // the AWS profile in the way keeps its name
	}
	return fmt.Sprintf("run `cwcreds configure --profile %s --aws-profile %s`, then export AWS_PROFILE=%s", p, name, name)
}

// parseCredentialProcess splits a credential_process value and reads the
// flags of cwcreds's credential-process from it.
func parseCredentialProcess(v string) (cpCommand, bool, error) {
	if strings.TrimSpace(v) == "" {
		return cpCommand{}, false, nil
	}
	argv, err := awsconfig.SplitCommand(v)
	if err != nil || len(argv) == 0 {
		if err == nil {
			err = errors.New("it is empty")
		}
		return cpCommand{}, false, err
	}
	c := cpCommand{argv: argv}
	base := strings.TrimSuffix(filepath.Base(argv[0]), ".exe")
	args := argv[1:]
	switch base {
	case "cwcreds-credential-process":
		c.fast = true
	case "cwcreds":
		if len(args) == 0 || args[0] != "credential-process" {
			return c, false, nil
		}
		args = args[1:]
	default:
		return c, false, nil
	}
	for i := 0; i < len(args); i++ {
		name, val, hasVal := strings.Cut(args[i], "=")
		var dst *string
		switch name {
		case "--profile":
			dst = &c.profile
		case "--config":
			dst = &c.config
		default:
			continue
		}
		if !hasVal && i+1 < len(args) {
			i++
			val = args[i]
		}
		*dst = val
	}
	return c, true, nil
}

// checkBinary checks the cwcreds a credential_process runs: it exists, finds
// the full binary (for cwcreds-credential-process), and is this version.
func (r *run) checkBinary(ctx context.Context, c *cpCommand) {
	prog := c.argv[0]
	where := fmt.Sprintf("the credential_process of AWS profile %s (%s line %d)", c.awsProfile, c.file, c.line)
	reconfigure := fmt.Sprintf("run `cwcreds configure --profile %s --aws-profile %s` with the cwcreds you mean to use", r.profileName(), c.awsProfile)
	if r.d.Executable != "" {
		reconfigure += " (this one is " + r.d.Executable + ")"
	}
	path, err := r.resolveProgram(prog)
	if err != nil {
		r.add(problemStep(StepCredentialProcess, titleCredentialProcess, "", fmt.Sprintf("%s runs %s, which %v", where, prog, err), reconfigure))
		return
	}
	full := path
	if c.fast {
		if full, err = r.fullBeside(path); err != nil {
			r.add(problemStep(StepCredentialProcess, titleCredentialProcess, "",
				fmt.Sprintf("%s runs %s, which cannot find the cwcreds binary it hands cold calls to: %v", where, path, err),
				"install cwcreds next to "+path+", or "+reconfigure))
			return
		}
	}
	runs := path
	if full != path {
		runs = fmt.Sprintf("%s (and %s beside it)", path, full)
	}
	if r.d.Executable != "" && sameFile(full, r.d.Executable) {
		r.add(okStep(StepCredentialProcess, titleCredentialProcess, fmt.Sprintf("%s runs %s: this cwcreds", where, runs)))
		return
	}
	vctx, cancel := context.WithTimeout(ctx, versionTimeout)
	defer cancel()
	out, err := r.d.RunVersion(vctx, full)
	if err != nil {
		r.add(problemStep(StepCredentialProcess, titleCredentialProcess, "", fmt.Sprintf("%s runs %s, and `%s version` failed: %v", where, runs, full, err), reconfigure))
		return
	}
	f := strings.Fields(out)
	if len(f) < 2 || f[0] != "cwcreds" {
		r.add(problemStep(StepCredentialProcess, titleCredentialProcess, "", fmt.Sprintf("%s runs %s, which does not say it is cwcreds (`version` printed %q)", where, runs, truncate(out, 80)), reconfigure))
		return
	}
	if f[1] != r.d.Version {
		r.add(problemStep(StepCredentialProcess, titleCredentialProcess, "",
			fmt.Sprintf("%s runs %s, which is cwcreds %s; this is cwcreds %s", where, runs, f[1], r.d.Version),
			fmt.Sprintf("install cwcreds %s at %s, or %s", r.d.Version, full, reconfigure)))
		return
	}
	r.add(okStep(StepCredentialProcess, titleCredentialProcess, fmt.Sprintf("%s runs %s: cwcreds %s, like this one", where, runs, f[1])))
}

// resolveProgram finds prog as `sh -c` would: a path with a slash as it is
// (relative to the working folder), else the first match on $PATH.
func (r *run) resolveProgram(prog string) (string, error) {
	if strings.ContainsRune(prog, '/') || (runtime.GOOS == "windows" && strings.ContainsRune(prog, '\\')) {
		p := prog
		if !filepath.IsAbs(p) {
			p = filepath.Join(r.workDir(), p)
		}
		if err := executable(p); err != nil {
			return "", err
		}
		return p, nil
	}
	for _, dir := range filepath.SplitList(r.d.Getenv("PATH")) {
		if dir == "" || !filepath.IsAbs(dir) {
			continue
		}
		p := filepath.Join(dir, prog)
		if executable(p) == nil {
			return p, nil
		}
	}
	return "", errors.New("is not on PATH")
}

// fullBeside is the cwcreds that cwcreds-credential-process at fast hands
// over to: beside it, else on PATH (internal/fastpath's order).
func (r *run) fullBeside(fast string) (string, error) {
	name := "cwcreds"
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	beside := filepath.Join(filepath.Dir(fast), name)
	if executable(beside) == nil {
		return beside, nil
	}
	if p, err := r.resolveProgram(name); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("there is no %s beside it nor on PATH", beside)
}

func executable(p string) error {
	fi, err := os.Stat(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return errors.New("does not exist")
	case err != nil:
		return fmt.Errorf("cannot be read (%v)", errors.Unwrap(err))
	case !fi.Mode().IsRegular():
		return errors.New("is not a file")
	case runtime.GOOS != "windows" && fi.Mode().Perm()&0o111 == 0:
		return errors.New("is not executable")
	}
	return nil
}

func sameFile(a, b string) bool {
	fa, err := os.Stat(a)
	if err != nil {
		return false
	}
	fb, err := os.Stat(b)
	return err == nil && os.SameFile(fa, fb)
}

func (r *run) workDir() string {
	if r.d.WorkDir != "" {
		return r.d.WorkDir
	}
	wd, _ := os.Getwd()
	return wd
}

// readAWSFiles reads the AWS config and credentials files where the SDKs look
// ($AWS_CONFIG_FILE, $AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/…); a missing
// file reads as empty.
func (r *run) readAWSFiles() (awsFiles, error) {
	var f awsFiles
	var err error
	if f.configPath, err = r.awsPath("AWS_CONFIG_FILE", "config"); err != nil {
		return f, err
	}
	if f.credsPath, err = r.awsPath("AWS_SHARED_CREDENTIALS_FILE", "credentials"); err != nil {
		return f, err
	}
	if f.config, err = readOptional(f.configPath); err != nil {
		return f, err
	}
	f.creds, err = readOptional(f.credsPath)
	return f, err
}

func (r *run) awsPath(env, name string) (string, error) {
	home := r.d.Getenv("HOME")
	if runtime.GOOS == "windows" && home == "" {
		home = r.d.Getenv("USERPROFILE")
	}
	if p := r.d.Getenv(env); p != "" {
		if strings.HasPrefix(p, "~/") && home != "" {
			p = filepath.Join(home, p[2:])
		}
		if !filepath.IsAbs(p) {
			p = filepath.Join(r.workDir(), p)
		}
		return p, nil
	}
	if home == "" {
		return "", fmt.Errorf("no HOME: cannot find ~/.aws/%s (set HOME or %s)", name, env)
	}
	return filepath.Join(home, ".aws", name), nil
}

// maxAWSFileBytes caps what is read of an AWS file.
const maxAWSFileBytes = 4 << 20

func readOptional(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("could not read %s: %v", path, errors.Unwrap(err))
	}
	if !fi.Mode().IsRegular() || fi.Size() > maxAWSFileBytes {
		return nil, fmt.Errorf("%s is not a regular file under %d bytes", path, maxAWSFileBytes)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("could not read %s: %v", path, errors.Unwrap(err))
	}
	return b, nil
}

// cwcredsEndpoint says whether a container-credentials URL looks like cwcreds
// serve's (loopback, /v1/credentials[/<profile>]) and which profile it names.
func cwcredsEndpoint(raw string) (profile string, ok bool) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return "", false
	}
	h := u.Hostname()
	if ip := net.ParseIP(h); !(h == "localhost" || ip != nil && ip.IsLoopback()) {
		return "", false
	}
	switch rest, found := strings.CutPrefix(u.Path, "/v1/credentials"); {
	case !found:
		return "", false
	case rest == "" || rest == "/":
		return "", true
	case strings.HasPrefix(rest, "/") && !strings.Contains(rest[1:], "/"):
		return rest[1:], true
	}
	return "", false
}

// showURL drops a URL's user info and query, which could hold a secret.
func showURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(an unparsable URL)"
	}
	u.User, u.RawQuery, u.Fragment = nil, "", ""
	return u.String()
}

func pathOnly(rel string) string {
	p, _, _ := strings.Cut(rel, "?")
	return p
}

func present(values map[string]string, keys []string) []string {
	var out []string
	for _, k := range keys {
		if _, ok := values[k]; ok && !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	return out
}

func isAre(n int) string {
	if n == 1 {
		return "is"
	}
	return "are"
}

func truncate(s string, n int) string {
	s = oneLine(s)
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// runVersion runs `path version` and returns the first line of its output.
func runVersion(ctx context.Context, path string) (string, error) {
	out, err := exec.CommandContext(ctx, path, "version").Output()
	if err != nil {
		return "", err
	}
	first, _, _ := strings.Cut(string(out), "\n")
	return first, nil
}
