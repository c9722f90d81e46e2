package config

import "fmt"

// OriginKind says which layer a setting's value came from.
type OriginKind int

// The layers, from lowest to highest precedence. AWS_ENDPOINT_URL_S3 and
// AWS_REGION sit between the default and the file (OriginAWSEnv): cwcreds' own
// config is more specific than variables other tools may have set.
const (
	OriginDefault OriginKind = iota
	OriginAWSEnv
	OriginFile
	OriginEnv
	OriginFlag
)

// Origin is where one effective value came from.
type Origin struct {
	Kind OriginKind
	// Name is the environment variable ("CWCREDS_ORG_ID") or the flag ("--org-id").
	Name string
	// File, Line, Column locate a value read from the config file.
	File   string
	Line   int
	Column int
	// Note explains a derived default, e.g. "token_file source" for an exchange.
	Note string
}

func (o Origin) String() string {
	switch o.Kind {
	case OriginFlag:
		return "flag " + o.Name
	case OriginEnv, OriginAWSEnv:
		return "env " + o.Name
	case OriginFile:
		if o.Line > 0 {
			return fmt.Sprintf("%s:%d", o.File, o.Line)
		}
		return o.File
	default:
		if o.Note != "" {
			return "default (" + o.Note + ")"
		}
		return "default"
	}
}

func defaultOrigin(note string) Origin { return Origin{Kind: OriginDefault, Note: note} }
