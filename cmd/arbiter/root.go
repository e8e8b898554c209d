package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "arbiter",
		Short:         "Arbiter: a Raft-replicated two-phase-commit transaction coordinator",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(serveCmd(), statusCmd(), txCmd(), certsCmd(), healthCmd(), membersCmd(), snapshotCmd())
	return root
}

// envDefaults lets every flag be set by an environment variable:
// ARBITER_<FLAG> with dashes as underscores (--data-dir: ARBITER_DATA_DIR).
// A flag given on the command line wins.
func envDefaults(fs *pflag.FlagSet) error {
	var err error
	fs.VisitAll(func(f *pflag.Flag) {
		name := "ARBITER_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(name); ok && !f.Changed && err == nil {
			if serr := fs.Set(f.Name, v); serr != nil {
				err = fmt.Errorf("environment %s=%q: %w", name, v, serr)
			}
		}
	})
	return err
}
