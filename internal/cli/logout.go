package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cwcreds/cwcreds/internal/config"
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
			"them through the CoreWeave API with an API token: the profile's own api_token\n" +
			"source when it has one, else $CW_API_TOKEN. The local removal happens even\n" +
			"when revoking fails; the error then lists the key ids to revoke by hand.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runLogout(cmd.Context(), env, o)
		},
	}
	o.addProfileFlags(cmd)
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
	return revokeRemoved(ctx, env, removed)
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
	return exchange.RefreshStoreFor(p.Name, dir, nil).Forget()
}

// revokeRemoved revokes the removed keys, each through its own profile's API,
// with the token exchange.Revoker documents.
func revokeRemoved(ctx context.Context, env Env, removed []removedKeys) error {
	var all []string
	for _, r := range removed {
		all = append(all, r.ids...)
	}
	if len(all) == 0 {
		fmt.Fprintln(env.Stdout, "no keys to revoke")
		return nil
	}
	revoker := &exchange.Revoker{Getenv: env.Getenv, UserAgent: "cwcreds/" + env.Version}
	var failed []string
	var firstErr error
	for _, r := range removed {
		if len(r.ids) == 0 {
			continue
		}
		results, err := revoker.Revoke(ctx, r.profile, r.ids)
		if err != nil {
			failed = append(failed, r.ids...)
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		for _, k := range results {
			switch {
			case k.Err != nil:
				failed = append(failed, k.ID)
				if firstErr == nil {
					firstErr = k.Err
				}
			case k.Gone:
				fmt.Fprintf(env.Stdout, "%s was already revoked or expired\n", k.ID)
			default:
				fmt.Fprintf(env.Stdout, "revoked %s\n", k.ID)
			}
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("the cached keys were removed, but %s could not be revoked: %w", strings.Join(failed, ", "), firstErr)
	}
	return nil
}
