// Package output renders what the admin commands show: a table for people, JSON
// or YAML for scripts. It knows no command: a command hands it a value (for JSON
// and YAML, with its json tags) and the table of the same value.
package output

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode"

	"go.yaml.in/yaml/v3"
	"golang.org/x/term"
)

// Format is an output format, the value of -o.
type Format string

const (
	Table Format = "table"
	JSON  Format = "json"
	YAML  Format = "yaml"
)

// Formats lists the formats -o takes.
func Formats() []Format { return []Format{Table, JSON, YAML} }

// ParseFormat checks the value of -o.
func ParseFormat(s string) (Format, error) {
	for _, f := range Formats() {
		if Format(s) == f {
			return f, nil
		}
	}
	return "", fmt.Errorf("-o %s is not an output format: use table, json or yaml", strconv.Quote(s))
}

// Rows is a table: a header and rows of the same width.
type Rows struct {
	Header []string
	Rows   [][]string
}

// Printer writes values in one format.
type Printer struct {
	W      io.Writer
	Format Format
	// Aligned pads table columns with spaces for a person; otherwise columns are
	// separated by one tab, for cut, awk and spreadsheets. Commands set it when W
	// is a terminal (IsTerminal).
	Aligned bool
}

// NewPrinter is a Printer for w that aligns tables when w is a terminal.
func NewPrinter(w io.Writer, f Format) Printer {
	return Printer{W: w, Format: f, Aligned: IsTerminal(w)}
}

// IsTerminal reports whether w is a terminal.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// Print writes v as JSON or YAML, or t as a table.
func (p Printer) Print(v any, t Rows) error {
	switch p.Format {
	case JSON:
		return WriteJSON(p.W, v)
	case YAML:
		return WriteYAML(p.W, v)
	}
	return p.WriteTable(t)
}

// WriteJSON writes v as indented JSON and a newline. HTML characters are not
// escaped: the output is read by people and jq, not embedded in pages.
func WriteJSON(w io.Writer, v any) error {
	data, err := marshalJSON(v)
	if err != nil {
		return err
	}
	_, err = w.Write(data)
	return err
}

func marshalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("could not encode the output as JSON: %w", err)
	}
	return buf.Bytes(), nil
}

// WriteYAML writes v as block YAML with the same field names, order and values
// as its JSON form: v is encoded as JSON and its tokens become YAML nodes.
func WriteYAML(w io.Writer, v any) error {
	data, err := marshalJSON(v)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	doc, err := jsonNode(dec)
	if err != nil {
		return fmt.Errorf("could not encode the output as YAML: %w", err)
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("could not encode the output as YAML: %w", err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("could not encode the output as YAML: %w", err)
	}
	_, err = w.Write(buf.Bytes())
	return err
}

// jsonNode reads one JSON value from dec as a YAML node, keeping key order.
func jsonNode(dec *json.Decoder) (*yaml.Node, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		if t == '{' {
			n.Kind, n.Tag = yaml.MappingNode, "!!map"
		}
		for dec.More() {
			if n.Kind == yaml.MappingNode {
				k, err := dec.Token()
				if err != nil {
					return nil, err
				}
				key, _ := k.(string)
				n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key})
			}
			c, err := jsonNode(dec)
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, c)
		}
		if _, err := dec.Token(); err != nil { // the closing delimiter
			return nil, err
		}
		return n, nil
	case string:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: t}, nil
	case json.Number:
		tag := "!!int"
		if strings.ContainsAny(string(t), ".eE") {
			tag = "!!float"
		}
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: string(t)}, nil
	case bool:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(t)}, nil
	}
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}, nil
}

// WriteTable writes t, aligned or tab-separated as p says. Cells are made safe
// for a terminal: control characters, tabs and line breaks from the server are
// shown escaped, never interpreted.
func (p Printer) WriteTable(t Rows) error {
	var buf bytes.Buffer
	var out io.Writer = &buf
	var tw *tabwriter.Writer
	if p.Aligned {
		tw = tabwriter.NewWriter(&buf, 0, 0, 2, ' ', 0)
		out = tw
	}
	write := func(cells []string) {
		for i, c := range cells {
			if i > 0 {
				out.Write([]byte{'\t'})
			}
			io.WriteString(out, Cell(c))
		}
		out.Write([]byte{'\n'})
	}
	if len(t.Header) > 0 {
		write(t.Header)
	}
	for _, r := range t.Rows {
		write(r)
	}
	if tw != nil {
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	data := buf.Bytes()
	if p.Aligned {
		data = trimTrailingSpaces(data)
	}
	_, err := p.W.Write(data)
	return err
}

// Cell is s as a table shows it: unchanged when every rune is printable, else
// Go-quoted so that no escape sequence reaches the terminal.
func Cell(s string) string {
	if strings.ContainsFunc(s, func(r rune) bool { return !unicode.IsPrint(r) || r == unicode.ReplacementChar }) {
		return strconv.QuoteToGraphic(s)
	}
	return s
}

// trimTrailingSpaces removes the padding tabwriter leaves after a last column
// that is shorter than others above it.
func trimTrailingSpaces(b []byte) []byte {
	lines := bytes.SplitAfter(b, []byte{'\n'})
	var out bytes.Buffer
	for _, l := range lines {
		nl := bytes.HasSuffix(l, []byte{'\n'})
		l = bytes.TrimRight(bytes.TrimSuffix(l, []byte{'\n'}), " ")
		out.Write(l)
		if nl {
			out.WriteByte('\n')
		}
	}
	return out.Bytes()
}
