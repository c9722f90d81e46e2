package output

import (
	"bytes"
	"strings"
	"testing"
)

type sample struct {
	Name    string            `json:"name"`
	Flag    string            `json:"flag"`
	Count   int               `json:"count"`
	Tags    []string          `json:"tags"`
	Attrs   map[string]string `json:"attrs,omitempty"`
	Missing *bool             `json:"missing"`
}

func TestYAMLMirrorsJSON(t *testing.T) {
	v := []sample{{Name: "a: b", Flag: "true", Count: 3, Tags: []string{}, Attrs: map[string]string{"z": "1", "a": "#x"}}}
	var j, y bytes.Buffer
	if err := WriteJSON(&j, v); err != nil {
		t.Fatal(err)
	}
	if err := WriteYAML(&y, v); err != nil {
		t.Fatal(err)
	}
	wantJSON := `[
  {
    "name": "a: b",
    "flag": "true",
    "count": 3,
    "tags": [],
    "attrs": {
      "a": "#x",
      "z": "1"
    },
    "missing": null
  }
]
`
	wantYAML := `- name: 'a: b'
  flag: "true"
  count: 3
  tags: []
  attrs:
    a: '#x'
    z: "1"
  missing: null
`
	if j.String() != wantJSON {
		t.Errorf("json:\n%s", j.String())
	}
	if y.String() != wantYAML {
		t.Errorf("yaml:\n%s", y.String())
	}
}

func TestTableAlignedAndTabSeparated(t *testing.T) {
	rows := Rows{Header: []string{"NAME", "STATUS", "NOTE"}, Rows: [][]string{
		{"short", "ACTIVE", ""},
		{"a-much-longer-name", "SUSPENDED", "x"},
	}}
	var aligned, tsv bytes.Buffer
	if err := (Printer{W: &aligned, Format: Table, Aligned: true}).Print(nil, rows); err != nil {
		t.Fatal(err)
	}
	if err := (Printer{W: &tsv, Format: Table}).Print(nil, rows); err != nil {
		t.Fatal(err)
	}
	wantAligned := "NAME                STATUS     NOTE\n" +
		"short               ACTIVE\n" +
		"a-much-longer-name  SUSPENDED  x\n"
	if aligned.String() != wantAligned {
		t.Errorf("aligned:\n%q\nwant\n%q", aligned.String(), wantAligned)
	}
	wantTSV := "NAME\tSTATUS\tNOTE\nshort\tACTIVE\t\na-much-longer-name\tSUSPENDED\tx\n"
	if tsv.String() != wantTSV {
		t.Errorf("tsv: %q", tsv.String())
	}
}

func TestTableEscapesControlCharacters(t *testing.T) {
	var out bytes.Buffer
	rows := Rows{Rows: [][]string{{"evil\x1b[31mred", "tab\there", "line\nbreak", "ünïcode ok"}}}
	if err := (Printer{W: &out, Format: Table}).Print(nil, rows); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	if strings.ContainsAny(got, "\x1b") || strings.Count(got, "\n") != 1 || strings.Count(got, "\t") != 3 {
		t.Fatalf("control characters reached the output: %q", got)
	}
	if !strings.Contains(got, `"evil\x1b[31mred"`) || !strings.Contains(got, "ünïcode ok") {
		t.Fatalf("cells: %q", got)
	}
}

func TestParseFormat(t *testing.T) {
	for _, ok := range []string{"table", "json", "yaml"} {
		if f, err := ParseFormat(ok); err != nil || string(f) != ok {
			t.Errorf("%s: %v", ok, err)
		}
	}
	if _, err := ParseFormat("xml"); err == nil || !strings.Contains(err.Error(), "table, json or yaml") {
		t.Errorf("xml: %v", err)
	}
}
