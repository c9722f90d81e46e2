package config

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// topKeys are the settings allowed at the top of the file.
var topKeys = []string{"api_endpoint", "org_id", "s3_endpoint", "region", "default_profile", "ca_bundle", "cache_dir", "profiles"}

// topHints explain keys that people put at the top level by mistake.
var topHints = map[string]string{
	"profile":           "the section is called profiles:",
	"source":            "source belongs to a profile: put it under profiles.<name>",
	"exchange":          "exchange belongs to a profile: put it under profiles.<name>",
	"lifetime":          "lifetime belongs to a profile: put it under profiles.<name>",
	"refresh_margin":    "refresh_margin belongs to a profile: put it under profiles.<name>",
	"propagation_delay": "propagation_delay belongs to a profile: put it under profiles.<name>",
	"min_ttl":           "min_ttl belongs to a profile: put it under profiles.<name>",
}

// fromFile builds the Config from a file's contents; name is the path as the
// user gave it (used in errors), abs its absolute form.
func (l *loader) fromFile(name, abs string, data []byte) (*Config, error) {
	d := &doc{file: name}
	dir := filepath.Dir(abs)
	root, err := d.parse(data)
	if err != nil {
		return nil, err
	}
	if root == nil {
		return nil, &Error{File: name, Problem: "the file is empty", Fix: "add a profiles: section with at least one profile"}
	}
	top, _, err := d.fields(root, "", topKeys, topHints)
	if err != nil {
		return nil, err
	}
	fileGlobals := map[string]setting{}
	for _, k := range globalKeys {
		e, ok := top[k.key]
		if !ok {
			continue
		}
		v, err := d.str(e.val, k.key)
		if err != nil {
			return nil, err
		}
		fileGlobals[k.key] = setting{v: v, o: d.origin(resolve(e.val)), set: true}
	}
	g, err := l.resolveGlobals(fileGlobals, dir)
	if err != nil {
		return nil, err
	}
	c := l.newConfig(abs, g)

	pe, ok := top["profiles"]
	if !ok {
		return nil, &Error{File: name, Problem: "the file defines no profiles", Fix: "add a profiles: section with at least one profile"}
	}
	if pv := resolve(pe.val); pv.Kind == yaml.ScalarNode && pv.ShortTag() == "!!null" {
		return nil, d.fail(pe.key, "profiles", "profiles is empty", "add at least one profile under it")
	}
	_, entries, err := d.fields(pe.val, "profiles", nil, nil)
	if err != nil {
		return nil, err
	}
	if len(entries) == 0 {
		return nil, d.fail(pe.key, "profiles", "profiles is empty", "add at least one profile under it")
	}
	pf := &profileFile{l: l, d: d, dir: dir, g: g}
	for _, e := range entries {
		name := e.key.Value
		if _, problem, fix := checkProfileName("the name", name); problem != "" {
			return nil, d.fail(e.key, "profiles", problem, fix)
		}
		p, err := pf.profile(name, e)
		if err != nil {
			return nil, err
		}
		c.profiles[name] = p
		c.order = append(c.order, name)
	}

	// A default_profile written in the file must name one of its profiles; one
	// from a flag or the environment is checked when it is used.
	if dp := g["default_profile"]; dp.o.Kind == OriginFile {
		if _, ok := c.profiles[dp.v]; !ok {
			known := c.ProfileNames()
			sort.Strings(known)
			return nil, errAt(dp.o, "default_profile", fmt.Sprintf("default_profile %s names no profile", show(dp.v)), "use one of "+strings.Join(known, ", "))
		}
	}
	return c, nil
}
