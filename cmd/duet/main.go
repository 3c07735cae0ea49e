// Command duet runs the duet server and talks to it: `duet server`, `duet app`,
// `duet user`, `duet call` (a headless client) and `duet bench`.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

func main() {
	if err := rootCommand().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "duet:", err)
		os.Exit(exitCode(err))
	}
}

// rootCommand builds the whole command tree.
func rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "duet",
		Short: "duet: self-hosted 1-on-1 audio and video calls",
		Long: `duet: self-hosted 1-on-1 audio and video calls.

Exit status: 0 success (a server stopped by SIGTERM or SIGINT included); 1 any other error;
3 duet call could not start the call; 4 duet call ended with another reason than
--expect-reason; 5 --timeout passed (duet call, duet message listen --count); 6 duet server
cannot open its store.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(serverCommand(), appMessagingCommands(appCommand()), userCommand(), callCommand(), benchCommand())
	root.AddCommand(messageCommand(), pushCommand())
	root.AddCommand(recordingCommand())
	return root
}

// exitError carries a specific exit status.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }

func exitCode(err error) int {
	if e, ok := err.(*exitError); ok {
		return e.code
	}
	return 1
}

// envOr returns the environment variable name, or def when it is unset.
func envOr(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}
