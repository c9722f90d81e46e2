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
// as its JSON form: v is encoded as JSON, read back as a YAML node (JSON is
// YAML), and written without the JSON flow style.
func WriteYAML(w io.Writer, v any) error {
	data, err := marshalJSON(v)
	if err != nil {
		return err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("could not encode the output as YAML: %w", err)
	}
	blockStyle(&doc)
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return fmt.Errorf("could not encode the output as YAML: %w", err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("could not encode the output as YAML: %w", err)
	}
	_, err = w.Write(buf.Bytes())
	return err
}

// blockStyle drops the flow and quoting styles JSON brought, so the encoder
// picks block style and quotes a string only where YAML needs it.
func blockStyle(n *yaml.Node) {
	n.Style = 0
	for _, c := range n.Content {
		blockStyle(c)
	}
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
