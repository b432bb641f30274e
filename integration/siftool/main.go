// siftool: the SIF reference implementation's command set (sylabs/sif pkg/siftool, from
// Debian's golang-github-sylabs-sif-dev), used by the integration tests as an independent
// oracle for the files sifter writes.
package main

import (
	"os"

	"github.com/spf13/cobra"
	"github.com/sylabs/sif/v2/pkg/siftool"
)

func main() {
	root := &cobra.Command{Use: "siftool", SilenceUsage: true}
	if err := siftool.AddCommands(root); err != nil {
		os.Exit(2)
	}
	if err := root.Execute(); err != nil {
		os.Exit(1)
	}
}
