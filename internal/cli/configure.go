package cli

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cwcreds/cwcreds/internal/awsconfig"
	"github.com/cwcreds/cwcreds/internal/config"
	"github.com/cwcreds/cwcreds/internal/fastpath"
)

type configureOptions struct {
	profileFlags
	awsProfile string
	dryRun     bool
	executable string
}

func newConfigureCommand(env Env) *cobra.Command {
	o := &configureOptions{}
	cmd := &cobra.Command{
		Use:   "configure",
		Short: "Write a profile into the AWS config file that gets its keys from cwcreds",
		Long: "Write (or update) a profile in the AWS config file — $AWS_CONFIG_FILE, else\n" +
			"~/.aws/config — so that the AWS CLI and every AWS SDK get the cwcreds profile's keys:\n\n" +
			"  [profile NAME]\n" +
			"  credential_process = /path/to/cwcreds-credential-process --profile P\n" +
			"  endpoint_url = <the profile's S3 endpoint>\n" +
			"  region = <the profile's region>\n" +
			"  s3 =\n" +
			"      addressing_style = virtual\n\n" +
			"NAME is --aws-profile, by default the cwcreds profile's name. Every other line of\n" +
			"the file is kept byte for byte; running it again changes nothing. The previous\n" +
			"file is kept next to it with the suffix " + awsconfig.BackupSuffix + ". --dry-run shows\n" +
			"the change and writes nothing.",
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return runConfigure(env, o)
		},
	}
	o.addProfileFlags(cmd)
	f := cmd.Flags()
	f.StringVar(&o.awsProfile, "aws-profile", "", "name of the profile in the AWS config file (default: the cwcreds profile's name)")
	f.BoolVar(&o.dryRun, "dry-run", false, "print the change as a diff and write nothing")
	f.StringVar(&o.executable, "executable", "", "cwcreds binary that credential_process runs (default: this binary, symbolic links resolved); cwcreds-credential-process beside it is written instead when present")
	return cmd
}

func runConfigure(env Env, o *configureOptions) error {
	cfg, p, err := o.loadProfile(env)
	if err != nil {
		return err
	}
	awsProfile := o.awsProfile
	if awsProfile == "" {
		awsProfile = p.Name
	}
	command, err := o.credentialProcess(env, cfg, p)
	if err != nil {
		return err
	}
	settings := []awsconfig.Setting{{Key: "credential_process", Value: command}}
	if p.S3Endpoint != "" {
		settings = append(settings, awsconfig.Setting{Key: "endpoint_url", Value: p.S3Endpoint})
	}
	if p.Region != "" {
		settings = append(settings, awsconfig.Setting{Key: "region", Value: p.Region})
	}
	// CoreWeave AI Object Storage answers only virtual-hosted bucket addressing.
	s3 := []awsconfig.Setting{{Key: "addressing_style", Value: "virtual"}}

	path, err := awsConfigPath(env)
	if err != nil {
		return err
	}
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("could not read the AWS config file: %w", err)
	}
	if existing, ok, err := awsconfig.Get(old, awsProfile); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	} else if ok {
		warnShadowingKeys(env, path, existing)
	}
	updated, changed, err := awsconfig.Upsert(old, awsProfile, settings, s3)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if o.dryRun {
		if !changed {
			_, err = fmt.Fprintf(env.Stdout, "profile %s in %s is up to date; nothing would change\n", awsProfile, path)
			return err
		}
		_, err = fmt.Fprintf(env.Stdout, "--- %s\n+++ %s (after cwcreds configure)\n%s", path, path, awsconfig.Diff(old, updated))
		return err
	}
	if !changed {
		_, err = fmt.Fprintf(env.Stdout, "profile %s in %s is up to date\n", awsProfile, path)
		return err
	}
	backup, err := awsconfig.WriteWithBackup(path, updated)
	if err != nil {
		return err
	}
	msg := fmt.Sprintf("wrote profile %s to %s", awsProfile, path)
	if backup != "" {
		msg += " (previous version kept in " + backup + ")"
	}
	msg += fmt.Sprintf("\nuse it with: aws --profile %s s3 ls   (or export AWS_PROFILE=%s)\n", awsProfile, awsProfile)
	if cfg.Path == "" {
		msg += fmt.Sprintf("note: profile %s comes from the environment (there is no config file): run the AWS tools with the same CWCREDS_* variables set\n", p.Name)
	}
	_, err = io.WriteString(env.Stdout, msg)
	return err
}

// credentialProcess is the credential_process value: this binary's absolute path
// (or cwcreds-credential-process beside it) and the arguments that select the
// same profile from the same config, quoted so that botocore's shlex split and
// the SDKs' `sh -c` run the same argv.
func (o *configureOptions) credentialProcess(env Env, cfg *config.Config, p *config.Profile) (string, error) {
	exe, err := executablePath(o.executable)
	if err != nil {
		return "", err
	}
	argv := []string{exe, "credential-process", "--profile", p.Name}
	// A config file other than the default one must be named: the AWS tools will
	// not run with our --config or CWCREDS_CONFIG.
	if cfg.Path != "" && cfg.Path != defaultConfigPath(env) {
		argv = append(argv, "--config", cfg.Path)
	}
	selectsOnly := len(argv)
	// Flags that change which keys credential-process gets go along too; paths
	// as the config resolved them (absolute).
	ov := o.overrides
	if ov.APIEndpoint != "" {
		argv = append(argv, "--api-endpoint", ov.APIEndpoint)
	}
	if ov.OrgID != "" {
		argv = append(argv, "--org-id", ov.OrgID)
	}
	if ov.CABundle != "" {
		argv = append(argv, "--ca-bundle", cfg.CABundle)
	}
	if ov.CacheDir != "" {
		argv = append(argv, "--cache-dir", cfg.CacheDir)
	}
	// The small binary answers warm calls in a fraction of the time; it reads
	// only --profile and --config, and hands anything else to this one.
	if fast, ok := fastpath.Beside(exe); ok && len(argv) == selectsOnly {
		argv = append([]string{fast}, argv[2:]...)
	}
	return awsconfig.CredentialProcessCommand(runtime.GOOS == "windows", argv...)
}

// executablePath is the absolute path of the cwcreds binary, symbolic links
// resolved, so the AWS config names the real file whatever PATH holds later.
func executablePath(flag string) (string, error) {
	exe := flag
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			return "", fmt.Errorf("could not find this program's own path (%v): pass --executable /path/to/cwcreds", err)
		}
	}
	abs, err := filepath.Abs(exe)
	if err != nil {
		return "", fmt.Errorf("could not make %s absolute: %w", exe, err)
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return "", fmt.Errorf("cwcreds binary %s: %w", abs, errors.Unwrap(err))
	}
	fi, err := os.Stat(real)
	if err != nil || fi.IsDir() || (runtime.GOOS != "windows" && fi.Mode().Perm()&0o111 == 0) {
		return "", fmt.Errorf("%s is not an executable file: pass --executable with the path of the cwcreds binary", real)
	}
	return real, nil
}

// defaultConfigPath is where config.Load looks when nothing names a file.
func defaultConfigPath(env Env) string {
	home := env.Getenv("HOME")
	if home == "" {
		home, _ = os.UserHomeDir()
	}
	return config.DefaultPath(env.Getenv, home)
}

// awsConfigPath is $AWS_CONFIG_FILE, else ~/.aws/config, as the AWS tools read it.
func awsConfigPath(env Env) (string, error) {
	if p := env.Getenv(envConfigFile); p != "" {
		if strings.HasPrefix(p, "~/") {
			home, err := homeDir(env)
			if err != nil {
				return "", err
			}
			p = filepath.Join(home, p[2:])
		}
		return filepath.Abs(p)
	}
	home, err := homeDir(env)
	if err != nil {
		return "", err
	}
	return filepath.Join(home, filepath.FromSlash(defaultAWSConfig)), nil
}

func homeDir(env Env) (string, error) {
	if h := env.Getenv("HOME"); h != "" && filepath.IsAbs(h) {
		return h, nil
	}
	if runtime.GOOS == "windows" {
		if h := env.Getenv("USERPROFILE"); h != "" {
			return h, nil
		}
	}
	h, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("cannot find the home folder for ~/.aws/config: set HOME or AWS_CONFIG_FILE")
	}
	return h, nil
}

// shadowingKeys make the AWS tools take credentials from somewhere other than
// credential_process (botocore tries role_arn, web identity and SSO first;
// static keys win in the Go SDK).
var shadowingKeys = []string{
	"aws_access_key_id", "aws_secret_access_key", "aws_session_token", "role_arn", "source_profile",
	"credential_source", "web_identity_token_file", "sso_session", "sso_start_url", "sso_account_id",
}

func warnShadowingKeys(env Env, path string, p awsconfig.Profile) {
	var found []string
	for _, k := range shadowingKeys {
		if _, ok := p.Values[k]; ok {
			found = append(found, k)
		}
	}
	if len(found) == 0 {
		return
	}
	sort.Strings(found)
	fmt.Fprintf(env.Stderr, "cwcreds: warning: profile %s in %s (line %d) also sets %s, which AWS tools may use instead of credential_process: remove them, or pick another --aws-profile\n",
		p.Name, path, p.Line, strings.Join(found, ", "))
}
