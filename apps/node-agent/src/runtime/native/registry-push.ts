/**
 * Test support: pushes an OCI image made of tar layers to a distribution registry over its HTTP
 * API (monolithic blob uploads, then the manifest), with a Bearer token when one is given.
 */
import { createHash } from "node:crypto";

export const digestOf = (b: Buffer) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

export interface PushTarget {
  /** `host:port`, reached over plain HTTP. */
  registry: string;
  repo: string;
  /** An `authorization` header value for each request, if the registry wants one. */
  auth?: () => string;
}

async function send(
  t: PushTarget,
  url: string,
  body: Buffer,
  type: string,
  method = "PUT",
): Promise<Response> {
  const headers: Record<string, string> = { "content-type": type };
  if (t.auth) headers.authorization = t.auth();
  const res = await fetch(url.startsWith("http") ? url : `http://${t.registry}${url}`, {
    method,
    body,
    headers,
  });
  if (res.status >= 300) throw new Error(`${method} ${url}: ${res.status} ${await res.text()}`);
  return res;
}

async function pushBlob(t: PushTarget, blob: Buffer): Promise<string> {
  const digest = digestOf(blob);
  const started = await send(
    t,
    `/v2/${t.repo}/blobs/uploads/`,
    Buffer.alloc(0),
    "application/octet-stream",
    "POST",
  );
  const location = new URL(started.headers.get("location") ?? "", `http://${t.registry}`);
  location.searchParams.set("digest", digest);
  await send(t, location.href, blob, "application/octet-stream");
  return digest;
}

/**
 * Pushes `tag` with these layers, oldest first: each a tar, gzip-compressed in the registry when
 * `gzip(tar)` is given as its blob. Returns the digests of the manifest and of the config.
 */
export async function pushImage(
  t: PushTarget,
  tag: string,
  layers: { tar: Buffer; blob?: Buffer }[],
  config: Record<string, unknown>,
): Promise<{ manifestDigest: string; configDigest: string }> {
  const configBlob = Buffer.from(
    JSON.stringify({
      architecture: "amd64",
      os: "linux",
      config,
      rootfs: { type: "layers", diff_ids: layers.map((l) => digestOf(l.tar)) },
    }),
  );
  const descriptors = [];
  for (const l of layers) {
    const blob = l.blob ?? l.tar;
    descriptors.push({
      mediaType: `application/vnd.oci.image.layer.v1.tar${l.blob ? "+gzip" : ""}`,
      digest: await pushBlob(t, blob),
      size: blob.length,
    });
  }
  const configDigest = await pushBlob(t, configBlob);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: {
        mediaType: "application/vnd.oci.image.config.v1+json",
        digest: configDigest,
        size: configBlob.length,
      },
      layers: descriptors,
    }),
  );
  await send(t, `/v2/${t.repo}/manifests/${tag}`, manifest, "application/vnd.oci.image.manifest.v1+json");
  return { manifestDigest: digestOf(manifest), configDigest };
}
