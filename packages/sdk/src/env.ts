/** The CLI's environment: where the API is, and the access token to use. */
export function cliEnv(source: NodeJS.ProcessEnv = process.env): { url: string; token: string | undefined } {
  return { url: source.BERTH_URL ?? "http://127.0.0.1:8080", token: source.BERTH_TOKEN };
}
