import { homedir } from "node:os";
import { join } from "node:path";

/** What the CLI takes from its environment; the only place that reads `process.env`. */
export interface CliEnv {
  /** The config file: `BERTH_CONFIG`, else `$XDG_CONFIG_HOME/berth/config.yaml` (`~/.config/…`). */
  configPath: string;
}

export function cliEnv(source: NodeJS.ProcessEnv = process.env): CliEnv {
  const configHome = source.XDG_CONFIG_HOME || join(homedir(), ".config");
  return { configPath: source.BERTH_CONFIG || join(configHome, "berth", "config.yaml") };
}
