package awsconfig

import (
	"fmt"
	"maps"
	"sort"
	"strings"
)

// This file reads the config the way aws-sdk-go-v2 config v1.33 does
// (internal/ini tokenize.go, parse.go, strings.go and processConfigSections in
// shared_config.go): lines split on "\n" only, headers and properties
// recognised line by line without indentation levels, inline " #" and " ;"
// comments cut from properties, a value wrapped in matching quotes unquoted, and
// `[profile NAME]` renamed to NAME (overriding a plain [NAME], including
// [default]). The editor uses it to check that Go programs see what it wrote.

type goValue struct {
	str  string
	mp   map[string]string
	line int // index of the line that set it last
}

type goSection struct {
	values map[string]*goValue
	header int // index of the first header line that opened it
}

type goDoc struct {
	sections map[string]*goSection
}

func goIsLineSpace(r byte) bool { return r == ' ' || r == '\t' }

func goTrimPropertyComment(s string) string {
	for _, sep := range []string{" #", " ;", "\t#", "\t;"} {
		s, _, _ = strings.Cut(s, sep)
	}
	return s
}

func goSplitProperty(s string) (string, string, bool) {
	eq, colon := strings.Index(s, "="), strings.Index(s, ":")
	sep := "="
	if eq == -1 || colon != -1 && colon < eq {
		sep = ":"
	}
	k, v, ok := strings.Cut(s, sep)
	if !ok {
		return "", "", false
	}
	return strings.TrimSpace(k), strings.TrimSpace(v), true
}

// goUnquote is the SDK's legacyStrconv. The SDK slices s[1:len(s)-1] whenever s
// starts and ends with the same quote, so a value that is one lone quote
// character makes it panic; that is reported as an error here.
func goUnquote(s string) (string, bool) {
	for _, q := range []string{`"`, `'`} {
		if strings.HasPrefix(s, q) && strings.HasSuffix(s, q) {
			if len(s) < 2 {
				return "", false
			}
			return s[1 : len(s)-1], true
		}
	}
	return s, true
}

func goSplitProfile(s string) (typ, name string) {
	first := 0
	for i, r := range s {
		if r == ' ' || r == '\t' {
			if first == 0 {
				first = i
			}
		} else if first != 0 {
			return s[:first], s[i:]
		}
	}
	if first == 0 {
		return "", s
	}
	return "", ""
}

func goParse(contents []byte) (*goDoc, error) {
	d := &goDoc{sections: map[string]*goSection{}}
	var csection, ckey string
	property := func(i int, key, value string) {
		if csection == "" {
			return
		}
		ckey = key
		d.sections[csection].values[key] = &goValue{str: value, line: i}
	}
	for i, ln := range strings.Split(string(contents), "\n") {
		if strings.TrimSpace(ln) == "" {
			continue
		}
		if t := strings.TrimLeft(ln, " \t"); strings.HasPrefix(t, "#") || strings.HasPrefix(t, ";") {
			continue
		}
		// Profile header: "[ type name ] ; comment".
		h, _, _ := strings.Cut(ln, "#")
		h, _, _ = strings.Cut(h, ";")
		if h = strings.TrimSpace(h); strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
			typ, name := goSplitProfile(strings.TrimSpace(h[1 : len(h)-1]))
			if typ != "" {
				name = typ + " " + name
			}
			ckey, csection = "", name
			if d.sections[name] == nil {
				d.sections[name] = &goSection{values: map[string]*goValue{}, header: i}
			}
			continue
		}
		if !goIsLineSpace(ln[0]) {
			k, v, ok := goSplitProperty(strings.TrimRight(goTrimPropertyComment(ln), " \t"))
			if !ok {
				continue // the SDK ignores lines it does not recognise
			}
			v, ok = goUnquote(v)
			if !ok {
				return nil, fmt.Errorf("line %d has a value that is a single quote character, which crashes programs built with the AWS SDK for Go: fix it and run again", lineNo(i))
			}
			property(i, strings.ToLower(k), v)
			continue
		}
		trimmed := strings.TrimLeft(ln, " \t")
		if k, v, ok := goSplitProperty(trimmed); ok {
			v, ok = goUnquote(v)
			if !ok {
				return nil, fmt.Errorf("line %d has a value that is a single quote character, which crashes programs built with the AWS SDK for Go: fix it and run again", lineNo(i))
			}
			k = strings.ToLower(k)
			if csection == "" {
				continue
			}
			parent := d.sections[csection].values[ckey]
			if ckey == "" || parent.str != "" {
				property(i, k, strings.TrimSpace(goTrimPropertyComment(v)))
				continue
			}
			if parent.mp == nil {
				parent.mp = map[string]string{}
			}
			parent.mp[k] = v
			parent.line = i
			continue
		}
		// Continuation of a plain value.
		if ckey == "" {
			continue
		}
		if v := d.sections[csection].values[ckey]; v.str != "" && v.mp == nil {
			v.str += "\n" + trimmed
		}
	}
	d.renameProfiles()
	return d, nil
}

// renameProfiles is processConfigSections: walk the sorted section names, rename
// "profile X" to X (dropping an existing X), keep "sso-session ", "services " and
// "default" sections, drop the rest.
func (d *goDoc) renameProfiles() {
	names := make([]string, 0, len(d.sections))
	for n := range d.sections {
		names = append(names, n)
	}
	sort.Strings(names)
	skip := map[string]bool{}
	for _, n := range names {
		if skip[n] {
			continue
		}
		switch {
		case strings.HasPrefix(n, "profile "):
			s := d.sections[n]
			delete(d.sections, n)
			renamed := strings.TrimPrefix(n, "profile ")
			d.sections[renamed] = s
			skip[renamed] = true
		case strings.HasPrefix(n, "sso-session "), strings.HasPrefix(n, "services "), strings.EqualFold(n, "default"):
		default:
			delete(d.sections, n)
		}
	}
}

// changedOther names a section, other than profile, that the Go SDK reads
// differently in b than in a ("" when there is none). An edit must never move
// lines into another profile, as it would under a header only botocore reads.
func changedOther(a, b *goDoc, profile string) string {
	same := func(x, y *goSection) bool {
		if x == nil || y == nil || len(x.values) != len(y.values) {
			return x == nil && y == nil
		}
		for k, v := range x.values {
			w := y.values[k]
			if w == nil || v.str != w.str || !maps.Equal(v.mp, w.mp) {
				return false
			}
		}
		return true
	}
	var names []string
	for n := range a.sections {
		names = append(names, n)
	}
	for n := range b.sections {
		if a.sections[n] == nil {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		if n != profile && !same(a.sections[n], b.sections[n]) {
			return n
		}
	}
	return ""
}

// goSectionLabel names a Go SDK section the way the user wrote it.
func goSectionLabel(name string) string {
	if strings.HasPrefix(name, "sso-session ") || strings.HasPrefix(name, "services ") {
		return "[" + name + "]"
	}
	return "profile " + name
}
