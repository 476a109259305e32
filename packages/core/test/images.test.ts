import { describe, expect, it } from "vitest";
import {
  DEFAULT_ALLOWED_IMAGE_PREFIXES,
  imageAllowed,
  imagePrefixProblem,
  parseImageReference,
  validateImagePrefixes,
} from "../src/images";

const DIGEST = `sha256:${"a".repeat(64)}`;

describe("image references are normalised as Docker does", () => {
  it.each([
    ["nginx", "docker.io/library/nginx:latest"],
    ["nginx:1.27", "docker.io/library/nginx:1.27"],
    ["acme/app", "docker.io/acme/app:latest"],
    ["index.docker.io/acme/app:v1", "docker.io/acme/app:v1"],
    ["docker.io/nginx", "docker.io/library/nginx:latest"],
    ["localhost/x", "localhost/x:latest"],
    ["localhost/berth/demo-web:latest", "localhost/berth/demo-web:latest"],
    ["localhost:5000/team/app:2", "localhost:5000/team/app:2"],
    ["127.0.0.1:55432/probe", "127.0.0.1:55432/probe:latest"],
    ["ghcr.io/acme/app", "ghcr.io/acme/app:latest"],
    ["[::1]:5000/app", "[::1]:5000/app:latest"],
    ["Registry/app", "Registry/app:latest"],
    [`nginx@${DIGEST}`, `docker.io/library/nginx@${DIGEST}`],
    [`ghcr.io/a/b:1.0@${DIGEST}`, `ghcr.io/a/b:1.0@${DIGEST}`],
    ["a__b-c---d/e.f_g", "docker.io/a__b-c---d/e.f_g:latest"],
  ])("%s → %s", (image, normalised) => expect(parseImageReference(image).normalised).toBe(normalised));

  it("splits the registry host from the repository path", () => {
    expect(parseImageReference("localhost:5000/team/app:2")).toMatchObject({
      domain: "localhost:5000",
      path: "team/app",
      tag: "2",
      digest: null,
      repository: "localhost:5000/team/app",
    });
  });

  it.each([
    ["", /1 to 512/],
    [" nginx", /white space/],
    ["ngi nx", /white space/],
    ["Nginx", /lower-case/],
    ["acme/App", /lower-case/],
    ["nginx:", /tag/],
    ["nginx:-x", /tag/],
    [`nginx:${"t".repeat(129)}`, /tag/],
    ["nginx@sha256:abc", /64 lower-case hex/],
    [`nginx@md5:${"a".repeat(32)}`, /sha256/],
    ["a".repeat(64), /64-hex-digit/],
    ["ghcr.io//app", /repository name/],
    ["ghcr.io/app-", /repository name/],
    ["-bad.host/app", /registry host/],
    ["host:port/app", /registry host/],
    [`ghcr.io/${"a".repeat(260)}`, /longer than 255/],
  ])("refuses %j naming the field", (image, why) => {
    expect(() => parseImageReference(image, "spec.x.image")).toThrow(why);
    expect(() => parseImageReference(image, "spec.x.image")).toThrow(/^spec\.x\.image: /);
  });
});

describe("allowed image prefixes", () => {
  const allowed = (image: string, prefixes: readonly string[]) =>
    imageAllowed(parseImageReference(image), prefixes);

  it("allows by default only images of the node itself (localhost/)", () => {
    expect(allowed("localhost/berth/demo-web:latest", DEFAULT_ALLOWED_IMAGE_PREFIXES)).toBe(true);
    expect(allowed("nginx", DEFAULT_ALLOWED_IMAGE_PREFIXES)).toBe(false);
    expect(allowed("127.0.0.1:55432/probe", DEFAULT_ALLOWED_IMAGE_PREFIXES)).toBe(false);
    expect(allowed("localhost:55432/probe", DEFAULT_ALLOWED_IMAGE_PREFIXES)).toBe(false);
  });

  it("matches prefixes at path boundaries, never in the middle of a name", () => {
    expect(allowed("ghcr.io/acme/app", ["ghcr.io/acme/"])).toBe(true);
    expect(allowed("ghcr.io/acme-evil/app", ["ghcr.io/acme/"])).toBe(false);
    expect(allowed("nginx:1.27", ["docker.io/library/nginx"])).toBe(true);
    expect(allowed(`nginx@${DIGEST}`, ["docker.io/library/nginx"])).toBe(true);
    expect(allowed("nginx-evil", ["docker.io/library/nginx"])).toBe(false);
    expect(allowed("ghcr.io/acme/app/sub", ["ghcr.io/acme/app"])).toBe(true);
  });

  it("compares the reference after normalisation, so short names cannot slip past", () => {
    expect(allowed("nginx", ["docker.io/library/"])).toBe(true);
    expect(allowed("acme/app", ["docker.io/library/"])).toBe(false);
    expect(allowed("index.docker.io/library/nginx", ["docker.io/library/"])).toBe(true);
  });

  it("allows nothing with an empty list", () => {
    expect(allowed("localhost/x", [])).toBe(false);
  });

  it.each([
    "localhost/",
    "ghcr.io/acme/",
    "docker.io/library/nginx",
    "registry.example:5000/team/",
    "[::1]:5000/",
  ])("accepts the prefix %j", (p) => expect(imagePrefixProblem(p)).toBeNull());

  it.each([
    ["", /1 to 255/],
    ["localhost", /followed by '\/'/],
    ["acme/", /registry host/],
    ["ghcr.io/Acme/", /repository path/],
    ["ghcr.io/acme/app:1", /repository path/],
    ["index.docker.io/library/", /docker\.io instead/],
    ["-x.io/", /not a registry host/],
  ])("refuses the prefix %j", (p, why) => expect(imagePrefixProblem(p)).toMatch(why));

  it("validates a whole list, naming the bad entry", () => {
    expect(validateImagePrefixes(["localhost/", "ghcr.io/acme/"])).toEqual(["localhost/", "ghcr.io/acme/"]);
    expect(() => validateImagePrefixes(["localhost/", "nginx"], "allowedImagePrefixes")).toThrow(
      /^allowedImagePrefixes\[1\]: "nginx"/,
    );
    expect(() => validateImagePrefixes(Array.from({ length: 65 }, () => "localhost/"))).toThrow(/at most 64/);
  });
});
