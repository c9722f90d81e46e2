package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cwcreds/cwcreds/internal/config"
	"github.com/cwcreds/cwcreds/internal/creds"
	"github.com/cwcreds/cwcreds/internal/logging"
)

type envOptions struct {
	profileFlags
	format   string
	logLevel string
}

func newEnvCommand(env Env) *cobra.Command {
	o := &envOptions{}
	cmd := &cobra.Command{
		Use:   "env",
		Short: "Print a profile's keys as environment variables for a shell or loader",
		Long: "Print AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN (when the keys\n" +
			"have one), AWS_CREDENTIAL_EXPIRATION and the profile's AWS_ENDPOINT_URL_S3,\n" +
			"AWS_REGION and AWS_DEFAULT_REGION, quoted for the chosen format:\n\n" +
			"  eval \"$(cwcreds env --profile ci)\"                 # sh, bash, zsh\n" +
			"  cwcreds env --profile ci --format fish | source\n" +
			"  cwcreds env --profile ci --format powershell | Invoke-Expression\n" +
			"  cwcreds env --profile ci --format dotenv > .env     # docker compose, python-dotenv\n\n" +
			"Keys come from the same disk cache as credential-process. They do not refresh\n" +
			"themselves: for long-running commands prefer `cwcreds exec --server`.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runEnv(cmd.Context(), env, o)
		},
	}
	o.addProfileFlags(cmd)
	cmd.Flags().StringVarP(&o.format, "format", "f", creds.FormatSh, "output format: "+strings.Join(creds.EnvFormats(), ", "))
	cmd.Flags().StringVar(&o.logLevel, "log-level", "warn", "log level on stderr: debug, info, warn or error")
	return cmd
}

func runEnv(ctx context.Context, env Env, o *envOptions) error {
	if err := checkEnvFormat(o.format); err != nil {
		return err
	}
	_, p, err := o.loadProfile(env)
	if err != nil {
		return err
	}
	logger, err := logging.New(env.Stderr, o.logLevel)
	if err != nil {
		return err
	}
	vars, err := staticEnv(ctx, env, p, logger)
	if err != nil {
		return err
	}
	return creds.FormatEnv(env.Stdout, o.format, vars)
}

// checkEnvFormat refuses an unknown format before any exchange is made for it.
func checkEnvFormat(f string) error {
	for _, known := range creds.EnvFormats() {
		if f == known {
			return nil
		}
	}
	return fmt.Errorf("unknown --format %q: use one of %s", f, strings.Join(creds.EnvFormats(), ", "))
}

// profileEnv points AWS tools at the profile's S3 endpoint and region. Both
// region variables are set: the AWS CLI v1 and botocore read only
// AWS_DEFAULT_REGION, the newer SDKs AWS_REGION first.
func profileEnv(p *config.Profile) []creds.EnvVar {
	var vars []creds.EnvVar
	if p.S3Endpoint != "" {
		vars = append(vars, creds.EnvVar{Name: envEndpointS3, Value: p.S3Endpoint})
	}
	if p.Region != "" {
		vars = append(vars, creds.EnvVar{Name: envRegion, Value: p.Region}, creds.EnvVar{Name: envDefaultRegion, Value: p.Region})
	}
	return vars
}
