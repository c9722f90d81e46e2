package config

import (
	"fmt"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/cwcreds/cwcreds/internal/keypolicy"
)

// profileKeys are the settings allowed in a profile.
var profileKeys = []string{
	"source", "exchange", "lifetime", "refresh_margin", "propagation_delay", "min_ttl",
	"org_id", "api_endpoint", "s3_endpoint", "region", "ca_bundle",
}

var profileHints = map[string]string{
	"cache_dir":       "cache_dir is shared by all profiles: set it at the top level",
	"default_profile": "default_profile is set at the top level",
	"profiles":        "profiles do not nest: define each one directly under the top-level profiles:",
	"type":            "the source type goes under source: (source: {type: token_file, path: …})",
	"path":            "source settings go under source: (source: {type: token_file, path: …})",
	"token_file":      "write source: {type: token_file, path: …}",
	"api_token":       "write source: {type: api_token, env: CW_API_TOKEN}",
	"oidc_refresh":    "write source: {type: oidc_refresh, issuer: …, client_id: …}",
	"saml_file":       "write source: {type: saml_file, path: …, config_id: …}",
	"token_command":   "write source: {type: token_command, command: [...]}",
	"duration":        "the key lifetime is called lifetime",
	"refresh_before":  "it is called refresh_margin here",
}

// profileFile reads the profiles of one file.
type profileFile struct {
	l   *loader
	d   *doc
	dir string
	g   globals
}

// durSetting is one duration setting as read from the file (set=false: absent).
type durSetting struct {
	v   time.Duration
	o   Origin
	set bool
}

// timing holds a profile's duration settings before defaults apply.
type timing struct {
	lifetime, refreshMargin, propagationDelay, minTTL durSetting
}

func (pf *profileFile) profile(name string, pe entry) (*Profile, error) {
	d := pf.d
	field := "profiles." + name
	if v := resolve(pe.val); v.Kind == yaml.ScalarNode && v.ShortTag() == "!!null" {
		return nil, d.fail(pe.key, field, field+" is empty", "give it a source, e.g. source: {type: token_file, path: /path/to/token}")
	}
	m, _, err := d.fields(pe.val, field, profileKeys, profileHints)
	if err != nil {
		return nil, err
	}
	p := &Profile{Name: name, origins: map[string]Origin{}}
	inherit(p, pf.g)

	// Settings a profile may override: flag and environment still win over them.
	for _, k := range globalKeys {
		e, ok := m[k.key]
		if !k.perProf || !ok {
			continue
		}
		kf := join(field, k.key)
		v, err := d.str(e.val, kf)
		if err != nil {
			return nil, err
		}
		if pf.g[k.key].o.Kind >= OriginEnv {
			continue
		}
		s := setting{v: v, o: d.origin(e.val), set: true}
		if v, err = pf.l.checkValue(k, kf, s, pf.dir); err != nil {
			return nil, err
		}
		p.setGlobal(k.key, v)
		p.origins[k.key] = s.o
	}

	se, ok := m["source"]
	if !ok {
		return nil, d.fail(pe.key, field, field+" has no source", "add source: {type: token_file, path: /path/to/token} (or api_token, oidc_refresh, saml_file, token_command)")
	}
	if p.Source, err = pf.source(name, join(field, "source"), se, p.origins); err != nil {
		return nil, err
	}

	p.Exchange = defaultExchange(p.Source.Type)
	p.origins["exchange"] = defaultOrigin(string(p.Source.Type) + " source")
	if e, ok := m["exchange"]; ok {
		ef := join(field, "exchange")
		v, err := d.str(e.val, ef)
		if err != nil {
			return nil, err
		}
		ex := Exchange(v)
		if !contains(exchanges, ex) {
			return nil, d.fail(e.val, ef, fmt.Sprintf("%s %s is not an exchange", ef, show(v)), "use "+joinExchanges(exchanges))
		}
		if ok := compatibleExchanges(p.Source.Type); !contains(ok, ex) {
			return nil, d.fail(e.val, ef, fmt.Sprintf("%s %s does not accept %s", ef, ex, aSource(p.Source.Type)),
				fmt.Sprintf("use %s with this source, or change the source", joinExchanges(ok)))
		}
		p.Exchange = ex
		p.origins["exchange"] = d.origin(e.val)
	}

	if p.Exchange.NeedsOrgID() && p.OrgID == "" {
		return nil, d.fail(pe.key, field, fmt.Sprintf("%s has no org_id, which the %s exchange needs", field, p.Exchange),
			"set org_id in the profile or at the top level, or export "+EnvOrgID)
	}

	var t timing
	for _, x := range []struct {
		key string
		dst *durSetting
	}{
		{"lifetime", &t.lifetime}, {"refresh_margin", &t.refreshMargin},
		{"propagation_delay", &t.propagationDelay}, {"min_ttl", &t.minTTL},
	} {
		e, ok := m[x.key]
		if !ok {
			continue
		}
		v, err := d.duration(e.val, join(field, x.key))
		if err != nil {
			return nil, err
		}
		*x.dst = durSetting{v: v, o: d.origin(e.val), set: true}
	}
	if err := applyTiming(p, field, t, pf.l.minLifetime); err != nil {
		return nil, err
	}
	return p, nil
}

// applyTiming checks a profile's durations against each other and the exchange
// and fills in the defaults. The rules, for refreshes that never serve a key
// under the floor: min_ttl + propagation_delay < refresh_margin < lifetime.
func applyTiming(p *Profile, field string, t timing, minLifetime time.Duration) error {
	f := func(k string) string { return join(field, k) }
	lt := t.lifetime
	switch {
	case p.Exchange.FixedLifetime():
		if lt.set {
			return errAt(lt.o, f("lifetime"), fmt.Sprintf("%s cannot be set with the %s exchange, whose keys always last %s", f("lifetime"), p.Exchange, fmtDur(keypolicy.FixedLifetime)),
				fmt.Sprintf("remove lifetime, or use exchange %s", postExchangeFor(p.Exchange)))
		}
		lt = durSetting{v: keypolicy.FixedLifetime, o: defaultOrigin("fixed by the " + string(p.Exchange) + " exchange")}
	case !lt.set:
		lt = durSetting{v: keypolicy.DefaultLifetime, o: defaultOrigin("")}
	case lt.v > keypolicy.MaxLifetime:
		return errAt(lt.o, f("lifetime"), fmt.Sprintf("%s %s is over the %s maximum", f("lifetime"), fmtDur(lt.v), fmtDur(keypolicy.MaxLifetime)), fmt.Sprintf("use %s or less", fmtDur(keypolicy.MaxLifetime)))
	case lt.v < minLifetime:
		return errAt(lt.o, f("lifetime"), fmt.Sprintf("%s %s is under the %s minimum", f("lifetime"), fmtDur(lt.v), fmtDur(minLifetime)), fmt.Sprintf("use %s or more (AWS SDKs refetch keys with under 5-15 minutes left)", fmtDur(minLifetime)))
	}

	rm := t.refreshMargin
	if !rm.set {
		rm = durSetting{v: keypolicy.DefaultMargin(lt.v), o: defaultOrigin("")}
	} else if rm.v <= 0 {
		return errAt(rm.o, f("refresh_margin"), f("refresh_margin")+" is zero", "use a positive duration such as 15m")
	} else if rm.v >= lt.v {
		life := "the " + fmtDur(lt.v) + " lifetime"
		if p.Exchange.FixedLifetime() {
			life += " of the " + string(p.Exchange) + " exchange"
		}
		return errAt(rm.o, f("refresh_margin"), fmt.Sprintf("%s %s is not shorter than %s", f("refresh_margin"), fmtDur(rm.v), life),
			fmt.Sprintf("use less than %s, e.g. %s", fmtDur(lt.v), fmtDur(lt.v/3)))
	}

	mt := t.minTTL
	if !mt.set {
		mt = durSetting{v: keypolicy.DefaultFloorFor(rm.v), o: defaultOrigin("")}
	} else if mt.v <= 0 {
		return errAt(mt.o, f("min_ttl"), f("min_ttl")+" is zero", "use a positive floor such as 1m")
	}
	pd := t.propagationDelay
	if !pd.set {
		pd = durSetting{v: keypolicy.DefaultPropagationFor(rm.v), o: defaultOrigin("")}
	}
	if mt.v+pd.v >= rm.v {
		fix := fmt.Sprintf("make refresh_margin longer than %s, or lower min_ttl or propagation_delay", fmtDur(mt.v+pd.v))
		switch {
		case rm.set:
			return errAt(rm.o, f("refresh_margin"), fmt.Sprintf("%s %s is not longer than min_ttl %s plus propagation_delay %s", f("refresh_margin"), fmtDur(rm.v), fmtDur(mt.v), fmtDur(pd.v)), fix)
		case mt.set:
			return errAt(mt.o, f("min_ttl"), fmt.Sprintf("%s %s plus propagation_delay %s is not shorter than refresh_margin %s", f("min_ttl"), fmtDur(mt.v), fmtDur(pd.v), fmtDur(rm.v)), fix)
		default:
			return errAt(pd.o, f("propagation_delay"), fmt.Sprintf("%s %s plus min_ttl %s is not shorter than refresh_margin %s", f("propagation_delay"), fmtDur(pd.v), fmtDur(mt.v), fmtDur(rm.v)), fix)
		}
	}

	// A margin the refresh arithmetic cannot keep would silently become lifetime/3.
	kept := keypolicy.Policy{Lifetime: lt.v, RefreshMargin: rm.v, PropagationDelay: pd.v, Jitter: keypolicy.DefaultJitter}
	if maxRM := kept.MaxRefreshMargin(); rm.set && !kept.KeepsMargin() {
		return errAt(rm.o, f("refresh_margin"), fmt.Sprintf("%s %s is too long for the %s lifetime: a refresh starts margin+10%% plus propagation_delay and 30s before expiry, which must fit in half the lifetime", f("refresh_margin"), fmtDur(rm.v), fmtDur(lt.v)),
			fmt.Sprintf("use %s or less, or a longer lifetime", fmtDur(maxRM)))
	}

	p.Lifetime, p.origins["lifetime"] = lt.v, lt.o
	p.RefreshMargin, p.origins["refresh_margin"] = rm.v, rm.o
	p.MinTTL, p.origins["min_ttl"] = mt.v, mt.o
	p.PropagationDelay, p.origins["propagation_delay"] = pd.v, pd.o
	return nil
}

// postExchangeFor names the POST exchange taking the same source as a GET one.
func postExchangeFor(e Exchange) Exchange {
	if e == ExchangeAPITokenGet {
		return ExchangeAPIToken
	}
	return ExchangeOIDC
}
