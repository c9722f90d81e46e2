package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cwcreds/cwcreds/internal/awsconfig"
	"github.com/cwcreds/cwcreds/internal/cwobject"
	"github.com/cwcreds/cwcreds/internal/output"
	"github.com/cwcreds/cwcreds/internal/policyfile"
)

func newPoliciesCommand(env Env) *cobra.Command {
	f := &adminFlags{}
	cmd := adminGroup("policies", "List, show, apply and delete organization access policies",
		"Manage the organization's access policies through the CoreWeave API. `apply` checks a\n"+
			"YAML or JSON file locally first and reports every mistake at its file:line.", f)
	cmd.AddCommand(newPoliciesListCommand(env, f), newPoliciesGetCommand(env, f),
		newPoliciesApplyCommand(env, f), newPoliciesDeleteCommand(env, f))
	return cmd
}

// policyRows shows one row per statement.
func policyRows(ps []cwobject.Policy) output.Rows {
	t := output.Rows{Header: []string{"POLICY", "STATEMENT", "EFFECT", "ACTIONS", "RESOURCES", "PRINCIPALS"}}
	for _, p := range ps {
		if len(p.Statements) == 0 {
			t.Rows = append(t.Rows, []string{p.Name, "-", "-", "-", "-", "-"})
		}
		for _, s := range p.Statements {
			t.Rows = append(t.Rows, []string{p.Name, s.Name, s.Effect, strings.Join(s.Actions, ","),
				strings.Join(s.Resources, ","), strings.Join(s.Principals, ",")})
		}
	}
	return t
}

func nonNilPolicies(ps []cwobject.Policy) []cwobject.Policy {
	if ps == nil {
		return []cwobject.Policy{}
	}
	return ps
}

func newPoliciesListCommand(env Env, f *adminFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List every access policy, one row per statement",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withExitCode(runPoliciesList(cmd.Context(), env, f))
		},
	}
}

func runPoliciesList(ctx context.Context, env Env, f *adminFlags) error {
	p, c, err := f.open(ctx, env)
	if err != nil {
		return err
	}
	ps, err := c.ListAccessPolicies(ctx)
	if err != nil {
		return fmt.Errorf("could not list access policies: %w", err)
	}
	ps = nonNilPolicies(ps)
	return p.Print(ps, policyRows(ps))
}

func newPoliciesGetCommand(env Env, f *adminFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "get NAME",
		Short: "Show one access policy (-o yaml or json prints a file `apply` takes)",
		Args:  exactArgs(1, "one policy name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withExitCode(runPoliciesGet(cmd.Context(), env, f, args[0]))
		},
	}
}

// errPolicyNotFound is a policy the server does not hold: exit code 3.
func errPolicyNotFound(name string) error {
	return &exitError{code: exitNotFound, err: fmt.Errorf("no access policy named %q (see `cwcreds policies list`)", name)}
}

func runPoliciesGet(ctx context.Context, env Env, f *adminFlags, name string) error {
	p, c, err := f.open(ctx, env)
	if err != nil {
		return err
	}
	ps, err := c.ListAccessPolicies(ctx)
	if err != nil {
		return fmt.Errorf("could not read access policy %q: %w", name, err)
	}
	for _, pol := range ps {
		if pol.Name == name {
			return p.Print(pol, policyRows([]cwobject.Policy{pol}))
		}
	}
	return errPolicyNotFound(name)
}

type policiesApplyOptions struct {
	file   string
	dryRun bool
}

func newPoliciesApplyCommand(env Env, f *adminFlags) *cobra.Command {
	o := &policiesApplyOptions{}
	cmd := &cobra.Command{
		Use:   "apply -f FILE [--dry-run]",
		Short: "Create or replace the access policies of a YAML or JSON file",
		Long: "Check the policies in FILE (\"-\": standard input) and create or replace each by name.\n" +
			"The file holds a policy, {policy: …}, a list of policies, {policies: […]}, or several\n" +
			"YAML documents:\n\n" +
			"  version: v1alpha1            # optional, the only version\n" +
			"  name: readers\n" +
			"  statements:\n" +
			"    - name: read-data\n" +
			"      effect: Allow            # or Deny; case-sensitive\n" +
			"      actions: [s3:GetObject, s3:ListBucket]\n" +
			"      resources: [data, data/*]  # cwobject: actions and s3:ListAllMyBuckets take [\"*\"]\n" +
			"      principals: [\"role/https://issuer.example.com:reader\", saml/analyst, coreweave/<uid>]\n\n" +
			"Every mistake is reported at its file:line and nothing is applied; actions cwcreds\n" +
			"does not know are warned about and sent. --dry-run prints what would change,\n" +
			"as a diff against the policies the server holds.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withExitCode(runPoliciesApply(cmd.Context(), env, f, o))
		},
	}
	cmd.Flags().StringVarP(&o.file, "filename", "f", "", "the policy file, YAML or JSON (\"-\": standard input)")
	cmd.Flags().BoolVar(&o.dryRun, "dry-run", false, "only show the difference from what the server holds")
	return cmd
}

// readPolicyFile reads and checks the file, printing warnings on stderr; every
// problem is printed too, and the error sums them up.
func readPolicyFile(env Env, name string) ([]cwobject.Policy, error) {
	if name == "" {
		return nil, invalidInput("pass the policy file with -f FILE (or -f - for standard input)")
	}
	var r io.Reader
	display := name
	if name == "-" {
		r, display = env.Stdin, "<stdin>"
	} else {
		fh, err := os.Open(name)
		if err != nil {
			return nil, invalidInput("cannot read policy file: %v", err)
		}
		defer fh.Close()
		if fi, err := fh.Stat(); err == nil && !fi.Mode().IsRegular() {
			return nil, invalidInput("policy file %s is not a regular file", name)
		}
		r = fh
	}
	data, err := io.ReadAll(io.LimitReader(r, policyfile.MaxFileBytes+1))
	if err != nil {
		return nil, invalidInput("cannot read policy file %s: %v", display, err)
	}
	ps, warns, err := policyfile.Parse(display, data)
	for _, w := range warns {
		fmt.Fprintf(env.Stderr, "cwcreds: %s\n", w)
	}
	var pe *policyfile.Error
	if errors.As(err, &pe) {
		if len(pe.Problems) == 1 {
			return nil, &inputError{err}
		}
		for _, p := range pe.Problems {
			fmt.Fprintf(env.Stderr, "cwcreds: %s\n", p)
		}
		return nil, invalidInput("%s has %d problems (above); nothing was applied", display, len(pe.Problems))
	}
	if err != nil {
		return nil, &inputError{err}
	}
	return ps, nil
}

// policyChange is what apply did, or --dry-run would do, to one policy.
type policyChange struct {
	Policy string `json:"policy"`
	Change string `json:"change"` // create, update, unchanged, applied (when the server's could not be read)
	Diff   string `json:"diff,omitempty"`
}

func policyYAML(p cwobject.Policy) []byte {
	var b bytes.Buffer
	_ = output.WriteYAML(&b, p) // a Policy always encodes
	return b.Bytes()
}

// diffPolicies compares each policy with the server's by name.
func diffPolicies(server, local []cwobject.Policy, known bool) []policyChange {
	held := map[string]cwobject.Policy{}
	for _, p := range server {
		held[p.Name] = p
	}
	var out []policyChange
	for _, p := range local {
		ch := policyChange{Policy: p.Name}
		old, exists := held[p.Name]
		newText := policyYAML(p)
		switch {
		case !known:
			ch.Change = "applied"
		case !exists:
			ch.Change, ch.Diff = "create", awsconfig.Diff(nil, newText)
		default:
			if d := awsconfig.Diff(policyYAML(old), newText); d != "" {
				ch.Change, ch.Diff = "update", d
			} else {
				ch.Change = "unchanged"
			}
		}
		out = append(out, ch)
	}
	return out
}

func runPoliciesApply(ctx context.Context, env Env, f *adminFlags, o *policiesApplyOptions) error {
	pr, err := f.printer(env)
	if err != nil {
		return err
	}
	local, err := readPolicyFile(env, o.file)
	if err != nil {
		return err
	}
	c, err := f.client(ctx, env)
	if err != nil {
		return err
	}
	server, listErr := c.ListAccessPolicies(ctx)
	if listErr != nil && (o.dryRun || exitCodeFor(listErr) != exitPermissionDenied) {
		return fmt.Errorf("could not read the server's access policies: %w", listErr)
	}
	changes := diffPolicies(server, local, listErr == nil)
	if o.dryRun {
		return printPolicyChanges(env, pr, changes, true)
	}
	for i, p := range local {
		if changes[i].Change == "unchanged" {
			continue
		}
		if err := c.EnsureAccessPolicy(ctx, p); err != nil {
			return fmt.Errorf("could not apply access policy %q: %w", p.Name, err)
		}
	}
	return printPolicyChanges(env, pr, changes, false)
}

// printPolicyChanges writes a dry run as a diff per policy (table) or the
// changes as data; a real apply as one line per policy.
func printPolicyChanges(env Env, pr output.Printer, changes []policyChange, dryRun bool) error {
	if pr.Format != output.Table {
		return pr.Print(changes, output.Rows{})
	}
	var b strings.Builder
	for _, ch := range changes {
		ch.Policy = output.Cell(ch.Policy) // the diff itself is YAML, whose strings are escaped
		switch {
		case !dryRun && ch.Change == "unchanged":
			fmt.Fprintf(&b, "policy %s unchanged\n", ch.Policy)
		case !dryRun:
			verb := map[string]string{"create": "created", "update": "updated"}[ch.Change]
			if verb == "" {
				verb = "applied"
			}
			fmt.Fprintf(&b, "policy %s %s\n", ch.Policy, verb)
		case ch.Change == "unchanged":
			fmt.Fprintf(&b, "policy %s: no change\n", ch.Policy)
		default:
			fmt.Fprintf(&b, "policy %s: would %s\n--- server\n+++ file\n%s", ch.Policy, ch.Change, ch.Diff)
		}
	}
	_, err := io.WriteString(env.Stdout, b.String())
	return err
}

func newPoliciesDeleteCommand(env Env, f *adminFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete an access policy",
		Args:  exactArgs(1, "one policy name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withExitCode(runPoliciesDelete(cmd.Context(), env, f, args[0]))
		},
	}
}

func runPoliciesDelete(ctx context.Context, env Env, f *adminFlags, name string) error {
	p, c, err := f.open(ctx, env)
	if err != nil {
		return err
	}
	if err := c.DeleteAccessPolicy(ctx, name); err != nil {
		if cwobject.CodeOf(err) == cwobject.CodeNotFound {
			return errPolicyNotFound(name)
		}
		return fmt.Errorf("could not delete access policy %q: %w", name, err)
	}
	rs := []actionResult{{Action: "delete", Target: name, OK: true}}
	return p.Print(rs, actionRows(rs))
}
