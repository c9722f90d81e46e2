package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/cwcreds/cwcreds/internal/cwobject"
	"github.com/cwcreds/cwcreds/internal/output"
)

type canIOptions struct {
	resources []string
	principal string
}

func newCanICommand(env Env) *cobra.Command {
	f := &adminFlags{}
	o := &canIOptions{}
	cmd := &cobra.Command{
		Use:   "can-i ACTION… --resource R… [--principal P]",
		Short: "Check whether actions are allowed on resources: yes or no per pair",
		Long: "Ask, for every action and resource, whether it is allowed, and print yes or no per\n" +
			"pair. Exit 0 only when every pair is allowed, 1 when one is not.\n\n" +
			"Without --principal the API answers for the API token's own principal (AuthCanI).\n" +
			"With --principal cwcreds reads the organization's access policies (which needs\n" +
			"cwobject:ListAccessPolicy) and evaluates them for that principal itself, as the\n" +
			"emulator does: any matching Deny wins, else a matching Allow is needed.\n\n" +
			"  cwcreds can-i s3:GetObject s3:PutObject --resource data/* --principal role/https://issuer:sa",
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return withExitCode(runCanI(cmd.Context(), env, f, o, args))
		},
	}
	f.addAdminFlags(cmd)
	cmd.Flags().StringArrayVar(&o.resources, "resource", nil, "a resource (repeatable): a bucket, bucket/key-prefix*, or *")
	cmd.Flags().StringVar(&o.principal, "principal", "", "evaluate the organization's policies for this principal instead of the token's")
	return cmd
}

type canICheck struct {
	Action   string `json:"action"`
	Resource string `json:"resource"`
	Allowed  bool   `json:"allowed"`
}

type canIAnswer struct {
	Principal string      `json:"principal,omitempty"` // empty: the API token's principal
	Evaluated string      `json:"evaluatedBy"`         // "api" or "local"
	Allowed   bool        `json:"allowed"`
	Checks    []canICheck `json:"checks"`
}

func runCanI(ctx context.Context, env Env, f *adminFlags, o *canIOptions, actions []string) error {
	switch {
	case len(actions) == 0:
		return invalidInput("name at least one action, e.g. cwcreds can-i s3:GetObject --resource my-bucket/*")
	case len(o.resources) == 0:
		return invalidInput("pass at least one --resource, e.g. --resource my-bucket/* (or --resource '*')")
	}
	for _, v := range append(append([]string{}, actions...), o.resources...) {
		if v == "" {
			return invalidInput("actions and resources must not be empty")
		}
	}
	p, c, err := f.open(ctx, env)
	if err != nil {
		return err
	}
	var ans canIAnswer
	if o.principal != "" {
		ans, err = canILocal(ctx, c, o.principal, actions, o.resources)
	} else {
		ans, err = canIAPI(ctx, c, actions, o.resources)
	}
	if err != nil {
		return err
	}
	t := output.Rows{Header: []string{"ACTION", "RESOURCE", "ALLOWED"}}
	for _, ch := range ans.Checks {
		yes := "no"
		if ch.Allowed {
			yes = "yes"
		}
		t.Rows = append(t.Rows, []string{ch.Action, ch.Resource, yes})
	}
	if err := p.Print(ans, t); err != nil {
		return err
	}
	if !ans.Allowed {
		return &exitError{code: exitFailure, err: errSilent}
	}
	return nil
}

// canIAPI asks AuthCanI once for everything; only when the answer is no does it
// ask pair by pair, to say which pairs are denied.
func canIAPI(ctx context.Context, c *cwobject.Client, actions, resources []string) (canIAnswer, error) {
	ans := canIAnswer{Evaluated: "api"}
	all, err := c.AuthCanI(ctx, cwobject.AuthCanIRequest{Actions: actions, Resources: resources})
	if err != nil {
		return ans, fmt.Errorf("could not ask the API: %w", err)
	}
	ans.Allowed = all
	for _, a := range actions {
		for _, r := range resources {
			ok := all
			if !all {
				if ok, err = c.AuthCanI(ctx, cwobject.AuthCanIRequest{Actions: []string{a}, Resources: []string{r}}); err != nil {
					return ans, fmt.Errorf("could not ask the API about %s on %s: %w", a, r, err)
				}
			}
			ans.Checks = append(ans.Checks, canICheck{Action: a, Resource: r, Allowed: ok})
		}
	}
	return ans, nil
}

func canILocal(ctx context.Context, c *cwobject.Client, principal string, actions, resources []string) (canIAnswer, error) {
	ans := canIAnswer{Principal: principal, Evaluated: "local", Allowed: true}
	ps, err := c.ListAccessPolicies(ctx)
	if err != nil {
		return ans, fmt.Errorf("could not read the access policies to evaluate for %s: %w", principal, err)
	}
	for _, a := range actions {
		for _, r := range resources {
			ok := cwobject.PolicyAllows(ps, principal, a, r)
			ans.Allowed = ans.Allowed && ok
			ans.Checks = append(ans.Checks, canICheck{Action: a, Resource: r, Allowed: ok})
		}
	}
	return ans, nil
}
