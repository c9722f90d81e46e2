package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cwcreds/cwcreds/internal/config"
	"github.com/cwcreds/cwcreds/internal/cwobject"
	"github.com/cwcreds/cwcreds/internal/exchange"
	"github.com/cwcreds/cwcreds/internal/logging"
	"github.com/cwcreds/cwcreds/internal/output"
)

// The admin commands (keys, policies, buckets, org, can-i) call the CoreWeave
// API with an API token. This file is what they share: the flags, where the
// token and the endpoint come from, and -o.

// Keyring entry an admin API token is read from when nothing else gives one.
const (
	adminKeyringService = exchange.DefaultKeyringService
	adminKeyringUser    = "api-token"
)

// adminFlags are the flags every admin command takes.
type adminFlags struct {
	configPath   string
	profile      string
	apiEndpoint  string
	caBundle     string
	apiTokenFile string
	output       string
}

// addAdminFlags adds the shared flags to a command group, for all its commands.
func (f *adminFlags) addAdminFlags(cmd *cobra.Command) {
	fl := cmd.PersistentFlags()
	fl.StringVar(&f.configPath, "config", "", "config file (default $"+config.EnvConfig+", else $XDG_CONFIG_HOME/cwcreds/config.yaml)")
	fl.StringVar(&f.profile, "profile", "", "profile whose API endpoint, CA bundle and api_token source to use (default $"+config.EnvProfile+", else the file's default)")
	fl.StringVar(&f.apiEndpoint, "api-endpoint", "", "CoreWeave API URL (overrides $"+config.EnvAPIEndpoint+" and the config file)")
	fl.StringVar(&f.caBundle, "ca-bundle", "", "extra CA certificates, PEM (overrides $"+config.EnvCABundle+" and the config file)")
	fl.StringVar(&f.apiTokenFile, "api-token-file", "", "file holding the CoreWeave API token (default: $"+exchange.DefaultAPITokenEnv+", the profile's api_token source, the OS keyring)")
	fl.StringVarP(&f.output, "output", "o", string(output.Table), "output format: table, json or yaml")
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return withExitCode(&inputError{fmt.Errorf("%w (see '%s --help')", err, c.CommandPath())})
	})
}

// printer is the -o printer for env's stdout.
func (f *adminFlags) printer(env Env) (output.Printer, error) {
	format, err := output.ParseFormat(f.output)
	if err != nil {
		return output.Printer{}, &inputError{err}
	}
	return output.NewPrinter(env.Stdout, format), nil
}

// adminTarget is where admin calls go and what they carry.
type adminTarget struct {
	endpoint, caBundle string
	profile            *config.Profile // nil when no profile applies
	profileNamed       bool            // --profile or $CWCREDS_PROFILE chose it
}

// target resolves the endpoint and profile. The config file is read when there
// is one, or when --config, --profile or their variables name one; otherwise
// the endpoint comes from the flags and environment alone, so that an admin
// needs no config file at all.
func (f *adminFlags) target(env Env) (adminTarget, error) {
	named := f.profile != "" || env.Getenv(config.EnvProfile) != ""
	if f.configPath == "" && env.Getenv(config.EnvConfig) == "" && !named {
		path := config.DefaultPath(env.Getenv, env.Getenv("HOME"))
		if _, err := os.Stat(path); path == "" || errors.Is(err, os.ErrNotExist) {
			t := adminTarget{endpoint: firstNonEmpty(f.apiEndpoint, env.Getenv(config.EnvAPIEndpoint), config.DefaultAPIEndpoint),
				caBundle: firstNonEmpty(f.caBundle, env.Getenv(config.EnvCABundle))}
			return t, nil
		}
	}
	cfg, err := config.Load(config.LoadOptions{Path: f.configPath, Getenv: env.Getenv,
		Flags: config.Overrides{APIEndpoint: f.apiEndpoint, CABundle: f.caBundle, Profile: f.profile}})
	if err != nil {
		return adminTarget{}, err
	}
	p, err := cfg.Profile("")
	if err != nil {
		if named {
			return adminTarget{}, &inputError{err}
		}
		// A file without a usable default profile still gives the globals.
		return adminTarget{endpoint: cfg.APIEndpoint, caBundle: cfg.CABundle}, nil
	}
	return adminTarget{endpoint: p.APIEndpoint, caBundle: p.CABundle, profile: p, profileNamed: named}, nil
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// token finds the API token, in this order: --api-token-file; the api_token
// source of a profile named by --profile or $CWCREDS_PROFILE; $CW_API_TOKEN; the
// default profile's api_token source; the OS keyring (service cwcreds, user
// api-token). The first place that is set is used: when it cannot be read, the
// error says so rather than trying the next one.
func (f *adminFlags) token(ctx context.Context, env Env, t adminTarget) (string, error) {
	var src *exchange.APIToken
	profileSource := func() *exchange.APIToken {
		if t.profile != nil && t.profile.Source.Type == config.SourceAPIToken && t.profile.Source.APIToken != nil {
			return exchange.NewAPIToken(t.profile.Source.APIToken, env.Getenv, env.Keyring)
		}
		return nil
	}
	switch {
	case f.apiTokenFile != "":
		src = &exchange.APIToken{File: f.apiTokenFile}
	case t.profileNamed && profileSource() != nil:
		src = profileSource()
	case env.Getenv(exchange.DefaultAPITokenEnv) != "":
		src = &exchange.APIToken{Getenv: env.Getenv}
	case profileSource() != nil:
		src = profileSource()
	default:
		src = &exchange.APIToken{KeyringService: adminKeyringService, KeyringUser: adminKeyringUser, Keyring: env.Keyring}
		tok, err := src.Token(ctx)
		if err != nil {
			return "", invalidInput("no CoreWeave API token: export %s, pass --api-token-file, name a profile with an api_token source (--profile), "+
				"or store the token in the OS keyring (service %s, user %s)", exchange.DefaultAPITokenEnv, adminKeyringService, adminKeyringUser)
		}
		return tok, nil
	}
	tok, err := src.Token(ctx)
	if err != nil {
		return "", &inputError{fmt.Errorf("no usable API token: %w", err)}
	}
	return tok, nil
}

// open is what every admin command starts with: the output printer (checked first,
// so a bad -o is refused before any token lookup or call) and the API client.
func (f *adminFlags) open(ctx context.Context, env Env) (output.Printer, *cwobject.Client, error) {
	p, err := f.printer(env)
	if err != nil {
		return output.Printer{}, nil, err
	}
	c, err := f.client(ctx, env)
	if err != nil {
		return output.Printer{}, nil, err
	}
	return p, c, nil
}

// client is an API client for the admin commands.
func (f *adminFlags) client(ctx context.Context, env Env) (*cwobject.Client, error) {
	t, err := f.target(env)
	if err != nil {
		return nil, err
	}
	tok, err := f.token(ctx, env, t)
	if err != nil {
		return nil, err
	}
	hc, err := exchange.NewHTTPClient(exchange.HTTPOptions{CABundle: t.caBundle, Getenv: env.Getenv})
	if err != nil {
		return nil, &inputError{err}
	}
	// Warnings about values the server sent that cwcreds does not know.
	logger, err := logging.New(env.Stderr, "warn")
	if err != nil {
		return nil, err
	}
	c, err := cwobject.New(cwobject.Config{BaseURL: t.endpoint, HTTPClient: hc, UserAgent: "cwcreds/" + env.Version,
		Token: tok, Logger: logger})
	if err != nil {
		return nil, &inputError{fmt.Errorf("API endpoint %s: %w", t.endpoint, err)}
	}
	return c, nil
}

// adminGroup is a command that only holds subcommands: an unknown subcommand
// is an input error, no subcommand prints the help.
func adminGroup(use, short, long string, f *adminFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Long:  long,
		Args:  cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				var names []string
				for _, c := range cmd.Commands() {
					if c.IsAvailableCommand() {
						names = append(names, c.Name())
					}
				}
				return withExitCode(invalidInput("unknown command %q for %s: use %s", args[0], cmd.CommandPath(), strings.Join(names, ", ")))
			}
			return cmd.Help()
		},
	}
	f.addAdminFlags(cmd)
	return cmd
}

// exactArgs is cobra.ExactArgs whose error is an input error.
func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return withExitCode(invalidInput("%s takes %s (see '%s --help')", cmd.CommandPath(), what, cmd.CommandPath()))
		}
		return nil
	}
}

// noArgs is cobra.NoArgs whose error is an input error.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return withExitCode(invalidInput("%s takes no arguments, got %q (see '%s --help')", cmd.CommandPath(), args[0], cmd.CommandPath()))
	}
	return nil
}
