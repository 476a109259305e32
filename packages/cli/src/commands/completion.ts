import type { Command } from "commander";
import { UsageError } from "../errors";
import { RESOURCES } from "../resources";
import type { Runtime } from "../runtime";

/** Each command path (`clusters create`) with its subcommands and flags, for the completion scripts. */
function words(
  cmd: Command,
  path: string[] = [],
): { path: string; subcommands: string[]; flags: string[] }[] {
  const here = {
    path: path.join(" "),
    subcommands: cmd.commands.map((c) => c.name()),
    flags: cmd.options.flatMap((o) => [o.long, o.short].filter((f): f is string => Boolean(f))),
  };
  return [here, ...cmd.commands.flatMap((c) => words(c, [...path, c.name()]))];
}

const kinds = () => RESOURCES.flatMap((r) => r.names).join(" ");

function bash(program: Command): string {
  const cases = words(program)
    .map((w) => `    "${w.path}") opts="${[...w.subcommands, ...w.flags].join(" ")}" ;;`)
    .join("\n");
  return `# berth completion for bash: source <(berth completion bash)
_berth() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" path="" word opts
  for word in "\${COMP_WORDS[@]:1:COMP_CWORD-1}"; do
    [[ "$word" == -* ]] && continue
    case " $(_berth_sub "$path") " in *" $word "*) path="\${path:+$path }$word" ;; esac
  done
  case "$path" in
${cases}
    *) opts="" ;;
  esac
  case "$path" in get|describe|delete) opts="$opts ${kinds()}" ;; esac
  COMPREPLY=( $(compgen -W "$opts" -- "$cur") )
}
_berth_sub() {
  case "$1" in
${words(program)
  .map((w) => `    "${w.path}") echo "${w.subcommands.join(" ")}" ;;`)
  .join("\n")}
  esac
}
complete -F _berth berth
`;
}

function zsh(program: Command): string {
  return `#compdef berth
# berth completion for zsh: source <(berth completion zsh)
autoload -U +X bashcompinit && bashcompinit
${bash(program)}`;
}

export function registerCompletion(program: Command, rt: Runtime): void {
  program
    .command("completion <shell>")
    .description("a completion script for bash or zsh: source <(berth completion bash)")
    .action((shell: string) => {
      if (shell === "bash") return void rt.print(bash(program));
      if (shell === "zsh") return void rt.print(zsh(program));
      throw new UsageError(`completion: unknown shell "${shell}" (bash or zsh)`);
    });
}
