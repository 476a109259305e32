/**
 * Publishes one of the platform's images (an OCI layout directory, `podman save --format oci-dir`)
 * in the registry's public namespace, `library/`, which tenants may pull and no tenant may push.
 * The platform holds the token signing key, so it signs its own short push token rather than
 * asking the token service. Run by `npm run up` for the demo image:
 *
 *   tsx packages/registry/scripts/push-platform-image.ts --registry http://127.0.0.1:55000 \
 *     --key .data/registry/token.key --service berth-registry --issuer berth \
 *     --layout <dir> --repository library/demo-web --tag latest
 */
import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { loadRegistrySigningKey, PUBLIC_NAMESPACE, pushOciLayout, signRegistryToken } from "../src/index";

const { values } = parseArgs({
  options: {
    registry: { type: "string" },
    key: { type: "string" },
    service: { type: "string", default: "berth-registry" },
    issuer: { type: "string", default: "berth" },
    layout: { type: "string" },
    repository: { type: "string" },
    tag: { type: "string", default: "latest" },
  },
});
const { registry, key, layout, repository } = values;
if (!registry || !key || !layout || !repository) {
  console.error(
    "usage: push-platform-image.ts --registry URL --key FILE --layout DIR --repository library/NAME [--tag T]",
  );
  process.exit(2);
}
if (!repository.startsWith(`${PUBLIC_NAMESPACE}/`)) {
  console.error(`the platform publishes in ${PUBLIC_NAMESPACE}/ only (got ${repository})`);
  process.exit(2);
}
const signer = loadRegistrySigningKey(await readFile(key, "utf8"));
const { token } = signRegistryToken(signer, {
  issuer: values.issuer,
  service: values.service,
  subject: "platform",
  access: [{ type: "repository", name: repository, actions: ["pull", "push"] }],
  ttlSeconds: 120,
});
const digest = await pushOciLayout({ dir: layout, registry, repository, tag: values.tag, token });
console.log(`${new URL(registry).host}/${repository}:${values.tag}@${digest}`);
