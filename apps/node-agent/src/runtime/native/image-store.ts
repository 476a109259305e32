/**
 * The native runtime's images: blobs addressed by digest under `<root>/blobs/sha256/`, one record
 * per reference under `<root>/images/`, and each image's layers unpacked (whiteouts applied) into
 * one read-only tree under `<root>/rootfs/<config hex>/`, the lower layer of its containers'
 * overlays. Writes go through temporary names and renames, so a crash leaves nothing half-made.
 */
import { createHash, randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import {
  type ImageRef,
  parseImageRef,
  pullSource,
  RegistryClient,
  type RegistryClientOptions,
  refKey,
} from "./registry";
import { unpackLayer } from "./unpack";

/** The parts of an image's config the runtime uses. */
export interface ImageRuntimeConfig {
  User?: string;
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  WorkingDir?: string;
  Labels?: Record<string, string> | null;
}

export interface ImageRecord {
  reference: string;
  /** `sha256:…` of the config blob: the image's id. */
  id: string;
  /** `registry/repo@sha256:…` of the manifest pulled. */
  digest: string;
  config: ImageRuntimeConfig;
  /** The unpacked tree. */
  rootfs: string;
}

const LAYER_TYPES = /tar(\+gzip|\.gzip)?$|^application\/vnd\.oci\.image\.layer\.v1\.tar$/;

export class ImageStore {
  private readonly client: RegistryClient;
  private readonly pulls = new Map<string, Promise<ImageRecord>>();

  private readonly rewrites: RegistryClientOptions["rewrites"];

  constructor(
    private readonly root: string,
    registry: RegistryClientOptions = {},
  ) {
    this.client = new RegistryClient(registry);
    this.rewrites = registry.rewrites;
  }

  private recordPath(ref: ImageRef): string {
    return join(this.root, "images", `${createHash("sha256").update(refKey(ref)).digest("hex")}.json`);
  }

  /** The image's record when it is present (its tree unpacked), else null. */
  async get(image: string): Promise<ImageRecord | null> {
    const raw = await readFile(this.recordPath(parseImageRef(image)), "utf8").catch(() => null);
    if (raw === null) return null;
    const record = JSON.parse(raw) as ImageRecord;
    return (await stat(record.rootfs).catch(() => null)) ? record : null;
  }

  /** Pulls the image (one pull at a time per reference) and returns its record. */
  pull(image: string): Promise<ImageRecord> {
    const key = refKey(parseImageRef(image));
    const running = this.pulls.get(key);
    if (running) return running;
    const p = this.doPull(image).finally(() => this.pulls.delete(key));
    this.pulls.set(key, p);
    return p;
  }

  private async doPull(image: string): Promise<ImageRecord> {
    const ref = parseImageRef(image);
    // Fetched from where a rewrite says; recorded under the name it was asked by.
    const source = parseImageRef(pullSource(image, this.rewrites));
    const { manifest, digest } = await this.client.manifest(source);
    const configBlob = await this.blob(source, manifest.config.digest);
    const full = JSON.parse((await readFile(configBlob)).toString("utf8")) as { config?: ImageRuntimeConfig };
    const layers: string[] = [];
    for (const layer of manifest.layers) {
      if (!LAYER_TYPES.test(layer.mediaType))
        throw new Error(`layer ${layer.digest} has an unsupported media type ${layer.mediaType}`);
      layers.push(await this.blob(source, layer.digest));
    }
    const id = manifest.config.digest;
    const rootfs = join(this.root, "rootfs", id.replace(/^sha256:/, ""));
    if (!(await stat(rootfs).catch(() => null))) {
      const tmp = `${rootfs}.tmp-${randomBytes(4).toString("hex")}`;
      await mkdir(tmp, { recursive: true, mode: 0o755 });
      try {
        for (const layer of layers) await unpackLayer(layer, tmp);
        await rename(tmp, rootfs).catch(async (err: NodeJS.ErrnoException) => {
          // Unpacked by a concurrent pull of another tag of the same image: keep that one.
          if (err.code !== "ENOTEMPTY" && err.code !== "EEXIST") throw err;
          await rm(tmp, { recursive: true, force: true });
        });
      } catch (err) {
        await rm(tmp, { recursive: true, force: true });
        throw err;
      }
    }
    const record: ImageRecord = {
      reference: refKey(ref),
      id,
      digest: `${ref.registry}/${ref.repo}@${digest}`,
      config: full.config ?? {},
      rootfs,
    };
    const path = this.recordPath(ref);
    await mkdir(join(this.root, "images"), { recursive: true });
    await writeFile(`${path}.tmp`, JSON.stringify(record));
    await rename(`${path}.tmp`, path);
    // Pulled by digest: the tag-less reference `repo@digest` names it too, and vice versa.
    if (!ref.digest) {
      const byDigest = this.recordPath({ ...ref, tag: null, digest });
      await writeFile(`${byDigest}.tmp`, JSON.stringify(record));
      await rename(`${byDigest}.tmp`, byDigest);
    }
    return record;
  }

  /** The blob's path, fetched and checked against its digest unless present. */
  private async blob(ref: ImageRef, digest: string): Promise<string> {
    const [algo, hex] = digest.split(":");
    if (algo !== "sha256" || !hex || !/^[0-9a-f]{64}$/.test(hex))
      throw new Error(`unsupported digest ${digest}`);
    const dir = join(this.root, "blobs", "sha256");
    const path = join(dir, hex);
    if (await stat(path).catch(() => null)) return path;
    await mkdir(dir, { recursive: true });
    const res = await this.client.get(ref, `/blobs/${digest}`, undefined, 600_000);
    if (!res.body) throw new Error(`blob ${digest}: empty answer`);
    const tmp = `${path}.tmp-${randomBytes(4).toString("hex")}`;
    const hash = createHash("sha256");
    const hasher = new Transform({
      transform(chunk: Buffer, _enc, done) {
        hash.update(chunk);
        done(null, chunk);
      },
    });
    try {
      await pipeline(
        Readable.fromWeb(res.body as WebReadableStream<Uint8Array>),
        hasher,
        createWriteStream(tmp),
      );
      const got = `sha256:${hash.digest("hex")}`;
      if (got !== digest) throw new Error(`blob ${digest} arrived as ${got}`);
      await rename(tmp, path);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
    return path;
  }
}
