package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/cwcreds/cwcreds/internal/cwobject"
	"github.com/cwcreds/cwcreds/internal/output"
)

func newOrgCommand(env Env) *cobra.Command {
	f := &adminFlags{}
	cmd := adminGroup("org", "Change organization-wide settings",
		"Change the organization's audit settings through the CoreWeave API. (The API has\n"+
			"no call that reads them: `org set` prints them as they are after the change.)", f)
	cmd.AddCommand(newOrgSetCommand(env, f))
	return cmd
}

type orgSetOptions struct {
	controlPlane, bucketDefault string
}

func newOrgSetCommand(env Env, f *adminFlags) *cobra.Command {
	o := &orgSetOptions{}
	cmd := &cobra.Command{
		Use:   "set [--control-plane-audit-logging on|off] [--bucket-audit-logging on|off]",
		Short: "Turn control-plane audit logging, or bucket audit logging by default, on or off",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withExitCode(runOrgSet(cmd, env, f, o))
		},
	}
	cmd.Flags().StringVar(&o.controlPlane, "control-plane-audit-logging", "", "on or off: audit logging of CoreWeave API calls")
	cmd.Flags().StringVar(&o.bucketDefault, "bucket-audit-logging", "", "on or off: audit logging of buckets by default")
	return cmd
}

func runOrgSet(cmd *cobra.Command, env Env, f *adminFlags, o *orgSetOptions) error {
	ctx := cmd.Context()
	var s cwobject.OrganizationSettings
	if cmd.Flags().Changed("control-plane-audit-logging") {
		v, err := parseOnOff("--control-plane-audit-logging", o.controlPlane)
		if err != nil {
			return err
		}
		s.ControlPlaneAuditLoggingEnabled = &v
	}
	if cmd.Flags().Changed("bucket-audit-logging") {
		v, err := parseOnOff("--bucket-audit-logging", o.bucketDefault)
		if err != nil {
			return err
		}
		s.BucketAuditLoggingEnabled = &v
	}
	if s.ControlPlaneAuditLoggingEnabled == nil && s.BucketAuditLoggingEnabled == nil {
		return invalidInput("nothing to change: pass --control-plane-audit-logging on|off and/or --bucket-audit-logging on|off")
	}
	return setOrg(ctx, env, f, s)
}

func setOrg(ctx context.Context, env Env, f *adminFlags, s cwobject.OrganizationSettings) error {
	p, c, err := f.open(ctx, env)
	if err != nil {
		return err
	}
	after, err := c.SetOrganizationSettings(ctx, s)
	if err != nil {
		return fmt.Errorf("could not change the organization settings: %w", err)
	}
	t := output.Rows{Header: []string{"SETTING", "VALUE"}, Rows: [][]string{
		{"control-plane-audit-logging", onOff(after.ControlPlaneAuditLoggingEnabled)},
		{"bucket-audit-logging", onOff(after.BucketAuditLoggingEnabled)},
	}}
	return p.Print(after, t)
}
