import { Option } from "commander";
import { type Format, parseFormat } from "./output";

/** `-o, --output` as every reading command takes it. */
export function outputOption(): Option {
  return new Option("-o, --output <format>", "output format: wide, json, yaml or name").choices([
    "wide",
    "json",
    "yaml",
    "name",
  ]);
}

export const formatOf = (opts: { output?: string }): Format => parseFormat(opts.output);
