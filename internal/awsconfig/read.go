package awsconfig

import "sort"

// These read-only views serve `cwcreds doctor`, which asks what an AWS tool
// would do with the files as they are.

// Profiles returns every profile of an AWS config file as botocore reads it,
// sorted by name. It refuses what Get refuses.
func Profiles(contents []byte) ([]Profile, error) {
	doc, err := readDoc(contents)
	if err != nil {
		return nil, err
	}
	names := map[string]bool{}
	for _, s := range doc.sections {
		if s.isDefault {
			continue
		}
		if p, ok := profileOf(s.name); ok {
			names[p] = true
		}
	}
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	out := make([]Profile, 0, len(sorted))
	for _, n := range sorted {
		p, _, err := Get(contents, n)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// CredentialsProfile returns the section named profile of a shared credentials
// file (~/.aws/credentials), where sections are bare profile names, [default]
// included, as botocore's SharedCredentialProvider reads it. ok is false when the
// file has no such section.
func CredentialsProfile(contents []byte, profile string) (p Profile, ok bool, err error) {
	doc, err := readDoc(contents)
	if err != nil {
		return Profile{}, false, err
	}
	view, err := doc.botocoreView()
	if err != nil {
		return Profile{}, false, err
	}
	vals, ok := view[profile]
	if !ok {
		return Profile{}, false, nil
	}
	p = Profile{Name: profile, Values: map[string]string{}, Nested: map[string]map[string]string{}}
	for _, s := range doc.sections {
		if !s.isDefault && s.name == profile {
			p.Line = lineNo(s.header)
		}
	}
	for k, v := range vals {
		if v.nested != nil {
			p.Nested[k] = v.nested
		} else {
			p.Values[k] = v.str
		}
	}
	return p, true, nil
}

// SplitCommand splits a credential_process value into argv as botocore does
// (shlex, POSIX rules); the Go, Java and JS SDKs hand it to `sh -c`, which
// agrees for every value CredentialProcessCommand writes.
func SplitCommand(value string) ([]string, error) { return shlexSplit(value) }

func readDoc(contents []byte) (*pyDoc, error) {
	f, err := splitLines(contents)
	if err != nil {
		return nil, err
	}
	if f.bom {
		return nil, ErrBOM
	}
	return pyParse(f.lines)
}
