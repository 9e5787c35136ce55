package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"sigs.k8s.io/yaml"
)

// printValue writes v as JSON or YAML when format asks for it, and otherwise calls text.
func printValue(w io.Writer, format string, v any, text func(io.Writer) error) error {
	switch format {
	case outputJSON:
		data, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return fmt.Errorf("encoding the output: %w", err)
		}
		_, err = fmt.Fprintln(w, string(data))
		return err
	case outputYAML:
		data, err := yaml.Marshal(v)
		if err != nil {
			return fmt.Errorf("encoding the output: %w", err)
		}
		_, err = w.Write(data)
		return err
	default:
		return text(w)
	}
}

// printRaw writes an API answer (JSON) as it came, indented, or as YAML.
func printRaw(w io.Writer, format string, raw json.RawMessage, text func(io.Writer) error) error {
	if format == outputText {
		return text(w)
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return fmt.Errorf("decoding the answer: %w", err)
	}
	return printValue(w, format, v, text)
}

// table writes rows under a header, in aligned columns.
func table(w io.Writer, header []string, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// orDash is s, or "-" when empty.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
