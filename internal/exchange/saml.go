package exchange

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
)

// DefaultMaxSAMLBytes caps a SAML response file. The base64 of it must fit in the
// API's 1 MiB request limit.
const DefaultMaxSAMLBytes = 512 << 10

const samlProtocolNS = "urn:oasis:names:tc:SAML:2.0:protocol"

// SAMLFile yields a SAML <Response> from a file, or from standard input when Path is
// "-", as the API wants it: base64. The file may hold the base64 form (line-wrapped
// or not) or the raw XML. A file is re-read on every call; standard input is read
// once. A response is good for one exchange: write a new one to the file for the
// next (the cache notices the change).
type SAMLFile struct {
	// Path is the file, or "-" for standard input.
	Path string
	// Stdin is read when Path is "-", default os.Stdin.
	Stdin io.Reader
	// MaxBytes caps the input, default DefaultMaxSAMLBytes.
	MaxBytes int64

	mu        sync.Mutex
	stdinRead bool
	stdinData []byte
	stdinErr  error
}

// Describe names what the source yields.
func (s *SAMLFile) Describe() string {
	if s.Path == "-" {
		return "the SAML response from standard input"
	}
	return "the SAML response in " + s.Path
}

// Token returns the base64 SAML response. Errors are unrecoverable and never hold
// any of the response.
func (s *SAMLFile) Token(ctx context.Context) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", transientErr("could not read the SAML response", err)
	}
	data, err := s.read()
	if err != nil {
		return "", err
	}
	resp, err := NormalizeSAMLResponse(data)
	if err != nil {
		return "", identityErr(s.Describe()+" is not usable", err)
	}
	return resp, nil
}

// InputFingerprint is the sha256 of the input.
func (s *SAMLFile) InputFingerprint() (string, error) {
	data, err := s.read()
	if err != nil {
		return "unreadable:" + readFailureKind(err), nil
	}
	return fingerprint(data), nil
}

func (s *SAMLFile) limit() int64 {
	if s.MaxBytes <= 0 {
		return DefaultMaxSAMLBytes
	}
	return s.MaxBytes
}

func (s *SAMLFile) read() ([]byte, error) {
	switch s.Path {
	case "":
		return nil, identityErr("no SAML response file configured", errors.New(`set its path, or "-" for standard input`))
	case "-":
	default:
		return readCapped(s.Path, "SAML response file", s.limit())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.stdinRead {
		s.stdinRead = true
		in := s.Stdin
		if in == nil {
			in = os.Stdin
		}
		data, err := io.ReadAll(io.LimitReader(in, s.limit()+1))
		switch {
		case err != nil:
			s.stdinErr = identityErr("could not read the SAML response from standard input", err)
		case int64(len(data)) > s.limit():
			s.stdinErr = identityErr("the SAML response on standard input is too big",
				fmt.Errorf("%w: pipe in the response alone", &tooBigError{max: s.limit()}))
		default:
			s.stdinData = data
		}
	}
	return s.stdinData, s.stdinErr
}

// Reasons NormalizeSAMLResponse refuses an input. They are fixed texts: nothing
// of the input ever appears in them.
var (
	errSAMLEmpty       = errors.New("it is empty: save the SAMLResponse value the identity provider posted")
	errSAMLNotEncoded  = errors.New("it is neither XML nor base64: save the SAMLResponse value the identity provider posted")
	errSAMLNotXML      = errors.New("it is not an XML document: save the whole SAMLResponse")
	errSAMLNotResponse = errors.New("its root element is not a SAML <Response> (an assertion alone or a request cannot be exchanged)")
	errSAMLNamespace   = errors.New("its root <Response> is not in the SAML 2.0 protocol namespace " + samlProtocolNS)
)

// NormalizeSAMLResponse accepts a SAML protocol <Response> as raw XML or as base64
// (whitespace and line breaks allowed) and returns it as one line of standard
// base64. It checks that the document's root element is a SAML 2.0 protocol
// Response; signatures are for the server to verify. Errors never quote the input.
func NormalizeSAMLResponse(data []byte) (string, error) {
	data = bytes.TrimPrefix(bytes.TrimSpace(data), []byte("\xef\xbb\xbf"))
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return "", errSAMLEmpty
	}
	xmlDoc := data
	if data[0] != '<' {
		compact := bytes.Map(func(r rune) rune {
			if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
				return -1
			}
			return r
		}, data)
		dec := make([]byte, base64.StdEncoding.DecodedLen(len(compact)))
		n, err := base64.StdEncoding.Decode(dec, compact)
		if err != nil {
			return "", errSAMLNotEncoded
		}
		xmlDoc = bytes.TrimSpace(dec[:n])
	}
	if err := checkSAMLRoot(xmlDoc); err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(xmlDoc), nil
}

// checkSAMLRoot finds the first element and checks it is samlp:Response.
func checkSAMLRoot(doc []byte) error {
	d := xml.NewDecoder(bytes.NewReader(doc))
	d.Strict = true
	for {
		tok, err := d.RawToken()
		if err != nil {
			return errSAMLNotXML
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Local != "Response" {
				return errSAMLNotResponse
			}
			for _, a := range t.Attr {
				if (a.Name.Space == "xmlns" && a.Name.Local == t.Name.Space) || (a.Name.Space == "" && a.Name.Local == "xmlns" && t.Name.Space == "") {
					if a.Value == samlProtocolNS {
						return nil
					}
				}
			}
			return errSAMLNamespace
		case xml.ProcInst, xml.Comment, xml.CharData, xml.Directive:
			continue
		}
	}
}

// SAMLLoginNeeded is the identity source of a saml_login profile outside `cwcreds
// login`: SAML has no refresh, so once the keys a login cached are gone only a
// new login gives more.
type SAMLLoginNeeded struct{ Profile string }

// Describe names what the source yields.
func (SAMLLoginNeeded) Describe() string { return "a SAML login" }

// Token always fails, saying which command logs in.
func (s SAMLLoginNeeded) Token(context.Context) (string, error) {
	return "", identityErr("no SAML login holds keys for profile "+s.Profile,
		fmt.Errorf("SAML has no refresh: run `cwcreds login --profile %s`", s.Profile))
}

// InputFingerprint is constant: only a login, which writes the cache itself, helps.
func (SAMLLoginNeeded) InputFingerprint() (string, error) { return "saml-login", nil }
