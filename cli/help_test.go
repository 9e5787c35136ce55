package cli

import (
	"testing"

	. "github.com/onsi/gomega"
	"github.com/spf13/cobra"
)

// TestUserCommandsHaveHelp checks that every user command says what it does and shows examples,
// and takes -o.
func TestUserCommandsHaveHelp(t *testing.T) {
	g := NewWithT(t)
	root := NewRootCommand()
	var walk func(c *cobra.Command)
	seen := 0
	walk = func(c *cobra.Command) {
		seen++
		g.Expect(c.Short).NotTo(BeEmpty(), c.CommandPath())
		g.Expect(c.Example).NotTo(BeEmpty(), c.CommandPath()+" has no example")
		if c.Runnable() {
			c.InitDefaultHelpFlag()
			g.Expect(c.Flags().Lookup("output")).NotTo(BeNil(), c.CommandPath()+" has no -o")
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	for _, c := range root.Commands() {
		if c.GroupID == groupUser {
			walk(c)
		}
	}
	g.Expect(seen).To(BeNumerically(">=", 20))
}
