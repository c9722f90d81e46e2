package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newConfigCommand(env Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Check and show the profiles configuration",
		Long: "Profiles live in a YAML file, by default $XDG_CONFIG_HOME/cwcreds/config.yaml\n" +
			"(~/.config/cwcreds/config.yaml), or the file named by --config or $CWCREDS_CONFIG.\n" +
			"Without a file, a `default` profile is built from CWCREDS_TOKEN_FILE and\n" +
			"CWCREDS_ORG_ID, or from CW_API_TOKEN. Precedence: flag > CWCREDS_* environment >\n" +
			"file > default.",
	}
	cmd.AddCommand(newConfigValidateCommand(env), newConfigShowCommand(env))
	return cmd
}

func newConfigValidateCommand(env Env) *cobra.Command {
	f := &profileFlags{}
	cmd := &cobra.Command{
		Use:   "validate",
		Short: "Check the configuration; print `ok: N profiles` or the first problem with its line",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			cfg, err := f.load(env)
			if err != nil {
				return err
			}
			n := len(cfg.ProfileNames())
			noun := "profiles"
			if n == 1 {
				noun = "profile"
			}
			_, err = fmt.Fprintf(env.Stdout, "ok: %d %s\n", n, noun)
			return err
		},
	}
	f.addConfigFlag(cmd)
	return cmd
}

type configShowOptions struct {
	profileFlags
}

func newConfigShowCommand(env Env) *cobra.Command {
	o := &configShowOptions{}
	cmd := &cobra.Command{
		Use:   "show",
		Short: "Print the effective configuration as YAML, with where each value came from",
		Long: "Print the effective configuration — every flag, environment variable, file value\n" +
			"and default applied — as YAML, each value followed by a comment naming its origin.\n" +
			"With --profile only that profile is shown. Secrets are never printed: the config\n" +
			"holds only references to them, and anything that looks like one is <redacted>.",
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			cfg, err := o.load(env)
			if err != nil {
				return err
			}
			out, err := cfg.Show(o.overrides.Profile)
			if err != nil {
				return err
			}
			_, err = env.Stdout.Write(out)
			return err
		},
	}
	o.addProfileFlags(cmd)
	return cmd
}
