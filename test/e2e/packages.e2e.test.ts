import { execFile } from "node:child_process";
import { copyFile, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { buildCli } from "@berth/cli/build";
import { createTestApi, type TestApi } from "@berth/control-api/testing";
import { buildSdk } from "@berth/sdk/build";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "./support";

const exec = promisify(execFile);
const TSC = join(ROOT, "node_modules/.bin/tsc");

/**
 * The SDK and the CLI as users install them: packed (`npm pack`), installed from the tarballs into
 * a plain project outside the workspace (offline: they carry no dependencies), then the README's
 * SDK example typechecked against the package's generated declarations and run, and the compiled
 * `berth` run — both against a real control API.
 */
let api: TestApi;
let server: { url: string; close(): Promise<void> };
let project: string;
let apiKey: string;
let email: string;
let password: string;

beforeAll(async () => {
  api = await createTestApi();
  server = await api.listen();
  const t = await api.tenant("packaged");
  ({ email, password } = t);
  const created = await api.call("POST", "/v1/api-keys", { token: t.token, body: { name: "example" } });
  expect(created.status).toBe(201);
  apiKey = created.body.key;
  const [sdk, cli] = await Promise.all([buildSdk({ pack: true }), buildCli({ pack: true })]);
  project = await mkdtemp(join(tmpdir(), "berth-packages-"));
  await writeFile(
    join(project, "package.json"),
    JSON.stringify({ name: "uses-berth", private: true, type: "module" }),
  );
  await exec(
    "npm",
    [
      "install",
      "--offline",
      "--no-audit",
      "--no-fund",
      "--ignore-scripts",
      sdk.tarball ?? "",
      cli.tarball ?? "",
    ],
    { cwd: project },
  );
  await writeFile(
    join(project, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        target: "ES2022",
        module: "NodeNext",
        moduleResolution: "NodeNext",
        strict: true,
        outDir: "out",
        types: ["node"],
        typeRoots: [join(ROOT, "node_modules/@types")],
      },
      include: ["*.ts"],
    }),
  );
}, 180_000);

afterAll(async () => {
  await server?.close();
  await api?.close();
  if (project) await rm(project, { recursive: true, force: true });
});

describe("the packed SDK and CLI, installed outside the workspace", () => {
  it("install with no dependencies and no server code", async () => {
    const sdk = JSON.parse(await readFile(join(project, "node_modules/@berth/sdk/package.json"), "utf8"));
    expect(sdk.dependencies ?? {}).toEqual({});
    const types = await readFile(join(project, "node_modules/@berth/sdk/procedures.d.ts"), "utf8");
    expect(types).not.toMatch(/control-api|drizzle|@berth\//);
    expect(types).toContain("export interface Procedures");
  });

  it("typecheck and run the README's SDK example", async () => {
    const example = await readFile(join(ROOT, "examples/sdk/quickstart.ts"), "utf8");
    // The README shows exactly the tested script.
    expect(await readFile(join(ROOT, "README.md"), "utf8")).toContain(example.trim());
    for (const file of ["quickstart.ts", "env.ts"])
      await copyFile(join(ROOT, "examples/sdk", file), join(project, file));
    await exec(TSC, ["-p", project]).catch((e: { stdout: string }) => {
      throw new Error(`the example does not compile against the packed SDK:\n${e.stdout}`);
    });
    const run = await exec(process.execPath, [join(project, "out/quickstart.js")], {
      env: { ...process.env, BERTH_URL: server.url, BERTH_API_KEY: apiKey },
    });
    expect(run.stdout).toMatch(/^signed in to tenant ten_\w+ as user usr_\w+$/m);
    expect(run.stdout).toMatch(/^cluster from-sdk \(cl_\w+\) is provisioning$/m);
    expect(run.stdout).toContain("clusters: from-sdk");
    expect(run.stdout).toMatch(/^refused: VALIDATION_FAILED \(400\) at name$/m);
  });

  it("type their calls: a misspelt field or a wrong reply type does not compile", async () => {
    await writeFile(
      join(project, "wrong.ts"),
      [
        'import { createClient } from "@berth/sdk";',
        'const berth = createClient({ url: "http://127.0.0.1:1" });',
        'await berth.clusters.create.mutate({ nmae: "x" });',
        'const c = await berth.clusters.get.query({ clusterId: "cl_x" });',
        "const n: number = c.name;",
        "console.log(n);",
      ].join("\n"),
    );
    const failed = await exec(TSC, ["-p", project, "--noEmit"]).catch((e: { stdout: string }) => e);
    await rm(join(project, "wrong.ts"));
    const out = (failed as { stdout: string }).stdout;
    expect(out).toMatch(
      /wrong\.ts\(3,\d+\): error TS2353: Object literal may only specify known properties, and 'nmae'/,
    );
    expect(out).toMatch(/wrong\.ts\(5,\d+\): error TS2322: Type 'string' is not assignable to type 'number'/);
  });

  it("give a working `berth` command", async () => {
    const bin = join(project, "node_modules/.bin/berth");
    const env = { ...process.env, BERTH_CONFIG: join(project, "berth.yaml"), NO_COLOR: "1" };
    const berth = (args: string[], input?: string) => {
      const p = exec(bin, args, { env });
      if (input !== undefined) p.child.stdin?.end(input);
      return p;
    };
    expect((await berth(["--version"])).stdout.trim()).toBe("0.1.0");
    await berth(["login", "--server", server.url, "--email", email, "--password-stdin"], password);
    const listed = await berth(["clusters", "list", "-o", "json"]);
    expect(JSON.parse(listed.stdout).items.map((c: { name: string }) => c.name)).toContain("from-sdk");
    const wrong = await berth(["clusters", "list", "--bogus"]).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect(wrong).toMatchObject({ code: 2 });
    expect((wrong as { stderr: string }).stderr).toMatch(/^error: unknown option '--bogus'/);
  });
});
