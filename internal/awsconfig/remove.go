package awsconfig

import (
	"bytes"
	"fmt"
	"sort"
)

// Remove deletes keys (top-level names such as credential_process, or "s3" for
// the whole nested block) from every section botocore reads as profile. A key's
// own lines go (the `key =` line and its indented continuation lines); comments
// and blank lines between them stay, and so does the section header, even when
// no key is left. Missing keys and a missing profile are not errors. A file with
// a byte-order mark keeps it.
func Remove(contents []byte, profile string, keys []string) (updated []byte, changed bool, err error) {
	if err := checkProfileName(profile); err != nil {
		return nil, false, err
	}
	for _, k := range keys {
		if err := checkKey(k); err != nil {
			return nil, false, err
		}
	}
	f, doc, goIn, err := parseBoth(contents)
	if err != nil {
		return nil, false, err
	}
	ed := newEditor(f)
	for _, sect := range doc.targets(profile) {
		for _, k := range keys {
			o := sect.find(k)
			if o == nil {
				continue
			}
			if len(o.conts) > 0 && o.parts[0] != "" {
				return nil, false, fmt.Errorf("profile %s: line %d: %s continues on the indented lines below it, so cwcreds cannot remove it without touching them: remove it by hand", profile, lineNo(o.line), k)
			}
			ed.remove[o.line] = true
			for _, c := range o.conts {
				ed.remove[c] = true
			}
		}
	}
	rendered, _ := ed.render()
	out := rendered.bytes()
	if err := verifyRemove(out, profile, keys); err != nil {
		return nil, false, err
	}
	if g, err := goParse(out); err != nil {
		return nil, false, err
	} else if other := changedOther(goIn, g, profile); other != "" {
		return nil, false, fmt.Errorf("profile %s: removing the keys would also change %s for the AWS SDK for Go, because of an unusual section header: fix the headers and run again", profile, goSectionLabel(other))
	}
	return out, !bytes.Equal(out, contents), nil
}

func verifyRemove(out []byte, profile string, keys []string) error {
	f, err := splitLines(out)
	if err == nil {
		var doc *pyDoc
		if doc, err = pyParse(f.lines); err == nil {
			for _, sect := range doc.targets(profile) {
				for _, k := range keys {
					if sect.find(k) != nil {
						return fmt.Errorf("internal error: %s is still in profile %s after removal: please report this bug", k, profile)
					}
				}
			}
		}
	}
	if err != nil {
		return fmt.Errorf("internal error: the AWS CLI could not read the file after removal (%v): please report this bug", err)
	}
	return nil
}

// Profile is one profile as the AWS CLI (botocore) reads it, [DEFAULT] keys
// included.
type Profile struct {
	Name   string
	Line   int                          // 1-based line of the [header] botocore uses
	Values map[string]string            // plain keys
	Nested map[string]map[string]string // nested sections such as s3
}

// Keys lists the profile's key names, nested sections included, sorted.
func (p Profile) Keys() []string {
	var ks []string
	for k := range p.Values {
		ks = append(ks, k)
	}
	for k := range p.Nested {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// Get returns profile as botocore reads it, so a caller can see what is already
// there (say, sso_session or source_profile, which the AWS CLI would use instead
// of credential_process) before writing. ok is false when botocore has no such
// profile. It refuses files the AWS CLI cannot read, including ones with a
// byte-order mark (ErrBOM).
func Get(contents []byte, profile string) (p Profile, ok bool, err error) {
	f, err := splitLines(contents)
	if err != nil {
		return Profile{}, false, err
	}
	if f.bom {
		return Profile{}, false, ErrBOM
	}
	doc, err := pyParse(f.lines)
	if err != nil {
		return Profile{}, false, err
	}
	targets := doc.targets(profile)
	if len(targets) == 0 {
		return Profile{}, false, nil
	}
	profiles, err := doc.profiles()
	if err != nil {
		return Profile{}, false, err
	}
	p = Profile{Name: profile, Line: lineNo(targets[len(targets)-1].header), Values: map[string]string{}, Nested: map[string]map[string]string{}}
	for k, v := range profiles[profile] {
		if v.nested != nil {
			p.Nested[k] = v.nested
		} else {
			p.Values[k] = v.str
		}
	}
	return p, true, nil
}
