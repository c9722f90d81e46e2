package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cwcreds/cwcreds/internal/config"
	"github.com/cwcreds/cwcreds/internal/cwobject"
	"github.com/cwcreds/cwcreds/internal/exchange"
)

type logoutOptions struct {
	profileFlags
	all    bool
	revoke bool
}

func newLogoutCommand(env Env) *cobra.Command {
	o := &logoutOptions{}
	cmd := &cobra.Command{
		Use:   "logout [--profile P | --all] [--revoke]",
		Short: "Forget a profile's cached keys and stored login",
		Long: "Remove the profile's cached keys and its stored login (the OIDC refresh token\n" +
			"kept by `cwcreds login`), or those of every profile with --all. The next use\n" +
			"makes a fresh exchange, or asks for a new login.\n\n" +
			"Removed keys stay valid until they expire unless --revoke is given: it revokes\n" +
			"them through the CoreWeave API with an API token — $CW_API_TOKEN, else the\n" +
			"profile's own api_token source, else the first api_token profile. The local\n" +
			"removal happens even when revoking fails; the error then lists the key ids to\n" +
			"revoke by hand.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runLogout(cmd.Context(), env, o)
		},
	}
	o.addFlags(cmd)
	o.addOverrideFlags(cmd)
	cmd.Flags().BoolVar(&o.all, "all", false, "log out of every profile")
	cmd.Flags().BoolVar(&o.revoke, "revoke", false, "also revoke the removed keys through the CoreWeave API (needs an API token)")
	return cmd
}

// removedKeys are the key ids one profile's logout took out of the cache.
type removedKeys struct {
	profile *config.Profile
	ids     []string
}

func runLogout(ctx context.Context, env Env, o *logoutOptions) error {
	if o.all && o.overrides.Profile != "" {
		return errors.New("--all and --profile exclude each other: pass one")
	}
	cfg, err := o.load(env)
	if err != nil {
		return err
	}
	names := []string{cfg.DefaultProfile}
	if o.all {
		names = cfg.ProfileNames()
	}
	var removed []removedKeys
	for _, name := range names {
		p, err := cfg.Profile(name)
		if err != nil {
			return err
		}
		r, err := logoutProfile(env, p)
		if err != nil {
			return err
		}
		removed = append(removed, r)
	}
	if !o.revoke {
		return nil
	}
	return revokeRemoved(ctx, env, cfg, removed)
}

// logoutProfile removes one profile's cached keys and stored login and says so.
func logoutProfile(env Env, p *config.Profile) (removedKeys, error) {
	store, err := diskStore(p, nil, nil)
	if err != nil {
		return removedKeys{}, err
	}
	st, err := store.Inspect(processCacheKey(env, p), policyOf(p))
	if err != nil {
		return removedKeys{}, err
	}
	r := removedKeys{profile: p}
	for _, id := range []string{st.AccessKeyID, st.PreviousAccessKeyID} {
		if id != "" {
			r.ids = append(r.ids, id)
		}
	}
	if err := store.Remove(p.Name); err != nil {
		return removedKeys{}, err
	}
	var did []string
	switch {
	case len(r.ids) > 0:
		did = append(did, "removed cached keys "+strings.Join(r.ids, ", "))
	case st.Exists:
		did = append(did, "removed the cache file")
	}
	forgot, err := forgetLogin(env, p)
	if err != nil {
		return removedKeys{}, err
	}
	if forgot {
		did = append(did, "removed the stored login")
	}
	if len(did) == 0 {
		did = []string{"nothing was cached or stored"}
	}
	fmt.Fprintf(env.Stdout, "profile %s: %s\n", p.Name, strings.Join(did, "; "))
	return r, nil
}

// forgetLogin removes the refresh token `cwcreds login` stored for the profile,
// whatever its source is now (a profile that used to be oidc_refresh keeps none).
func forgetLogin(env Env, p *config.Profile) (bool, error) {
	dir, err := exchange.DefaultLoginDir(env.Getenv)
	if err != nil {
		if p.Source.Type == config.SourceOIDCRefresh {
			return false, err
		}
		return false, nil
	}
	switch s := exchange.RefreshStoreFor(p.Name, dir).(type) {
	case exchange.FileRefreshTokenStore:
		err := os.Remove(s.Path)
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("could not remove the stored login %s: %w", s.Path, errors.Unwrap(err))
		}
		return true, nil
	case interface{ Delete() (bool, error) }: // a keyring-backed store
		return s.Delete()
	}
	return false, nil
}

// revokeRemoved revokes the removed keys, each through its own profile's API.
func revokeRemoved(ctx context.Context, env Env, cfg *config.Config, removed []removedKeys) error {
	var all []string
	for _, r := range removed {
		all = append(all, r.ids...)
	}
	if len(all) == 0 {
		fmt.Fprintln(env.Stdout, "no keys to revoke")
		return nil
	}
	var failed []string
	var firstErr error
	for _, r := range removed {
		if len(r.ids) == 0 {
			continue
		}
		client, err := revokeClient(ctx, env, cfg, r.profile)
		if err == nil {
			for _, id := range r.ids {
				switch err := client.RevokeAccessKeyByAccessKey(ctx, id); {
				case err == nil:
					fmt.Fprintf(env.Stdout, "revoked %s\n", id)
				case cwobject.CodeOf(err) == cwobject.CodeNotFound:
					fmt.Fprintf(env.Stdout, "%s was already revoked or expired\n", id)
				default:
					failed = append(failed, id)
					if firstErr == nil {
						firstErr = err
					}
				}
			}
			continue
		}
		failed = append(failed, r.ids...)
		if firstErr == nil {
			firstErr = err
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("the cached keys were removed, but %s could not be revoked: %w", strings.Join(failed, ", "), firstErr)
	}
	return nil
}

// revokeClient is a CoreWeave API client for p's endpoint with an API token
// from CW_API_TOKEN, p's own api_token source, or the first api_token profile.
func revokeClient(ctx context.Context, env Env, cfg *config.Config, p *config.Profile) (*cwobject.Client, error) {
	token, err := revokeToken(ctx, env, cfg, p)
	if err != nil {
		return nil, err
	}
	httpClient, err := exchange.NewHTTPClient(exchange.HTTPOptions{CABundle: p.CABundle, Getenv: env.Getenv})
	if err != nil {
		return nil, err
	}
	return cwobject.New(cwobject.Config{BaseURL: p.APIEndpoint, HTTPClient: httpClient, Token: token, UserAgent: "cwcreds/" + env.Version})
}

func revokeToken(ctx context.Context, env Env, cfg *config.Config, p *config.Profile) (string, error) {
	if tok := strings.TrimSpace(env.Getenv(config.EnvAPIToken)); tok != "" {
		return tok, nil
	}
	candidates := []*config.Profile{p}
	for _, name := range cfg.ProfileNames() {
		if q, err := cfg.Profile(name); err == nil {
			candidates = append(candidates, q)
		}
	}
	for _, q := range candidates {
		a := q.Source.APIToken
		if q.Source.Type != config.SourceAPIToken || a == nil {
			continue
		}
		src := &exchange.APIToken{EnvVar: a.Env, Getenv: env.Getenv, File: a.File}
		if a.Keyring != nil {
			src.EnvVar, src.KeyringService, src.KeyringUser = "", a.Keyring.Service, a.Keyring.User
		}
		tok, err := src.Token(ctx)
		if err != nil {
			return "", fmt.Errorf("no API token to revoke with: profile %s: %w", q.Name, err)
		}
		return tok, nil
	}
	return "", fmt.Errorf("no API token to revoke with: export %s, or add a profile with an api_token source", config.EnvAPIToken)
}
