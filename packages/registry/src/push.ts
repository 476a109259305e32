import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";

/**
 * Pushes an image from an OCI image layout directory (`podman save --format oci-dir`) with a bearer
 * token the caller already holds: how the platform, which holds the token signing key, publishes
 * its own images (the demo image in `library/`) without going through the tenant token service.
 * Blobs the registry has are not sent again; the manifest is put last, under `tag`.
 */
export interface PushLayoutOptions {
  /** The directory of an OCI layout holding one image. */
  dir: string;
  /** Base URL with the scheme (`http://127.0.0.1:55000`). */
  registry: string;
  repository: string;
  tag: string;
  token: string;
  fetch?: typeof fetch;
}

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
}

async function blobPath(dir: string, digest: string): Promise<Buffer> {
  const [algorithm, hex] = digest.split(":");
  if (algorithm !== "sha256" || !hex || !/^[a-f0-9]{64}$/.test(hex))
    throw new Error(`unsupported digest ${digest}`);
  const bytes = await readFile(join(dir, "blobs", algorithm, hex));
  if (createHash("sha256").update(bytes).digest("hex") !== hex)
    throw new Error(`${digest} in ${dir} does not match its digest`);
  return bytes;
}

/** Returns the pushed manifest's digest. */
export async function pushOciLayout(opts: PushLayoutOptions): Promise<string> {
  const doFetch = opts.fetch ?? fetch;
  const base = `${opts.registry.replace(/\/+$/, "")}/v2/${opts.repository}`;
  const auth = { authorization: `Bearer ${opts.token}` };
  const index = JSON.parse(await readFile(join(opts.dir, "index.json"), "utf8")) as {
    manifests?: Descriptor[];
  };
  const top = index.manifests?.[0];
  if (!top || index.manifests?.length !== 1) throw new Error(`${opts.dir}: expected one image in index.json`);
  const manifestBytes = await blobPath(opts.dir, top.digest);
  const manifest = JSON.parse(manifestBytes.toString("utf8")) as {
    config?: Descriptor;
    layers?: Descriptor[];
  };
  if (!manifest.config || !manifest.layers) throw new Error(`${top.digest} is not an image manifest`);

  const failed = async (res: Response, what: string) =>
    new Error(
      `${what}: the registry answered ${res.status} ${(await res.text().catch(() => "")).slice(0, 300)}`,
    );
  for (const d of [manifest.config, ...manifest.layers]) {
    const head = await doFetch(`${base}/blobs/${d.digest}`, { method: "HEAD", headers: auth });
    if (head.ok) continue;
    const bytes = await blobPath(opts.dir, d.digest);
    const start = await doFetch(`${base}/blobs/uploads/`, { method: "POST", headers: auth });
    const location = start.headers.get("location");
    if (start.status !== 202 || !location) throw await failed(start, `starting the upload of ${d.digest}`);
    const url = new URL(location, opts.registry);
    url.searchParams.set("digest", d.digest);
    const put = await doFetch(url, {
      method: "PUT",
      headers: {
        ...auth,
        "content-type": "application/octet-stream",
        "content-length": String(bytes.length),
      },
      body: bytes,
    });
    if (put.status !== 201) throw await failed(put, `uploading ${d.digest}`);
  }
  const res = await doFetch(`${base}/manifests/${opts.tag}`, {
    method: "PUT",
    headers: { ...auth, "content-type": top.mediaType },
    body: manifestBytes,
  });
  if (res.status !== 201) throw await failed(res, `putting the manifest ${opts.repository}:${opts.tag}`);
  return res.headers.get("docker-content-digest") ?? top.digest;
}
