package cli

import (
	"github.com/spf13/cobra"

	"github.com/cwcreds/cwcreds/internal/config"
)

// profileFlags are the flags every command that works on profiles shares:
// --config and --profile, and optionally the overrides of the global settings.
// Loading goes through config.Load, which applies flag > env > file > default.
type profileFlags struct {
	configPath string
	overrides  config.Overrides // Profile holds --profile
}

// addFlags adds --config and --profile.
func (f *profileFlags) addFlags(cmd *cobra.Command) {
	f.addConfigFlag(cmd)
	cmd.Flags().StringVar(&f.overrides.Profile, "profile", "", "profile to use (default $"+config.EnvProfile+", else the file's default_profile, else \"default\")")
}

// addProfileFlags adds --config, --profile and the flags that override the
// global settings: what every command working on one profile takes.
func (f *profileFlags) addProfileFlags(cmd *cobra.Command) {
	f.addFlags(cmd)
	f.addOverrideFlags(cmd)
}

// addConfigFlag adds --config alone, for commands that work on every profile.
func (f *profileFlags) addConfigFlag(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.configPath, "config", "", "config file (default $"+config.EnvConfig+", else $XDG_CONFIG_HOME/cwcreds/config.yaml)")
}

// addOverrideFlags adds flags that override the global settings of every profile.
func (f *profileFlags) addOverrideFlags(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.overrides.APIEndpoint, "api-endpoint", "", "CoreWeave API URL (overrides $"+config.EnvAPIEndpoint+" and the config file)")
	fl.StringVar(&f.overrides.OrgID, "org-id", "", "organisation id (overrides $"+config.EnvOrgID+" and the config file)")
	fl.StringVar(&f.overrides.S3Endpoint, "s3-endpoint", "", "S3 endpoint URL (overrides $"+config.EnvS3Endpoint+" and the config file)")
	fl.StringVar(&f.overrides.Region, "region", "", "S3 region (overrides $"+config.EnvRegion+" and the config file)")
	fl.StringVar(&f.overrides.CABundle, "ca-bundle", "", "extra CA certificates, PEM (overrides $"+config.EnvCABundle+" and the config file)")
	fl.StringVar(&f.overrides.CacheDir, "cache-dir", "", "credentials cache folder (overrides $"+config.EnvCacheDir+" and the config file)")
}

// load reads the effective configuration.
func (f *profileFlags) load(env Env) (*config.Config, error) {
	return config.Load(config.LoadOptions{Path: f.configPath, Getenv: env.Getenv, Flags: f.overrides})
}

// loadProfile reads the configuration and returns the selected profile.
func (f *profileFlags) loadProfile(env Env) (*config.Config, *config.Profile, error) {
	cfg, err := f.load(env)
	if err != nil {
		return nil, nil, err
	}
	p, err := cfg.Profile("")
	if err != nil {
		return nil, nil, err
	}
	return cfg, p, nil
}
