package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// sourceKeys lists the settings of each source type.
var sourceKeys = map[SourceType][]string{
	SourceTokenFile:    {"type", "path"},
	SourceAPIToken:     {"type", "env", "file", "keyring"},
	SourceOIDCRefresh:  {"type", "issuer", "client_id", "client_secret_file", "scopes"},
	SourceSAMLFile:     {"type", "path", "config_id"},
	SourceTokenCommand: {"type", "command", "timeout", "format"},
	SourceSAMLLogin:    {"type", "idp_metadata_url", "idp_metadata_file", "config_id", "role", "acs_port"},
}

// secretHints refuse secrets written into the config: it is printed by `config
// show`, copied around and checked in; secrets live in files, variables or the
// keyring.
var secretHints = map[string]string{
	"token":         "secrets are never written in the config: put the token in a file (file: …) or a variable (env: …)",
	"api_token":     "secrets are never written in the config: put the token in a file (file: …) or a variable (env: …)",
	"value":         "secrets are never written in the config: put the token in a file (file: …) or a variable (env: …)",
	"client_secret": "secrets are never written in the config: put the client secret in a 0600 file and set client_secret_file",
	"secret":        "secrets are never written in the config: use a *_file setting that names a 0600 file",
	"password":      "secrets are never written in the config: use a *_file setting that names a 0600 file",
	"refresh_token": "the refresh token is stored by `cwcreds login`, never in the config: remove it and run cwcreds login",
	"id_token":      "tokens are never written in the config: use a token_file source that names the file holding it",
	"jwt":           "tokens are never written in the config: use a token_file source that names the file holding it",
	"saml_response": "secrets are never written in the config: put the response in a file and set path (or path: - for stdin)",
}

// DefaultScopes are requested by an oidc_refresh source that names none.
var defaultScopes = []string{"openid", "offline_access"}

// DefaultKeyringService is the keyring service of an api_token source's keyring
// entry when the config names none.
const DefaultKeyringService = "cwcreds"

func (pf *profileFile) source(profile, field string, se entry, origins map[string]Origin) (Source, error) {
	d := pf.d
	n := resolve(se.val)
	if n.Kind != yaml.MappingNode {
		return Source{}, d.fail(se.val, field, fmt.Sprintf("%s must be a mapping, not %s", field, kindName(n)), "write source: {type: token_file, path: …} (or another type)")
	}
	all, _, err := d.fields(n, field, nil, nil)
	if err != nil {
		return Source{}, err
	}
	te, ok := all["type"]
	if !ok {
		return Source{}, d.fail(se.key, field, field+" has no type", "add type: "+sourceTypeList())
	}
	tv, err := d.str(te.val, field+".type")
	if err != nil {
		return Source{}, err
	}
	st := SourceType(tv)
	if !contains(sourceTypes, st) {
		return Source{}, d.fail(te.val, field+".type", fmt.Sprintf("%s.type %s is not a source type", field, show(tv)), "use "+sourceTypeList())
	}
	origins["source.type"] = d.origin(te.val)

	// Keys of other source types get a hint naming the type they belong to.
	hints := map[string]string{}
	for _, other := range sourceTypes {
		for _, k := range sourceKeys[other] {
			if _, seen := hints[k]; !seen && !contains(sourceKeys[st], k) {
				hints[k] = fmt.Sprintf("remove it (%s is a setting of %s)", k, aSource(other))
			}
		}
	}
	for k, h := range secretHints {
		hints[k] = h
	}
	m, _, err := d.fields(n, field, sourceKeys[st], hints)
	if err != nil {
		return Source{}, err
	}
	r := sourceReader{pf: pf, field: field, m: m, key: se.key, st: st, origins: origins}
	src := Source{Type: st}
	switch st {
	case SourceTokenFile:
		src.TokenFile = &TokenFileSource{}
		src.TokenFile.Path, err = r.path("path", true)
	case SourceAPIToken:
		src.APIToken, err = r.apiToken(profile)
	case SourceOIDCRefresh:
		src.OIDCRefresh, err = r.oidcRefresh()
	case SourceSAMLFile:
		src.SAMLFile, err = r.samlFile()
	case SourceTokenCommand:
		src.TokenCommand, err = r.tokenCommand()
	case SourceSAMLLogin:
		src.SAMLLogin, err = r.samlLogin()
	}
	if err != nil {
		return Source{}, err
	}
	return src, nil
}

func sourceTypeList() string {
	s := make([]string, len(sourceTypes))
	for i, t := range sourceTypes {
		s[i] = string(t)
	}
	return orList(s)
}

// sourceReader reads the settings of one source mapping.
type sourceReader struct {
	pf      *profileFile
	field   string
	m       map[string]entry
	key     *yaml.Node // the `source:` key, where "missing setting" errors point
	st      SourceType
	origins map[string]Origin
}

func (r *sourceReader) f(k string) string { return join(r.field, k) }

func (r *sourceReader) missing(k, what, example string) error {
	return r.pf.d.fail(r.key, r.f(k), fmt.Sprintf("%s has no %s, which %s needs", r.field, k, what), "add "+k+": "+example)
}

// str reads optional setting k, checked with c when non-nil; "" when absent.
func (r *sourceReader) str(k string, c check) (string, error) {
	e, ok := r.m[k]
	if !ok {
		return "", nil
	}
	v, err := r.pf.d.str(e.val, r.f(k))
	if err != nil {
		return "", err
	}
	if c != nil {
		norm, problem, fix := c(r.f(k), v)
		if problem != "" {
			return "", r.pf.d.fail(e.val, r.f(k), problem, fix)
		}
		v = norm
	}
	r.origins["source."+k] = r.pf.d.origin(e.val)
	return v, nil
}

// path reads a path setting and makes it absolute relative to the file's folder.
func (r *sourceReader) path(k string, required bool) (string, error) {
	v, err := r.str(k, func(field, v string) (string, string, string) {
		return r.pf.l.paths.abs(field, v, r.pf.dir)
	})
	if err == nil && v == "" && required {
		return "", r.missing(k, aSource(r.st), "/path/to/file")
	}
	return v, err
}

func (r *sourceReader) apiToken(profile string) (*APITokenSource, error) {
	s := &APITokenSource{}
	var err error
	if s.Env, err = r.str("env", checkEnvName); err != nil {
		return nil, err
	}
	if s.File, err = r.path("file", false); err != nil {
		return nil, err
	}
	if e, ok := r.m["keyring"]; ok {
		if s.Keyring, err = r.keyring(e, profile); err != nil {
			return nil, err
		}
	}
	set := []string{}
	for _, k := range []string{"env", "file", "keyring"} {
		if _, ok := r.m[k]; ok {
			set = append(set, k)
		}
	}
	if len(set) > 1 {
		return nil, r.pf.d.fail(r.m[set[1]].key, r.field, fmt.Sprintf("%s sets both %s and %s", r.field, set[0], set[1]), "keep one place to read the token from")
	}
	if len(set) == 0 {
		s.Env = EnvAPIToken
		r.origins["source.env"] = defaultOrigin("")
	}
	return s, nil
}

func (r *sourceReader) keyring(e entry, profile string) (*KeyringRef, error) {
	d := r.pf.d
	kf := r.f("keyring")
	if v := resolve(e.val); v.Kind == yaml.ScalarNode && v.ShortTag() == "!!null" {
		return nil, d.fail(e.key, kf, kf+" is empty", "write keyring: {service: cwcreds, user: "+profile+"} or keyring: {} for those defaults")
	}
	m, _, err := d.fields(e.val, kf, []string{"service", "user"}, nil)
	if err != nil {
		return nil, err
	}
	ref := &KeyringRef{Service: DefaultKeyringService, User: profile}
	r.origins["source.keyring.service"] = defaultOrigin("")
	r.origins["source.keyring.user"] = defaultOrigin("the profile name")
	for _, x := range []struct {
		k   string
		dst *string
	}{{"service", &ref.Service}, {"user", &ref.User}} {
		if ke, ok := m[x.k]; ok {
			if *x.dst, err = d.str(ke.val, join(kf, x.k)); err != nil {
				return nil, err
			}
			r.origins["source.keyring."+x.k] = d.origin(ke.val)
		}
	}
	return ref, nil
}

func (r *sourceReader) oidcRefresh() (*OIDCRefreshSource, error) {
	s := &OIDCRefreshSource{}
	var err error
	if s.Issuer, err = r.str("issuer", checkURL); err != nil {
		return nil, err
	}
	if s.Issuer == "" {
		return nil, r.missing("issuer", "an oidc_refresh source", "https://login.example.com")
	}
	if s.ClientID, err = r.str("client_id", nil); err != nil {
		return nil, err
	}
	if s.ClientID == "" {
		return nil, r.missing("client_id", "an oidc_refresh source", "the client id registered at the identity provider")
	}
	if s.ClientSecretFile, err = r.path("client_secret_file", false); err != nil {
		return nil, err
	}
	s.Scopes = append([]string(nil), defaultScopes...)
	r.origins["source.scopes"] = defaultOrigin("")
	if e, ok := r.m["scopes"]; ok {
		d := r.pf.d
		sf := r.f("scopes")
		if s.Scopes, err = d.strList(e.val, sf); err != nil {
			return nil, err
		}
		for i, sc := range s.Scopes {
			if _, problem, fix := checkScope(fmt.Sprintf("%s[%d]", sf, i), sc); problem != "" {
				return nil, d.fail(resolve(e.val).Content[i], sf, problem, fix)
			}
		}
		if !contains(s.Scopes, "openid") {
			return nil, d.fail(e.val, sf, sf+" lacks openid, without which no ID token is issued", "add openid to the list")
		}
		r.origins["source.scopes"] = d.origin(e.val)
	}
	return s, nil
}

func (r *sourceReader) samlFile() (*SAMLFileSource, error) {
	s := &SAMLFileSource{}
	var err error
	if e, ok := r.m["path"]; ok && resolve(e.val).Value == "-" {
		s.Path = "-" // stdin
		r.origins["source.path"] = r.pf.d.origin(e.val)
	} else if s.Path, err = r.path("path", false); err != nil {
		return nil, err
	}
	if s.Path == "" {
		return nil, r.missing("path", "a saml_file source", "/path/to/response.b64 (or - for stdin)")
	}
	if s.ConfigID, err = r.str("config_id", checkID); err != nil {
		return nil, err
	}
	if s.ConfigID == "" {
		return nil, r.missing("config_id", "a saml_file source", "the SAML Config ID from the CoreWeave console")
	}
	return s, nil
}

func (r *sourceReader) samlLogin() (*SAMLLoginSource, error) {
	s := &SAMLLoginSource{}
	var err error
	// Metadata URLs often carry a query (Entra ID's appid=…): only the scheme and
	// host are checked, as for an issuer.
	if s.IDPMetadataURL, err = r.str("idp_metadata_url", checkMetadataURL); err != nil {
		return nil, err
	}
	if s.IDPMetadataFile, err = r.path("idp_metadata_file", false); err != nil {
		return nil, err
	}
	switch {
	case s.IDPMetadataURL != "" && s.IDPMetadataFile != "":
		return nil, r.pf.d.fail(r.m["idp_metadata_file"].key, r.field, r.field+" sets both idp_metadata_url and idp_metadata_file", "keep one of them")
	case s.IDPMetadataURL == "" && s.IDPMetadataFile == "":
		return nil, r.missing("idp_metadata_url", "a saml_login source", "the IdP's SAML metadata URL (or idp_metadata_file: /path/to/metadata.xml)")
	}
	if s.ConfigID, err = r.str("config_id", checkID); err != nil {
		return nil, err
	}
	if s.ConfigID == "" {
		return nil, r.missing("config_id", "a saml_login source", "the SAML Config ID from the CoreWeave console")
	}
	if s.Role, err = r.str("role", nil); err != nil {
		return nil, err
	}
	if e, ok := r.m["acs_port"]; ok {
		pf := r.f("acs_port")
		v, err := r.pf.d.str(e.val, pf)
		if err != nil {
			return nil, err
		}
		port, perr := strconv.Atoi(v)
		if perr != nil || port < 1 || port > 65535 {
			return nil, r.pf.d.fail(e.val, pf, fmt.Sprintf("%s %s is not a port", pf, show(v)), "use 1-65535 (the port registered as the ACS at the IdP)")
		}
		s.ACSPort = port
		r.origins["source.acs_port"] = r.pf.d.origin(e.val)
	}
	return s, nil
}

// checkMetadataURL accepts an https URL (http on loopback), query included.
func checkMetadataURL(field, v string) (string, string, string) {
	base, _, _ := strings.Cut(v, "?")
	if _, problem, fix := checkURL(field, base); problem != "" {
		return "", problem, fix
	}
	return v, "", ""
}

func (r *sourceReader) tokenCommand() (*TokenCommandSource, error) {
	d := r.pf.d
	s := &TokenCommandSource{Timeout: DefaultCommandTimeout, Format: FormatJWT}
	e, ok := r.m["command"]
	if !ok {
		return nil, r.missing("command", "a token_command source", "[program, arg1, arg2]")
	}
	cf := r.f("command")
	argv, err := d.strList(e.val, cf)
	if err != nil {
		return nil, err
	}
	// A program named with a path is relative to the config file; a bare name
	// is looked up in PATH when it runs.
	if p := argv[0]; strings.ContainsAny(p, `/\`) || strings.HasPrefix(p, "~") {
		abs, problem, fix := r.pf.l.paths.abs(cf+"[0]", p, r.pf.dir)
		if problem != "" {
			return nil, d.fail(resolve(e.val).Content[0], cf, problem, fix)
		}
		argv[0] = abs
	}
	s.Command = argv
	r.origins["source.command"] = d.origin(e.val)

	r.origins["source.timeout"] = defaultOrigin("")
	if te, ok := r.m["timeout"]; ok {
		tf := r.f("timeout")
		if s.Timeout, err = d.duration(te.val, tf); err != nil {
			return nil, err
		}
		if s.Timeout < time.Second || s.Timeout > MaxCommandTimeout {
			return nil, d.fail(te.val, tf, fmt.Sprintf("%s %s is out of range", tf, fmtDur(s.Timeout)), "use between 1s and "+fmtDur(MaxCommandTimeout))
		}
		r.origins["source.timeout"] = d.origin(te.val)
	}
	r.origins["source.format"] = defaultOrigin("")
	format, err := r.str("format", func(field, v string) (string, string, string) {
		if v != string(FormatJWT) && v != string(FormatExecCredential) {
			return "", fmt.Sprintf("%s %s is not a format", field, show(v)), "use jwt or exec_credential"
		}
		return v, "", ""
	})
	if err != nil {
		return nil, err
	}
	if format != "" {
		s.Format = CommandFormat(format)
	}
	return s, nil
}
