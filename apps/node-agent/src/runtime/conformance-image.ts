/**
 * Test support: a 2 MB image for the conformance suite, made from the host's static busybox and
 * imported through the Engine API (`POST /images/create?fromSrc=-`), so no registry, no CLI and
 * no build-time container are needed. It has a busybox userland in /bin and by default serves
 * /www/index.html on port 8080.
 */
import { readFile } from "node:fs/promises";
import { type EngineClient, engineMessage } from "./engine-http";
import { imagePath } from "./engine-mapping";

export const CONFORMANCE_IMAGE = "localhost/berth/runtime-conformance:v2";
export const CONFORMANCE_INDEX_HTML = "berth runtime conformance\n";

const APPLETS = [
  "sh",
  "cat",
  "date",
  "echo",
  "env",
  "grep",
  "head",
  "hostname",
  "httpd",
  "id",
  "kill",
  "ls",
  "mkdir",
  "nc",
  "pwd",
  "rm",
  "sleep",
  "stat",
  "tail",
  "touch",
  "tr",
  "true",
  "wc",
];

/** Imports the image unless the engine already has it. */
export async function ensureConformanceImage(
  engine: EngineClient,
  opts: { image?: string; busyboxPath?: string /** The image's `USER`. */; user?: string } = {},
): Promise<string> {
  const image = opts.image ?? CONFORMANCE_IMAGE;
  const existing = await engine.request({ method: "GET", path: `/images/${imagePath(image)}/json` });
  if (existing.status === 200) return image;

  const busybox = await readFile(opts.busyboxPath ?? "/usr/bin/busybox").catch((cause: unknown) => {
    throw new Error("the conformance image needs a static busybox (Debian package busybox-static)", {
      cause,
    });
  });
  const tar = buildTar([
    { type: "dir", name: "bin/" },
    { type: "file", name: "bin/busybox", mode: 0o755, data: busybox },
    ...APPLETS.map((a) => ({ type: "symlink" as const, name: `bin/${a}`, target: "busybox" })),
    { type: "dir", name: "etc/" },
    { type: "dir", name: "tmp/", mode: 0o1777 },
    { type: "dir", name: "www/" },
    { type: "file", name: "www/index.html", mode: 0o644, data: Buffer.from(CONFORMANCE_INDEX_HTML) },
  ]);
  // Podman 4.3 ignores the `tag` parameter of an import but honours a tag inside `repo`.
  const res = await engine.request({
    method: "POST",
    path: "/images/create",
    query: {
      fromSrc: "-",
      repo: image,
      changes: [
        'CMD ["/bin/httpd", "-f", "-p", "8080", "-h", "/www"]',
        "EXPOSE 8080/tcp",
        ...(opts.user !== undefined ? [`USER ${opts.user}`] : []),
      ],
    },
    body: tar,
    contentType: "application/x-tar",
    timeoutMs: 60_000,
  });
  if (res.status !== 200) {
    throw new Error(`importing ${image} failed: ${engineMessage(res)} (HTTP ${res.status})`);
  }
  return image;
}

type TarEntry =
  | { type: "dir"; name: string; mode?: number }
  | { type: "file"; name: string; mode: number; data: Buffer }
  | { type: "symlink"; name: string; target: string };

/** A minimal ustar archive: enough for a root filesystem of a few files. */
export function buildTar(entries: readonly TarEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    if (e.type === "dir") blocks.push(tarHeader(e.name, e.mode ?? 0o755, 0, "5", ""));
    if (e.type === "symlink") blocks.push(tarHeader(e.name, 0o777, 0, "2", e.target));
    if (e.type === "file") {
      blocks.push(tarHeader(e.name, e.mode, e.data.length, "0", ""), e.data);
      const pad = (512 - (e.data.length % 512)) % 512;
      if (pad > 0) blocks.push(Buffer.alloc(pad));
    }
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

function tarHeader(name: string, mode: number, size: number, type: "0" | "2" | "5", link: string): Buffer {
  if (Buffer.byteLength(name) > 99 || Buffer.byteLength(link) > 99) {
    throw new Error(`tar name too long: ${name}`);
  }
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, "utf8");
  octal(h, 100, 8, mode);
  octal(h, 108, 8, 0); // uid
  octal(h, 116, 8, 0); // gid
  octal(h, 124, 12, size);
  octal(h, 136, 12, 1_700_000_000); // fixed mtime: same bytes every run
  h.fill(0x20, 148, 156); // checksum counts as spaces while summing
  h.write(type, 156, 1, "ascii");
  h.write(link, 157, 100, "utf8");
  h.write("ustar\u000000", 257, 8, "ascii");
  h.write("root", 265, 32, "ascii");
  h.write("root", 297, 32, "ascii");
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(`${sum.toString(8).padStart(6, "0")}\u0000 `, 148, 8, "ascii");
  return h;
}

function octal(h: Buffer, offset: number, length: number, value: number): void {
  h.write(`${value.toString(8).padStart(length - 1, "0")}\u0000`, offset, length, "ascii");
}
