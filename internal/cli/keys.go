package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cwcreds/cwcreds/internal/creds"
	"github.com/cwcreds/cwcreds/internal/cwobject"
	"github.com/cwcreds/cwcreds/internal/output"
)

func newKeysCommand(env Env) *cobra.Command {
	f := &adminFlags{}
	cmd := adminGroup("keys", "List, create, revoke, suspend and activate access keys",
		"Manage the organization's access keys through the CoreWeave API, with an API token\n"+
			"($CW_API_TOKEN, --api-token-file, a profile's api_token source, or the OS keyring).\n"+
			"No command but `keys create` ever shows a secret, and it shows it once.", f)
	cmd.AddCommand(newKeysListCommand(env, f), newKeysGetCommand(env, f), newKeysCreateCommand(env, f),
		newKeysRevokeCommand(env, f), newKeysStatusCommand(env, f, cwobject.AccessKeyStatusSuspended),
		newKeysStatusCommand(env, f, cwobject.AccessKeyStatusActive))
	return cmd
}

// keyView is how the commands show an access key: never a secret.
type keyView struct {
	AccessKeyID     string              `json:"accessKeyId"`
	PrincipalName   string              `json:"principalName"`
	Status          string              `json:"status"` // ACTIVE or SUSPENDED (or what the server sent)
	Permanent       bool                `json:"permanent"`
	Expiry          *time.Time          `json:"expiry,omitempty"` // absent for a permanent key
	Attributes      map[string]string   `json:"attributes,omitempty"`
	MultiAttributes map[string][]string `json:"multiAttributes,omitempty"`
	OrgID           string              `json:"orgId,omitempty"`
}

func viewKey(i cwobject.AccessKeyInfo) keyView {
	v := keyView{AccessKeyID: i.AccessKeyID, PrincipalName: i.PrincipalName, Status: shortStatus(i.Status),
		Attributes: i.Attributes, MultiAttributes: i.MultiAttributes, OrgID: i.OrgID}
	v.Permanent, v.Expiry = expiryView(i.Expiry)
	return v
}

// expiryView turns the API's expiry (PermanentExpiry for a permanent key) into
// "permanent" or a UTC time.
func expiryView(t time.Time) (bool, *time.Time) {
	if t.IsZero() || t.Equal(cwobject.PermanentExpiry) {
		return true, nil
	}
	u := t.UTC()
	return false, &u
}

func shortStatus(s cwobject.AccessKeyStatus) string {
	if st, ok := cwobject.ParseAccessKeyStatus(string(s)); ok && st != cwobject.AccessKeyStatusUnspecified {
		return strings.TrimPrefix(string(st), "ACCESS_KEY_STATUS_")
	}
	return string(s)
}

func keyRows(keys []keyView) output.Rows {
	t := output.Rows{Header: []string{"ACCESS KEY ID", "PRINCIPAL", "STATUS", "EXPIRES", "ATTRIBUTES"}}
	for _, k := range keys {
		t.Rows = append(t.Rows, []string{k.AccessKeyID, k.PrincipalName, k.Status, expiresCell(k.Permanent, k.Expiry), attributesCell(k.Attributes)})
	}
	return t
}

func expiresCell(permanent bool, t *time.Time) string {
	if permanent || t == nil {
		return "never"
	}
	return t.Format(time.RFC3339)
}

func attributesCell(m map[string]string) string {
	if len(m) == 0 {
		return "-"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i, k := range keys {
		keys[i] = k + "=" + m[k]
	}
	return strings.Join(keys, ",")
}

type keysListOptions struct {
	status, principal string
}

func newKeysListCommand(env Env, f *adminFlags) *cobra.Command {
	o := &keysListOptions{}
	cmd := &cobra.Command{
		Use:   "list [--status active|suspended] [--principal P]",
		Short: "List every access key (all pages), without secrets",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withExitCode(runKeysList(cmd.Context(), env, f, o))
		},
	}
	cmd.Flags().StringVar(&o.status, "status", "", "only keys with this status: active or suspended")
	cmd.Flags().StringVar(&o.principal, "principal", "", "only keys of this principal, e.g. role/https://issuer:subject; a trailing * matches a prefix (role/https://issuer:*)")
	return cmd
}

func runKeysList(ctx context.Context, env Env, f *adminFlags, o *keysListOptions) error {
	var status cwobject.AccessKeyStatus
	switch strings.ToLower(o.status) {
	case "":
	case "active":
		status = cwobject.AccessKeyStatusActive
	case "suspended":
		status = cwobject.AccessKeyStatusSuspended
	default:
		return invalidInput("--status %q is not a key status: use active or suspended", o.status)
	}
	p, c, err := f.open(ctx, env)
	if err != nil {
		return err
	}
	infos, err := c.AllAccessKeyInfo(ctx, status, 0)
	if err != nil {
		return fmt.Errorf("could not list access keys: %w", err)
	}
	keys := []keyView{}
	for _, i := range infos {
		if o.principal == "" || cwobject.MatchPattern(o.principal, i.PrincipalName) {
			keys = append(keys, viewKey(i))
		}
	}
	return p.Print(keys, keyRows(keys))
}

func newKeysGetCommand(env Env, f *adminFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "get ACCESS_KEY_ID",
		Short: "Describe one access key, without its secret",
		Args:  exactArgs(1, "one access key id (CW…)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withExitCode(runKeysGet(cmd.Context(), env, f, args[0]))
		},
	}
}

func runKeysGet(ctx context.Context, env Env, f *adminFlags, id string) error {
	p, c, err := f.open(ctx, env)
	if err != nil {
		return err
	}
	info, err := c.GetAccessKeyInfo(ctx, id)
	if err != nil {
		return keyError(id, err)
	}
	k := viewKey(*info)
	return p.Print(k, keyRows([]keyView{k}))
}

// keyError says which key a failed call was about. The id is shown only when
// it is not shaped like a secret (the client refuses those before sending).
func keyError(id string, err error) error {
	if cwobject.CodeOf(err) == cwobject.CodeNotFound {
		return fmt.Errorf("no access key %s: it never existed, or was revoked: %w", id, err)
	}
	var ve *cwobject.ValidationError
	if errors.As(err, &ve) {
		return fmt.Errorf("not an access key id: %w", err)
	}
	return fmt.Errorf("access key %s: %w", id, err)
}

type keysCreateOptions struct {
	duration   time.Duration
	permanent  bool
	format     string
	awsProfile string
	attributes []string
}

// Formats of `keys create` beyond -o's table, json and yaml.
const (
	keyFormatEnv             = "env"
	keyFormatCredentialsFile = "credentials-file"
)

func newKeysCreateCommand(env Env, f *adminFlags) *cobra.Command {
	o := &keysCreateOptions{}
	cmd := &cobra.Command{
		Use:   "create --duration D | --permanent [--format json|yaml|table|env|credentials-file]",
		Short: "Create an access key for the API token's principal and print its secret, once",
		Long: "Create an access key for the principal of the API token, living --duration (at most\n" +
			"12h), or forever with --permanent. The secret is printed once, on stdout, and never\n" +
			"again by any command: as JSON (default), YAML or a table (-o), as shell exports\n" +
			"(--format env), or as an AWS shared credentials file section (--format\n" +
			"credentials-file, section --aws-profile).",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withExitCode(runKeysCreate(cmd, env, f, o))
		},
	}
	fl := cmd.Flags()
	fl.DurationVar(&o.duration, "duration", 0, "key lifetime, e.g. 1h (whole seconds, at most 12h)")
	fl.BoolVar(&o.permanent, "permanent", false, "create a key that never expires (revoke it with `cwcreds keys revoke`)")
	fl.StringVar(&o.format, "format", "", "json, yaml, table, env (sh exports) or credentials-file; default: -o, else json")
	fl.StringVar(&o.awsProfile, "aws-profile", "default", "section name for --format credentials-file")
	fl.StringArrayVar(&o.attributes, "attribute", nil, "key attribute KEY=VALUE (repeatable)")
	return cmd
}

func runKeysCreate(cmd *cobra.Command, env Env, f *adminFlags, o *keysCreateOptions) error {
	ctx := cmd.Context()
	format := o.format
	if cmd.Flags().Changed("output") {
		if format != "" {
			return invalidInput("-o and --format exclude each other: pass one")
		}
		format = f.output
	}
	if format == "" {
		format = string(output.JSON)
	}
	switch format {
	case string(output.JSON), string(output.YAML), string(output.Table), keyFormatEnv, keyFormatCredentialsFile:
	default:
		return invalidInput("--format %q is not a key format: use json, yaml, table, env or credentials-file", format)
	}
	var seconds int64
	switch {
	case o.permanent && cmd.Flags().Changed("duration"):
		return invalidInput("--permanent and --duration exclude each other: pass one")
	case o.permanent:
	case !cmd.Flags().Changed("duration"):
		return invalidInput("pass --duration (e.g. 1h, at most 12h) for a key that expires, or --permanent for one that never does")
	case o.duration <= 0:
		return invalidInput("--duration %s: a key needs a positive lifetime; a permanent key needs --permanent", o.duration)
	case o.duration%time.Second != 0:
		return invalidInput("--duration %s: use whole seconds", o.duration)
	case o.duration > cwobject.MaxDurationSeconds*time.Second:
		return invalidInput("--duration %s is longer than the 12h the API allows", o.duration)
	default:
		seconds = int64(o.duration / time.Second)
	}
	attrs, err := parseAttributes(o.attributes)
	if err != nil {
		return err
	}
	if format == keyFormatCredentialsFile && !validINISection(o.awsProfile) {
		return invalidInput("--aws-profile %q cannot be a section name: use letters, digits, - _ . and /", o.awsProfile)
	}
	c, err := f.client(ctx, env)
	if err != nil {
		return err
	}
	key, err := c.CreateAccessKeyFromJWT(ctx, cwobject.CreateAccessKeyFromJWTRequest{DurationSeconds: seconds, Attributes: attrs})
	if err != nil {
		return fmt.Errorf("could not create an access key: %w", err)
	}
	return writeCreatedKey(env.Stdout, format, o.awsProfile, key)
}

func parseAttributes(kvs []string) (map[string]string, error) {
	if len(kvs) == 0 {
		return nil, nil
	}
	m := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, invalidInput("--attribute %q: write KEY=VALUE", kv)
		}
		m[k] = v
	}
	return m, nil
}

func validINISection(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./@+", r)) {
			return false
		}
	}
	return true
}

// createdKey is the one output that holds a secret.
type createdKey struct {
	AccessKeyID     string            `json:"accessKeyId"`
	SecretAccessKey string            `json:"secretAccessKey"`
	PrincipalName   string            `json:"principalName"`
	Permanent       bool              `json:"permanent"`
	Expiry          *time.Time        `json:"expiry,omitempty"`
	Attributes      map[string]string `json:"attributes,omitempty"`
}

func writeCreatedKey(w io.Writer, format, section string, key *cwobject.AccessKey) error {
	k := createdKey{AccessKeyID: key.AccessKeyID, SecretAccessKey: key.SecretKey, PrincipalName: key.PrincipalName, Attributes: key.Attributes}
	k.Permanent, k.Expiry = expiryView(key.Expiry)
	c := creds.Credentials{AccessKeyID: key.AccessKeyID, SecretAccessKey: key.SecretKey, Principal: key.PrincipalName}
	if k.Expiry != nil {
		c.Expiration = *k.Expiry
	}
	switch format {
	case keyFormatEnv:
		return creds.FormatEnv(w, creds.FormatSh, creds.EnvVars(c))
	case keyFormatCredentialsFile:
		var b strings.Builder
		fmt.Fprintf(&b, "[%s]\n", section)
		fmt.Fprintf(&b, "aws_access_key_id = %s\n", c.AccessKeyID)
		fmt.Fprintf(&b, "aws_secret_access_key = %s\n", c.SecretAccessKey)
		if k.Expiry != nil {
			// Comments only: the AWS SDKs do not read an expiry from this file.
			fmt.Fprintf(&b, "# expires %s\n", creds.FormatExpiration(*k.Expiry))
		}
		_, err := io.WriteString(w, b.String())
		return err
	}
	t := output.Rows{Header: []string{"ACCESS KEY ID", "SECRET ACCESS KEY", "PRINCIPAL", "EXPIRES"},
		Rows: [][]string{{k.AccessKeyID, k.SecretAccessKey, k.PrincipalName, expiresCell(k.Permanent, k.Expiry)}}}
	return output.NewPrinter(w, output.Format(format)).Print(k, t)
}

type keysRevokeOptions struct {
	principal string
}

func newKeysRevokeCommand(env Env, f *adminFlags) *cobra.Command {
	o := &keysRevokeOptions{}
	cmd := &cobra.Command{
		Use:   "revoke ACCESS_KEY_ID… | --principal P",
		Short: "Revoke access keys by id, or every key of a principal",
		Long: "Revoke the named keys (each is tried; the exit code is that of the first failure),\n" +
			"or with --principal every key of that principal.",
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return withExitCode(runKeysRevoke(cmd.Context(), env, f, o, args))
		},
	}
	cmd.Flags().StringVar(&o.principal, "principal", "", "revoke every key of this principal")
	return cmd
}

// actionResult is what became of one revoke, suspend or activate.
type actionResult struct {
	Action string `json:"action"`
	Target string `json:"target"` // a key id or a principal
	OK     bool   `json:"ok"`
	Error  string `json:"error,omitempty"`
}

func actionRows(rs []actionResult) output.Rows {
	t := output.Rows{Header: []string{"ACTION", "TARGET", "RESULT"}}
	for _, r := range rs {
		res := "done"
		if !r.OK {
			res = "failed: " + r.Error
		}
		t.Rows = append(t.Rows, []string{r.Action, r.Target, res})
	}
	return t
}

func runKeysRevoke(ctx context.Context, env Env, f *adminFlags, o *keysRevokeOptions, ids []string) error {
	switch {
	case o.principal != "" && len(ids) > 0:
		return invalidInput("key ids and --principal exclude each other: pass one")
	case o.principal == "" && len(ids) == 0:
		return invalidInput("name the keys to revoke (cwcreds keys revoke CW… [CW…]), or a principal (--principal P)")
	}
	p, c, err := f.open(ctx, env)
	if err != nil {
		return err
	}
	if o.principal != "" {
		if err := c.RevokeAccessKeysByPrincipal(ctx, o.principal); err != nil {
			return fmt.Errorf("could not revoke the keys of %s: %w", o.principal, err)
		}
		rs := []actionResult{{Action: "revoke-principal", Target: o.principal, OK: true}}
		return p.Print(rs, actionRows(rs))
	}
	var rs []actionResult
	var first error
	for _, id := range ids {
		err := c.RevokeAccessKeyByAccessKey(ctx, id)
		r := actionResult{Action: "revoke", Target: id, OK: err == nil}
		if err != nil {
			err = keyError(id, err)
			r.Error = oneLine(err.Error())
			var ve *cwobject.ValidationError
			if errors.As(err, &ve) {
				r.Target = "(not a key id)" // it may be a pasted secret
			}
			if first == nil {
				first = err
			}
		}
		rs = append(rs, r)
	}
	if err := p.Print(rs, actionRows(rs)); err != nil {
		return err
	}
	if first != nil {
		failed := 0
		for _, r := range rs {
			if !r.OK {
				failed++
			}
		}
		return &exitError{code: exitCodeFor(first), err: fmt.Errorf("%d of %d keys not revoked; first: %w", failed, len(rs), first)}
	}
	return nil
}

func newKeysStatusCommand(env Env, f *adminFlags, status cwobject.AccessKeyStatus) *cobra.Command {
	verb, short := "activate", "Activate every key of a principal again"
	if status == cwobject.AccessKeyStatusSuspended {
		verb, short = "suspend", "Suspend every key of a principal (S3 refuses them until activated)"
	}
	var principal string
	cmd := &cobra.Command{
		Use:   verb + " --principal P",
		Short: short,
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withExitCode(runKeysStatus(cmd.Context(), env, f, verb, principal, status))
		},
	}
	cmd.Flags().StringVar(&principal, "principal", "", "the principal whose keys change, e.g. role/https://issuer:subject")
	return cmd
}

func runKeysStatus(ctx context.Context, env Env, f *adminFlags, verb, principal string, status cwobject.AccessKeyStatus) error {
	if strings.TrimSpace(principal) == "" {
		return invalidInput("pass --principal P: %s applies to every key of one principal", verb)
	}
	p, c, err := f.open(ctx, env)
	if err != nil {
		return err
	}
	if err := c.UpdateAccessKeyStatus(ctx, cwobject.UpdateAccessKeyStatusRequest{PrincipalName: principal, Status: status}); err != nil {
		return fmt.Errorf("could not %s the keys of %s: %w", verb, principal, err)
	}
	rs := []actionResult{{Action: verb, Target: principal, OK: true}}
	return p.Print(rs, actionRows(rs))
}
