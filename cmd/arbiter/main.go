// Command arbiter runs an Arbiter coordinator node (arbiter serve) and
// talks to a running cluster (arbiter status, arbiter tx list).
package main

import (
	"fmt"
	"os"
)

func main() {
	if err := rootCmd().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "arbiter:", err)
		os.Exit(1)
	}
}
