import type { Command } from "commander";
import { contextNameOf, DEFAULT_SERVER, setContext } from "../config";
import { UsageError } from "../errors";
import { table } from "../output";
import { ask, readStdin } from "../prompt";
import type { Runtime } from "../runtime";

interface LoginOptions {
  server?: string;
  email?: string;
  passwordStdin?: boolean;
  apiKey?: string;
  apiKeyStdin?: boolean;
  name?: string;
}

/** The password: from stdin (`--password-stdin`), else asked on the terminal without echo. */
async function password(rt: Runtime, fromStdin: boolean | undefined): Promise<string> {
  if (fromStdin) return (await readStdin(rt.io)).replace(/\r?\n$/, "");
  return ask(rt.io, "Password: ", { hidden: true, flag: "--password-stdin" });
}

/** The server of a command: `--server`, else the current context's, else the local default. */
async function serverOf(rt: Runtime, given: string | undefined): Promise<string> {
  if (given) return given.replace(/\/$/, "");
  return rt
    .context()
    .then((c) => c.server)
    .catch(() => DEFAULT_SERVER);
}

export function registerSession(program: Command, rt: Runtime): void {
  program
    .command("signup")
    .description("create an account (a tenant) and its first user, an administrator")
    .requiredOption("--tenant <name>", "the tenant's name (a DNS label)")
    .requiredOption("--email <email>", "the first user's email")
    .option("--password-stdin", "read the password from stdin")
    .option("--server <url>", "the Berth API (default: the current context's, else http://127.0.0.1:8080)")
    .action(async (o: { tenant: string; email: string; passwordStdin?: boolean; server?: string }) => {
      const server = await serverOf(rt, o.server);
      const created = await rt.anonymous(server).auth.signup.mutate({
        tenantName: o.tenant,
        email: o.email,
        password: await password(rt, o.passwordStdin),
      });
      rt.print(`tenant/${created.tenant.name} created (${created.tenant.id}); user ${created.user.email}`);
      rt.print(`next: berth login --server ${server} --email ${o.email}`);
    });

  program
    .command("login")
    .description(
      "sign in and keep the session in a context of the config file (its access token is renewed as it expires)",
    )
    .option("--server <url>", "the Berth API (default: the current context's, else http://127.0.0.1:8080)")
    .option("--email <email>", "your email (asked when not given)")
    .option("--password-stdin", "read the password from stdin (else it is asked, hidden)")
    .option("--api-key <key>", "sign in with an API key instead of a password")
    .option("--api-key-stdin", "read the API key from stdin")
    .option("--name <context>", "the context's name (default: the server's host:port)")
    .action(async (o: LoginOptions) => {
      const server = await serverOf(rt, o.server);
      const client = rt.anonymous(server);
      const apiKey = o.apiKeyStdin ? (await readStdin(rt.io)).trim() : o.apiKey;
      let credentials: Record<string, string>;
      if (apiKey) {
        if (o.email || o.passwordStdin)
          throw new UsageError("--api-key and --email/--password-stdin exclude each other");
        const t = await client.auth.token.mutate({ apiKey });
        credentials = { apiKey, accessToken: t.accessToken, accessTokenExpiresAt: expiry(t.expiresIn) };
      } else {
        const email = o.email ?? (await ask(rt.io, "Email: ", { flag: "--email" }));
        const t = await client.auth.token.mutate({ email, password: await password(rt, o.passwordStdin) });
        credentials = {
          email,
          accessToken: t.accessToken,
          accessTokenExpiresAt: expiry(t.expiresIn),
          ...(t.refreshToken ? { refreshToken: t.refreshToken } : {}),
        };
      }
      const name = o.name ?? rt.globals.context ?? contextNameOf(server);
      const { config } = setContext(await rt.config(), name, { server, credentials });
      await rt.saveConfig({ ...config, currentContext: name });
      rt.print(
        `logged in to ${server}${credentials.email ? ` as ${credentials.email}` : " with an API key"} (context "${name}")`,
      );
    });

  program
    .command("logout")
    .description("end the session (its refresh token is revoked) and forget the context's credentials")
    .action(async () => {
      const context = await rt.context();
      const refreshToken = context.credentials?.refreshToken;
      if (refreshToken) await rt.anonymous(context.server).auth.logout.mutate({ refreshToken });
      await rt.saveConfig(setContext(await rt.config(), context.name, { credentials: {} }).config);
      rt.print(`logged out of context "${context.name}"`);
    });

  program
    .command("whoami")
    .description("who the current credentials are, and their policies")
    .action(async () => {
      const me = await (await rt.client()).auth.me.query({});
      rt.print(
        table(
          ["name", "id", "type", "tenant", "policies"],
          [
            [
              me.principal.name,
              me.principal.id,
              me.principal.type,
              me.tenantId,
              me.policies.map((p) => p.name).join(","),
            ],
          ],
        ),
      );
    });
}

const expiry = (seconds: number) => new Date(Date.now() + seconds * 1000).toISOString();
