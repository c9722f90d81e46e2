package awsconfig

import (
	"fmt"
	"strings"
)

// This file reads the config the way the AWS CLI does: Python's
// configparser.RawConfigParser (strict, '#' and ';' full-line comments, '=' and
// ':' delimiters, values continued on lines indented deeper than their key, blank
// lines kept inside values), then botocore's raw_config_parse (a value that starts
// with a newline is a nested section of `key = value` lines) and build_profile_map
// (`[profile NAME]` split with shlex, `[default]`). It fails exactly where
// botocore raises ConfigParseError, with one deliberate addition: setting names
// must be ASCII, because Python and Go lower-case other letters differently.

type pyKind int

const (
	kindBlank pyKind = iota
	kindComment
	kindHeader
	kindOption
	kindCont
)

// pyOption is one key of a section and the lines its value spans.
type pyOption struct {
	key   string   // lower-cased name
	line  int      // index of the `key = value` line
	conts []int    // indexes of its continuation lines
	parts []string // value lines as configparser collects them ("" for blank lines)
}

func (o *pyOption) value() string { return pyRstrip(strings.Join(o.parts, "\n")) }

// pySection is one `[header]` and the block of lines up to the next header.
type pySection struct {
	name      string
	header    int // line index
	end       int // index after the block's last line
	opts      []*pyOption
	isDefault bool // configparser's [DEFAULT], whose keys every section inherits
}

func (s *pySection) find(key string) *pyOption {
	for _, o := range s.opts {
		if o.key == key {
			return o
		}
	}
	return nil
}

// lastKeyLine is the index of the section's last key or continuation line (the
// header when it has none): new keys go right after it, before trailing blank
// lines and comments that introduce the next section.
func (s *pySection) lastKeyLine() int {
	last := s.header
	for _, o := range s.opts {
		if o.line > last {
			last = o.line
		}
		for _, c := range o.conts {
			if c > last {
				last = c
			}
		}
	}
	return last
}

type pyDoc struct {
	kinds    []pyKind
	sections []*pySection // file order; each [DEFAULT] block is its own entry
}

// pyValue is what botocore hands out for one key: a string or a nested section.
type pyValue struct {
	str    string
	nested map[string]string // non-nil for a nested section
}

func pyParse(lines []line) (*pyDoc, error) {
	d := &pyDoc{kinds: make([]pyKind, len(lines))}
	var (
		cur         *pySection
		opt         *pyOption
		indentLevel int
		seenSection = map[string]int{}    // name -> header line index
		seenOption  = map[[2]string]int{} // (section, key) -> line index
	)
	for i, ln := range lines {
		stripped := pyStrip(ln.text)
		switch {
		case strings.HasPrefix(stripped, "#") || strings.HasPrefix(stripped, ";"):
			// Comments neither end a value nor join it.
			d.kinds[i] = kindComment
			continue
		case stripped == "":
			d.kinds[i] = kindBlank
			if opt != nil {
				opt.parts = append(opt.parts, "")
			}
			continue
		}
		indent := runeIndent(ln.text)
		if cur != nil && opt != nil && indent > indentLevel {
			d.kinds[i] = kindCont
			opt.parts = append(opt.parts, stripped)
			opt.conts = append(opt.conts, i)
			continue
		}
		indentLevel = indent
		if name, ok := pyHeaderName(stripped); ok {
			if prev, dup := seenSection[name]; dup {
				return nil, fmt.Errorf("line %d repeats the section [%s] of line %d, which the AWS CLI refuses: merge the two sections and run again", lineNo(i), name, lineNo(prev))
			}
			if name != "DEFAULT" {
				seenSection[name] = i
			}
			if cur != nil {
				cur.end = i
			}
			cur = &pySection{name: name, header: i, isDefault: name == "DEFAULT"}
			d.sections = append(d.sections, cur)
			d.kinds[i] = kindHeader
			opt = nil
			continue
		}
		if cur == nil {
			return nil, fmt.Errorf("line %d is a setting outside any [section], which the AWS CLI refuses: move it under a [profile NAME] header and run again", lineNo(i))
		}
		key, value, ok := pyOptionLine(stripped)
		if !ok {
			return nil, fmt.Errorf("line %d is neither a `key = value` setting, a [section] header nor a comment, which the AWS CLI refuses: fix or comment it out and run again", lineNo(i))
		}
		if !isASCII(key) {
			return nil, fmt.Errorf("line %d has a setting name with non-ASCII letters, which cwcreds cannot edit around safely: rename or comment it out and run again", lineNo(i))
		}
		key = strings.ToLower(key)
		sect := cur.name
		if prev, dup := seenOption[[2]string{sect, key}]; dup {
			return nil, fmt.Errorf("line %d sets %s a second time in [%s] (first at line %d), which the AWS CLI refuses: keep one and run again", lineNo(i), key, sect, lineNo(prev))
		}
		seenOption[[2]string{sect, key}] = i
		opt = &pyOption{key: key, line: i, parts: []string{value}}
		cur.opts = append(cur.opts, opt)
		d.kinds[i] = kindOption
	}
	if cur != nil {
		cur.end = len(lines)
	}
	if _, err := d.botocoreView(); err != nil {
		return nil, err
	}
	// botocore parses [DEFAULT]'s nested values only once a section inherits
	// them, so a broken one would break the file as soon as a profile is added
	// or loses its own copy: refuse it now.
	for _, s := range d.sections {
		for _, o := range s.opts {
			if v := o.value(); s.isDefault && strings.HasPrefix(v, "\n") {
				if _, ok := pyNested(v); !ok {
					return nil, fmt.Errorf("line %d starts a nested section (%s =) in [DEFAULT] whose indented lines are not all `key = value`, which the AWS CLI refuses once a profile inherits it: fix them and run again", lineNo(o.line), o.key)
				}
			}
		}
	}
	return d, nil
}

// pyHeaderName applies configparser's SECTCRE `\[(?P<header>.+)\]` with match():
// the header runs from the leading '[' to the last ']' and is not trimmed.
func pyHeaderName(stripped string) (string, bool) {
	if !strings.HasPrefix(stripped, "[") {
		return "", false
	}
	end := strings.LastIndexByte(stripped, ']')
	if end < 2 {
		return "", false
	}
	return stripped[1:end], true
}

// pyOptionLine applies configparser's OPTCRE: the name runs up to the first '='
// or ':' (less the spaces before it) and must not be empty; the value is stripped.
func pyOptionLine(stripped string) (key, value string, ok bool) {
	p := firstDelim(stripped)
	if p < 0 {
		return "", "", false
	}
	key = pyRstrip(stripped[:p])
	if key == "" {
		return "", "", false
	}
	return key, pyStrip(stripped[p+1:]), true
}

// pyNested mirrors botocore's _parse_nested for a value that starts with a newline.
func pyNested(v string) (map[string]string, bool) {
	m := map[string]string{}
	for _, l := range strings.Split(v, "\n") {
		l = pyStrip(l)
		if l == "" {
			continue
		}
		k, val, ok := strings.Cut(l, "=")
		if !ok {
			return nil, false
		}
		m[pyStrip(k)] = pyStrip(val)
	}
	return m, true
}

// botocoreView is raw_config_parse: every section except [DEFAULT], with the
// [DEFAULT] keys merged under its own, nested values parsed.
func (d *pyDoc) botocoreView() (map[string]map[string]pyValue, error) {
	defaults := map[string]*pyOption{}
	var order []string
	for _, s := range d.sections {
		if s.isDefault {
			for _, o := range s.opts {
				if defaults[o.key] == nil {
					order = append(order, o.key)
				}
				defaults[o.key] = o
			}
		}
	}
	view := map[string]map[string]pyValue{}
	for _, s := range d.sections {
		if s.isDefault {
			continue
		}
		vals := map[string]pyValue{}
		add := func(o *pyOption) error {
			v := o.value()
			if !strings.HasPrefix(v, "\n") {
				vals[o.key] = pyValue{str: v}
				return nil
			}
			m, ok := pyNested(v)
			if !ok {
				return fmt.Errorf("line %d starts a nested section (%s =) whose indented lines are not all `key = value`, which the AWS CLI refuses: fix them and run again", lineNo(o.line), o.key)
			}
			vals[o.key] = pyValue{nested: m}
			return nil
		}
		for _, o := range s.opts {
			if err := add(o); err != nil {
				return nil, err
			}
		}
		for _, k := range order {
			if _, own := vals[k]; !own {
				if err := add(defaults[k]); err != nil {
					return nil, err
				}
			}
		}
		view[s.name] = vals
	}
	return view, nil
}

// profileOf is build_profile_map's reading of a section name: the profile it
// defines, if any.
func profileOf(section string) (string, bool) {
	if strings.HasPrefix(section, "profile") {
		parts, err := shlexSplit(section)
		if err != nil || len(parts) != 2 {
			return "", false
		}
		return parts[1], true
	}
	return "default", section == "default"
}

// targets are the sections botocore reads as profile, in file order (the last
// one wins in botocore, so the editor updates them all).
func (d *pyDoc) targets(profile string) []*pySection {
	var out []*pySection
	for _, s := range d.sections {
		if s.isDefault {
			continue
		}
		if p, ok := profileOf(s.name); ok && p == profile {
			out = append(out, s)
		}
	}
	return out
}

// profiles is build_profile_map's "profiles" map.
func (d *pyDoc) profiles() (map[string]map[string]pyValue, error) {
	view, err := d.botocoreView()
	if err != nil {
		return nil, err
	}
	out := map[string]map[string]pyValue{}
	for _, s := range d.sections {
		if s.isDefault {
			continue
		}
		if p, ok := profileOf(s.name); ok {
			out[p] = view[s.name]
		}
	}
	return out, nil
}
