package awsconfig

import (
	"bytes"
	"fmt"
	"strings"
)

const (
	nestedS3     = "s3"
	nestedIndent = "    " // what `aws configure set s3.x` writes
)

// Upsert writes settings (e.g. credential_process, endpoint_url, region) and the
// nested s3 settings (e.g. addressing_style = virtual, written as
// `s3 =` followed by indented lines) into profile: `[default]` for "default",
// `[profile NAME]` otherwise.
//
//   - Keys already in the profile are rewritten in place, keeping their position,
//     spelling and the spacing around '='. Inline text after an old value goes
//     with it (botocore would read it as part of the value).
//   - Missing keys are added after the profile's last key, before any blank lines
//     and comments that lead into the next section; missing nested keys after the
//     last line of the existing `s3 =` block, indented like it.
//   - A profile that does not exist is appended at the end of the file.
//   - When botocore would read several sections as this profile (e.g. both
//     [default] and [profile default]), all of them are updated: botocore uses the
//     last, the Go SDK prefers [profile default].
//   - Every other line is kept byte for byte, including its line ending; new
//     lines copy the ending of the line they follow.
//
// Running Upsert on its own output changes nothing. It refuses (with an error
// naming the line) files the AWS CLI cannot read, files starting with a
// byte-order mark (ErrBOM), keys it cannot update without touching lines that
// belong to something else, and edits after which the AWS SDK for Go would read
// the profile differently from botocore. Errors never quote values.
func Upsert(contents []byte, profile string, settings []Setting, s3 []Setting) (updated []byte, changed bool, err error) {
	if err := checkProfileName(profile); err != nil {
		return nil, false, err
	}
	if err := checkSettings(settings, s3); err != nil {
		return nil, false, err
	}
	f, doc, goIn, err := parseBoth(contents)
	if err != nil {
		return nil, false, err
	}
	if f.bom {
		return nil, false, ErrBOM
	}
	ed := newEditor(f)
	targets := doc.targets(profile)
	if len(targets) == 0 {
		appendProfile(ed, profile, settings, s3)
	}
	for _, sect := range targets {
		if err := upsertSection(ed, f, sect, settings, s3); err != nil {
			return nil, false, fmt.Errorf("profile %s: %w", profile, err)
		}
	}
	rendered, origin := ed.render()
	out := rendered.bytes()
	if err := verifyUpsert(out, origin, goIn, profile, settings, s3); err != nil {
		return nil, false, err
	}
	return out, !bytes.Equal(out, contents), nil
}

// parseBoth splits and reads contents with both readers; either refusing is an error.
func parseBoth(contents []byte) (*file, *pyDoc, *goDoc, error) {
	f, err := splitLines(contents)
	if err != nil {
		return nil, nil, nil, err
	}
	doc, err := pyParse(f.lines)
	if err != nil {
		return nil, nil, nil, err
	}
	g, err := goParse(contents)
	if err != nil {
		return nil, nil, nil, err
	}
	return f, doc, g, nil
}

func profileHeader(profile string) string {
	if profile == "default" {
		return "[default]"
	}
	return "[profile " + profile + "]"
}

func newKeyLines(settings []Setting, s3 []Setting, indent string) []string {
	var out []string
	for _, s := range settings {
		out = append(out, s.Key+" = "+s.Value)
	}
	if len(s3) > 0 {
		out = append(out, nestedS3+" =")
		for _, s := range s3 {
			out = append(out, indent+s.Key+" = "+s.Value)
		}
	}
	return out
}

func appendProfile(ed *editor, profile string, settings, s3 []Setting) {
	var text []string
	last := len(ed.f.lines) - 1
	if last >= 0 && !isBlankText(ed.f.lines[last].text) {
		text = append(text, "") // a blank line between sections, as the AWS CLI writes
	}
	text = append(text, profileHeader(profile))
	text = append(text, newKeyLines(settings, s3, nestedIndent)...)
	ed.insertAfter(last, 0, text...)
}

func upsertSection(ed *editor, f *file, sect *pySection, settings, s3 []Setting) error {
	var missing []Setting
	for _, s := range settings {
		o := sect.find(s.Key)
		if o == nil {
			missing = append(missing, s)
			continue
		}
		if len(o.conts) > 0 {
			return fmt.Errorf("line %d: %s continues on the indented lines below it, so cwcreds cannot update it without touching them: join or remove those lines and run again", lineNo(o.line), s.Key)
		}
		if o.value() != s.Value {
			ed.replace[o.line] = rewriteValue(f.lines[o.line].text, s.Value, "=:")
		}
	}
	var missingNested []Setting
	if len(s3) > 0 {
		o := sect.find(nestedS3)
		if o == nil {
			missingNested = s3
		} else if err := upsertNested(ed, f, o, s3); err != nil {
			return err
		}
	}
	// New keys start in column 0: an indented line after a nested block would
	// join that block in the Go SDK.
	ed.insertAfter(sect.lastKeyLine(), 1, newKeyLines(missing, missingNested, nestedIndent)...)
	return nil
}

func upsertNested(ed *editor, f *file, o *pyOption, s3 []Setting) error {
	if o.parts[0] != "" {
		return fmt.Errorf("line %d: s3 has a value on its own line, but the AWS CLI expects a nested section (`s3 =` followed by indented `key = value` lines): fix it and run again", lineNo(o.line))
	}
	indent := pyLeftSpace(f.lines[o.line].text) + nestedIndent
	if len(o.conts) > 0 {
		indent = pyLeftSpace(f.lines[o.conts[0]].text)
	}
	var add []string
	for _, s := range s3 {
		found := false
		for _, c := range o.conts {
			k, v, _ := strings.Cut(pyStrip(f.lines[c].text), "=")
			if pyStrip(k) != s.Key {
				continue
			}
			found = true
			if pyStrip(v) != s.Value {
				ed.replace[c] = rewriteValue(f.lines[c].text, s.Value, "=")
			}
		}
		if !found {
			add = append(add, indent+s.Key+" = "+s.Value)
		}
	}
	after := o.line
	if len(o.conts) > 0 {
		after = o.conts[len(o.conts)-1]
	}
	ed.insertAfter(after, 0, add...)
	return nil
}

// verifyUpsert re-reads the result with both readers and checks each sees every
// value written. It is the guard against the two formats' corner cases.
// origin maps output lines to input lines, so errors name lines the user has;
// goIn is the Go SDK's reading of the input, which must not change outside profile.
func verifyUpsert(out []byte, origin []int, goIn *goDoc, profile string, settings, s3 []Setting) error {
	f, err := splitLines(out)
	if err != nil {
		return fmt.Errorf("internal error: the updated file does not split into lines (%v): please report this bug", err)
	}
	doc, err := pyParse(f.lines)
	if err != nil {
		return fmt.Errorf("internal error: the AWS CLI could not read the updated file (%v): please report this bug", err)
	}
	profiles, err := doc.profiles()
	if err != nil {
		return fmt.Errorf("internal error: the AWS CLI could not read the updated file (%v): please report this bug", err)
	}
	p := profiles[profile]
	for _, s := range settings {
		if v, ok := p[s.Key]; !ok || v.nested != nil || v.str != s.Value {
			return fmt.Errorf("internal error: the AWS CLI would not read the new %s of profile %s: please report this bug", s.Key, profile)
		}
	}
	if len(s3) > 0 {
		v := p[nestedS3]
		for _, s := range s3 {
			if v.nested == nil || v.nested[s.Key] != s.Value {
				return fmt.Errorf("internal error: the AWS CLI would not read the new s3.%s of profile %s: please report this bug", s.Key, profile)
			}
		}
	}
	g, err := goParse(out)
	if err != nil {
		return err
	}
	inputLine := func(i int) int {
		for ; i >= 0; i-- { // an inserted line: name the input line above it
			if i < len(origin) && origin[i] >= 0 {
				return lineNo(origin[i])
			}
		}
		return 1
	}
	targets := doc.targets(profile)
	near := inputLine(targets[len(targets)-1].header)
	if other := changedOther(goIn, g, profile); other != "" {
		return fmt.Errorf("profile %s: the AWS SDK for Go would read the new lines as part of %s, because of an unusual section header near line %d: fix the header and run again", profile, goSectionLabel(other), near)
	}
	gs := g.sections[profile]
	if gs == nil {
		return fmt.Errorf("profile %s: the AWS SDK for Go would not find the profile because of an unusual section header near line %d: fix the header and run again", profile, near)
	}
	for _, s := range settings {
		if v := gs.values[s.Key]; v == nil || v.str != s.Value {
			return goMismatch(profile, s.Key, v, near, inputLine)
		}
	}
	if len(s3) > 0 {
		v := gs.values[nestedS3]
		for _, s := range s3 {
			if v == nil || v.mp[s.Key] != s.Value {
				return goMismatch(profile, nestedS3+"."+s.Key, v, near, inputLine)
			}
		}
	}
	return nil
}

func goMismatch(profile, key string, v *goValue, near int, inputLine func(int) int) error {
	if v == nil {
		return fmt.Errorf("profile %s: the AWS SDK for Go would not see %s because of unusual formatting near line %d: fix it and run again", profile, key, near)
	}
	return fmt.Errorf("profile %s: the AWS SDK for Go would take %s from line %d instead of the new setting, because that line is formatted unusually: fix or remove it and run again", profile, key, inputLine(v.line))
}
