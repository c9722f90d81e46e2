package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newCompletionCommand(env Env) *cobra.Command {
	return &cobra.Command{
		Use:   "completion bash|zsh|fish|powershell",
		Short: "Print a shell completion script",
		Long: "Print a shell completion script. For example:\n" +
			"  source <(cwcreds completion bash)\n" +
			"  cwcreds completion zsh > \"${fpath[1]}/_cwcreds\"\n" +
			"  cwcreds completion fish > ~/.config/fish/completions/cwcreds.fish",
		Args:      cobra.ExactArgs(1),
		ValidArgs: []string{"bash", "zsh", "fish", "powershell"},
		RunE: func(cmd *cobra.Command, args []string) error {
			root := cmd.Root()
			switch args[0] {
			case "bash":
				return root.GenBashCompletionV2(env.Stdout, true)
			case "zsh":
				return root.GenZshCompletion(env.Stdout)
			case "fish":
				return root.GenFishCompletion(env.Stdout, true)
			case "powershell":
				return root.GenPowerShellCompletionWithDesc(env.Stdout)
			default:
				return fmt.Errorf("unknown shell %q: choose bash, zsh, fish or powershell", args[0])
			}
		},
	}
}
