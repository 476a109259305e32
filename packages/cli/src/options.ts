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

/** `-o, --output` of a command with formats of its own (`json`, `yaml`, `csv` …). */
export const formatsOption = (formats: string[]): Option =>
  new Option("-o, --output <format>", formats.join(", ")).choices(formats);
