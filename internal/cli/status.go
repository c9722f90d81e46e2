package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/spf13/cobra"

	"github.com/cwcreds/cwcreds/internal/config"
	"github.com/cwcreds/cwcreds/internal/exchange"
)

type statusOptions struct {
	profileFlags
	output string
	clock  clockwork.Clock
}

func newStatusCommand(env Env) *cobra.Command {
	o := &statusOptions{clock: clockwork.NewRealClock()}
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show each profile's cached keys, last refresh and last error",
		Long: "For each profile (or only --profile): its identity source and exchange, and from\n" +
			"the disk cache the principal, access key id, time left, last refresh, last error\n" +
			"and the cache file. It reads the cache only: no exchange is made, nothing is\n" +
			"changed, and no secret is ever shown.",
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return runStatus(env, o)
		},
	}
	o.addProfileFlags(cmd)
	cmd.Flags().Lookup("profile").Usage = "show only this profile (default: every profile)"
	cmd.Flags().StringVarP(&o.output, "output", "o", "table", "output format: table or json")
	return cmd
}

// profileStatus is one profile's row; its JSON form is `status -o json`.
type profileStatus struct {
	Profile  string       `json:"profile"`
	Source   sourceStatus `json:"source"`
	Exchange string       `json:"exchange"`

	Principal        string     `json:"principal,omitempty"`
	AccessKeyID      string     `json:"access_key_id,omitempty"`
	Expiration       *time.Time `json:"expiration,omitempty"`
	ExpiresInSeconds *int64     `json:"expires_in_seconds,omitempty"`
	LastRefresh      *time.Time `json:"last_refresh,omitempty"`
	LastError        *lastError `json:"last_error,omitempty"`
	CachePath        string     `json:"cache_path"`
	CacheProblem     string     `json:"cache_problem,omitempty"`
}

type sourceStatus struct {
	Type   string `json:"type"`
	Detail string `json:"detail,omitempty"` // a path, a variable name, an issuer; never a secret
	// Login is "stored" or "none" for sources that need `cwcreds login`.
	Login string `json:"login,omitempty"`
	// LoginStore says where a stored login is ("keyring", or "file" and its path)
	// and LoginAt when it was last saved (the login, or its latest refresh).
	LoginStore string     `json:"login_store,omitempty"`
	LoginAt    *time.Time `json:"login_at,omitempty"`
}

type lastError struct {
	Message   string     `json:"message"`
	Class     string     `json:"class"`
	At        time.Time  `json:"at"`
	Count     int        `json:"count"`
	NextRetry *time.Time `json:"next_retry,omitempty"`
}

func runStatus(env Env, o *statusOptions) error {
	if o.output != "table" && o.output != "json" {
		return fmt.Errorf("unknown --output %q: use table or json", o.output)
	}
	cfg, err := o.load(env)
	if err != nil {
		return err
	}
	names := cfg.ProfileNames()
	if o.overrides.Profile != "" {
		names = []string{o.overrides.Profile}
	}
	now := o.clock.Now()
	rows := make([]profileStatus, 0, len(names))
	for _, name := range names {
		p, err := cfg.Profile(name)
		if err != nil {
			return err
		}
		row, err := statusOf(env, p, now)
		if err != nil {
			return err
		}
		rows = append(rows, row)
	}
	if o.output == "json" {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rows)
	}
	return writeStatusTable(env.Stdout, rows, now)
}

func statusOf(env Env, p *config.Profile, now time.Time) (profileStatus, error) {
	store, err := diskStore(p, nil, nil)
	if err != nil {
		return profileStatus{}, err
	}
	st, err := store.Inspect(processCacheKey(env, p), policyOf(p))
	if err != nil {
		return profileStatus{}, err
	}
	row := profileStatus{
		Profile: p.Name, Source: describeSource(env, p), Exchange: string(p.Exchange),
		CachePath: st.Path, CacheProblem: st.Problem,
	}
	if st.AccessKeyID != "" {
		row.Principal, row.AccessKeyID = st.Principal, st.AccessKeyID
		exp, fetched := st.Expiration.UTC(), st.FetchedAt.UTC()
		left := int64(st.Expiry.Sub(now) / time.Second)
		row.Expiration, row.LastRefresh, row.ExpiresInSeconds = &exp, &fetched, &left
	}
	if st.LastError != "" {
		le := &lastError{Message: st.LastError, Class: st.LastErrorClass.String(), At: st.LastErrorAt.UTC(), Count: st.ConsecutiveFailures}
		if !st.NextRetry.IsZero() {
			nr := st.NextRetry.UTC()
			le.NextRetry = &nr
		}
		row.LastError = le
	}
	return row, nil
}

// describeSource names where a profile's identity comes from, by reference only.
func describeSource(env Env, p *config.Profile) sourceStatus {
	s := p.Source
	out := sourceStatus{Type: string(s.Type)}
	switch s.Type {
	case config.SourceTokenFile:
		out.Detail = s.TokenFile.Path
	case config.SourceAPIToken:
		switch a := s.APIToken; {
		case a.File != "":
			out.Detail = "file " + a.File
		case a.Keyring != nil:
			out.Detail = "keyring " + a.Keyring.Service + "/" + a.Keyring.User
		default:
			out.Detail = "env " + a.Env
		}
	case config.SourceOIDCRefresh:
		out.Detail = s.OIDCRefresh.Issuer
		out.Login = "none"
		if dir, err := exchange.DefaultLoginDir(env.Getenv); err == nil {
			// Only the record of where and when: the token itself is never read here.
			if rec, ok := exchange.RefreshStoreFor(p.Name, dir, nil).Info(); ok {
				out.Login = "stored"
				out.LoginStore, out.LoginAt = rec.Where, &rec.SavedAt
				if rec.Path != "" {
					out.LoginStore += " " + rec.Path
				}
			}
		}
	case config.SourceSAMLFile:
		out.Detail = s.SAMLFile.Path
		if out.Detail == "-" {
			out.Detail = "stdin"
		}
	case config.SourceTokenCommand:
		out.Detail = s.TokenCommand.Command[0] // arguments may hold secrets
	case config.SourceSAMLLogin:
		out.Detail = s.SAMLLogin.IDPMetadataURL + s.SAMLLogin.IDPMetadataFile
	}
	return out
}

func writeStatusTable(w io.Writer, rows []profileStatus, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PROFILE\tSOURCE\tEXCHANGE\tPRINCIPAL\tACCESS KEY ID\tEXPIRES IN\tLAST REFRESH\tLAST ERROR\tCACHE")
	for _, r := range rows {
		src := r.Source.Type
		if r.Source.Detail != "" {
			src += " " + r.Source.Detail
		}
		switch {
		case r.Source.LoginAt != nil:
			where, _, _ := strings.Cut(r.Source.LoginStore, " ")
			src += " (login: " + r.Source.Login + " in the " + where + ", " + roundDuration(now.Sub(*r.Source.LoginAt)) + " ago)"
		case r.Source.Login != "":
			src += " (login: " + r.Source.Login + ")"
		}
		expires, refreshed, lastErr := "-", "-", "-"
		if r.ExpiresInSeconds != nil {
			expires = "expired"
			if left := time.Duration(*r.ExpiresInSeconds) * time.Second; left > 0 {
				expires = roundDuration(left)
			}
			refreshed = roundDuration(now.Sub(*r.LastRefresh)) + " ago"
		}
		if r.LastError != nil {
			lastErr = fmt.Sprintf("%s ago: %s", roundDuration(now.Sub(r.LastError.At)), truncateRunes(r.LastError.Message, 80))
		}
		cachePath := r.CachePath
		if r.CacheProblem != "" {
			cachePath += " (ignored: " + r.CacheProblem + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Profile, src, r.Exchange, orDash(r.Principal), orDash(r.AccessKeyID),
			expires, refreshed, oneLine(lastErr), cachePath)
	}
	return tw.Flush()
}

// roundDuration prints whole seconds under an hour, whole minutes above.
func roundDuration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	if d >= time.Hour {
		return d.Round(time.Minute).String()
	}
	return d.Round(time.Second).String()
}

func truncateRunes(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func orDash(s string) string {
	if strings.TrimSpace(s) == "" {
		return "-"
	}
	return s
}
