// What the example takes from its environment (the one place it reads process.env).
export const env = {
  /** The Berth API. */
  url: process.env.BERTH_URL ?? "http://127.0.0.1:8080",
  /** An API key (`berth api-keys create <name>`). */
  apiKey: process.env.BERTH_API_KEY,
};
