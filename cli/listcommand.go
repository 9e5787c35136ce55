package cli

import (
	"context"
	"io"

	"github.com/spf13/cobra"

	"github.com/aurora-cd/aurora/cli/apiclient"
)

// listing describes a `list` command of the tenant's objects of one kind.
type listing[T any] struct {
	// short and example are the command's help.
	short, example string
	// fetch reads the objects through the REST API.
	fetch func(*apiclient.Client, context.Context) ([]T, error)
	// header names the table's columns; row gives an object's cells in that order.
	header []string
	row    func(T) []string
}

// newListCommand returns `list` (alias `ls`): it fetches the objects and prints them as a table, or
// as a JSON or YAML list ([] when there are none) with -o.
func newListCommand[T any](l listing[T]) *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   l.short,
		Example: l.example,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, c, err := newAPISession(cmd)
			if err != nil {
				return err
			}
			items, err := l.fetch(c, cmd.Context())
			if err != nil {
				return err
			}
			if items == nil {
				items = []T{}
			}
			return printValue(cmd.OutOrStdout(), s.cfg.Output, items, func(w io.Writer) error {
				rows := make([][]string, len(items))
				for i, item := range items {
					rows[i] = l.row(item)
				}
				return table(w, l.header, rows)
			})
		},
	}
}
