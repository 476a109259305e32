/** A bench's command line: numbers given as `--name value`, switches as `--name on|off`, and `--json` (one JSON line printed last). */
const args = process.argv.slice(2);

export const flag = (name: string, fallback: number): number => {
  const at = args.indexOf(name);
  return at >= 0 ? Number(args[at + 1]) : fallback;
};

export const json = args.includes("--json");

/** `--name on|off` (absent: `fallback`). */
export const toggle = (name: string, fallback: boolean): boolean => {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] === "on" : fallback;
};
