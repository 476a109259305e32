import { BerthError, ConflictError, ValidationError } from "@berth/core";
import {
  type CronJobInput,
  changedPaths,
  checkTlsSecretData,
  type DeploymentInput,
  type IngressSpec,
  type JobInput,
  type KindName,
  type PriorityClassSpec,
  type SecretInput,
  type SecretSpec,
  type ServiceSpec,
} from "@berth/kube";
import { imagesOf } from "../image-policy";
import { checkIngressHostPolicy } from "../network/ingress-hosts";
import { diffShape } from "./diff-shape";
import { atDocument, type Identified } from "./identify";
import { REDACTED_ANNOTATION, type UserMeta, userMetaOf } from "./meta";
import { groupResource, kindInfo, namespaceNotFound } from "./names";
import { checkQuotas, contributionOf } from "./quota";
import type { StoredSecretSpec } from "./render";
import type { Current, Write } from "./store";
import { type AdmissionWorld, RESERVED_NAMESPACES } from "./world";

/** What admission needs besides the document: the world so far, the current object, the image list. */
export interface AdmissionInputs {
  world: AdmissionWorld;
  current: Current | undefined;
  imagePrefixes: readonly string[];
  checkImages: (images: { image: string; path: string }[], prefixes: readonly string[]) => void;
  /** The writing tenant, the platform's apps domain (Ingress hosts) and the time (TLS certificates' expiry). */
  tenantId: string;
  appsDomain: string;
  now: Date;
}

export interface Planned extends Write {
  prefix: string;
  action: "created" | "configured" | "unchanged";
  changedPaths: string[];
}

/** Kinds whose pod templates get a priority at admission (their `priorityClassName`). */
const POD_TEMPLATE_KINDS: ReadonlySet<KindName> = new Set(["Deployment", "Job", "CronJob"]);

export const POD_SECURITY_LABEL = "pod-security.kubernetes.io/enforce";
const forbidden = (message: string) => new BerthError("FORBIDDEN", message);
const conflictOn = (kind: KindName, name: string, why: string) =>
  new ConflictError(
    `Operation cannot be fulfilled on ${groupResource(kind)} ${JSON.stringify(name)}: ${why}`,
  );

/** Names that name pods (Deployments, Jobs, CronJobs) are DNS labels; a CronJob's leaves room for its Jobs' suffix. */
function checkWorkloadName(kind: KindName, name: string): void {
  const max = kind === "CronJob" ? 52 : 63;
  if (
    (kind === "Deployment" || kind === "Job" || kind === "CronJob") &&
    (name.length > max || name.includes("."))
  )
    throw new ValidationError(
      `metadata.name: a ${kind}'s name must be a DNS label of at most ${max} characters`,
      [{ path: "metadata.name", message: `must be a DNS label of at most ${max} characters` }],
    );
}

/** Namespaces: only "restricted" Pod Security is offered, and the platform's namespaces are its own. */
async function checkNamespaceRules(doc: Identified, meta: UserMeta, i: AdmissionInputs): Promise<void> {
  if (doc.kind === "Namespace") {
    if (RESERVED_NAMESPACES.has(doc.name))
      throw forbidden(
        `namespaces ${JSON.stringify(doc.name)} is forbidden: the namespace is reserved for the platform`,
      );
    const level = meta.labels[POD_SECURITY_LABEL];
    if (level !== undefined && level !== "restricted")
      throw new BerthError(
        "FORBIDDEN",
        `metadata.labels.${POD_SECURITY_LABEL}: only "restricted" is offered (every namespace enforces Pod Security "restricted"), not ${JSON.stringify(level)}`,
        {
          details: {
            issues: [
              { path: `metadata.labels.${POD_SECURITY_LABEL}`, message: 'only "restricted" is offered' },
            ],
          },
        },
      );
    if (i.current?.deletionTimestamp)
      throw conflictOn("Namespace", doc.name, "the namespace is being terminated");
    return;
  }
  if (!kindInfo(doc.kind).namespaced) return;
  if (RESERVED_NAMESPACES.has(doc.namespace))
    throw forbidden(
      `${groupResource(doc.kind)} ${JSON.stringify(doc.name)} is forbidden: namespace ${doc.namespace} is reserved for the platform; tenants cannot write into it`,
    );
  const state = await i.world.namespace(doc.namespace);
  if (state === "missing") throw new BerthError("NOT_FOUND", namespaceNotFound(doc.namespace));
  if (state === "terminating")
    throw forbidden(
      `${groupResource(doc.kind)} ${JSON.stringify(doc.name)} is forbidden: unable to create new content in namespace ${doc.namespace} because it is being terminated`,
    );
}

/** A Secret's values: a redacted GET sent back keeps the stored value of each key sent as "". */
function secretValues(
  input: SecretInput,
  normal: SecretSpec,
  meta: Record<string, string> | undefined,
  current?: Current,
) {
  const data = { ...normal.data };
  if (meta?.[REDACTED_ANNOTATION] === "true" && current?.secretData)
    for (const [k, v] of Object.entries(input.data ?? {}))
      if (v === "" && current.secretData[k] !== undefined && input.stringData?.[k] === undefined)
        data[k] = current.secretData[k] as string;
  return data;
}

/** `immutable: true` ConfigMaps and Secrets keep their data and stay immutable (Kubernetes' rule). */
function checkImmutable(
  kind: KindName,
  current: Current | undefined,
  nextShape: Record<string, unknown>,
  currentShape: Record<string, unknown>,
) {
  if (!current || (kind !== "ConfigMap" && kind !== "Secret")) return;
  const was = (current.spec as { immutable?: boolean }).immutable === true;
  if (!was) return;
  const changed = changedPaths(
    {
      data: currentShape.data,
      binaryData: currentShape.binaryData,
      type: currentShape.type,
      immutable: true,
    },
    {
      data: nextShape.data,
      binaryData: nextShape.binaryData,
      type: nextShape.type,
      immutable: nextShape.immutable ?? false,
    },
  );
  if (changed.length > 0) {
    const path = changed[0] === "immutable" ? "immutable" : (changed[0]?.split(".")[0] ?? "data");
    throw new ValidationError(`${path}: field is immutable when \`immutable\` is set`, [
      { path, message: "field is immutable when `immutable` is set" },
    ]);
  }
}

/** Fields Kubernetes lets no update change (a Secret's type, a Deployment's selector, a Job's template and completions). */
const IMMUTABLE_FIELDS: Partial<Record<KindName, string[]>> = {
  Secret: ["type"],
  Deployment: ["spec.selector"],
  Job: ["spec.template", "spec.completions", "spec.completionMode"],
  PriorityClass: ["value", "preemptionPolicy"],
  // Berth's disks do not resize or change class: a claim's spec is fixed once made.
  PersistentVolumeClaim: ["spec.accessModes", "spec.resources", "spec.storageClassName", "spec.volumeMode"],
};

/** Kubernetes' Priority admission: one PriorityClass of a cluster may be the global default. */
async function checkGlobalDefault(doc: Identified, spec: unknown, i: AdmissionInputs): Promise<void> {
  if (doc.kind !== "PriorityClass" || !(spec as PriorityClassSpec).globalDefault) return;
  const other = (await i.world.priorityClasses()).find((c) => c.globalDefault && c.name !== doc.name);
  if (other)
    throw forbidden(
      `priorityclasses.scheduling.k8s.io ${JSON.stringify(doc.name)} is forbidden: PriorityClass ${other.name} is already marked as default. Only one default can exist`,
    );
}

function checkImmutableFields(kind: KindName, paths: readonly string[]): void {
  for (const field of IMMUTABLE_FIELDS[kind] ?? [])
    if (paths.some((p) => p === field || p.startsWith(`${field}.`) || p.startsWith(`${field}[`)))
      throw new ValidationError(`${field}: field is immutable`, [
        { path: field, message: "field is immutable" },
      ]);
}

/**
 * Admits one document against what exists (and what the documents before it will write): the
 * namespace's rules and existence, the resourceVersion precondition, the kind's own admission
 * (schema, Pod Security, LimitRanges), allowed images, immutability, quotas. Nothing is written.
 */
export async function admitDocument(doc: Identified, i: AdmissionInputs): Promise<Planned> {
  return atDocumentAsync(doc.prefix, async () => {
    const rawMeta = (doc.input as { metadata?: Parameters<typeof userMetaOf>[0] }).metadata;
    const meta = userMetaOf(rawMeta);
    // Kubernetes labels every namespace with its own name.
    if (doc.kind === "Namespace") meta.labels = { ...meta.labels, "kubernetes.io/metadata.name": doc.name };
    checkWorkloadName(doc.kind, doc.name);
    await checkNamespaceRules(doc, meta, i);
    const current = i.current;
    if (meta.resourceVersion !== undefined && String(current?.resourceVersion) !== meta.resourceVersion)
      throw current
        ? conflictOn(
            doc.kind,
            doc.name,
            "the object has been modified; please apply your changes to the latest version and try again",
          )
        : conflictOn(
            doc.kind,
            doc.name,
            "the object does not exist; remove metadata.resourceVersion to create it",
          );
    const resources = kindInfo(doc.kind).namespaced ? await i.world.resourcePolicy(doc.namespace) : undefined;
    const priorityClasses = POD_TEMPLATE_KINDS.has(doc.kind) ? await i.world.priorityClasses() : undefined;
    const normal = kindInfo(doc.kind).normalise(doc.input, doc.name, {
      ...(resources ? { resources } : {}),
      ...(priorityClasses ? { priorityClasses } : {}),
    });
    await checkGlobalDefault(doc, normal, i);
    let spec: unknown = normal;
    if (doc.kind === "Service")
      spec = await i.world
        .serviceAddresses()
        .assign(
          doc.namespace,
          doc.name,
          normal as ServiceSpec,
          (current?.spec as ServiceSpec | undefined)?.clusterIP,
        );
    if (doc.kind === "Service")
      spec = await i.world
        .nodePorts()
        .assign(doc.namespace, doc.name, spec as ServiceSpec, current?.spec as ServiceSpec | undefined);
    let secretData: Record<string, string> | undefined;
    if (doc.kind === "Secret") {
      const s = normal as SecretSpec;
      secretData = secretValues(doc.input as SecretInput, s, rawMeta?.annotations, current);
      spec = {
        type: s.type,
        immutable: s.immutable,
        keys: Object.keys(secretData).sort(),
      } satisfies StoredSecretSpec;
      if (s.type === "kubernetes.io/tls") checkTlsSecretData(secretData, i.now);
    }
    if (doc.kind === "Ingress") checkIngressHostPolicy(normal as IngressSpec, i.tenantId, i.appsDomain);
    i.checkImages(podImages(doc), i.imagePrefixes);
    const nextShape = diffShape(doc.kind, spec, meta, secretData);
    const currentShape = current ? diffShape(doc.kind, current.spec, current, current.secretData) : undefined;
    if (currentShape) checkImmutable(doc.kind, current, nextShape, currentShape);
    const paths = currentShape ? changedPaths(currentShape, nextShape) : [];
    checkImmutableFields(doc.kind, paths);
    // Quotas: what this object adds to its namespace, against every quota there.
    const next = contributionOf(doc.kind, spec, current?.status);
    if (kindInfo(doc.kind).namespaced) {
      const quotas = await i.world.quotasOf(doc.namespace);
      if (quotas.size > 0) {
        const contributions = await i.world.contributions(doc.namespace);
        const before = contributions.get(`${doc.kind}/${doc.name}`) ?? {};
        checkQuotas(
          quotas,
          await i.world.used(doc.namespace),
          before,
          next,
          `${groupResource(doc.kind)} ${JSON.stringify(doc.name)}`,
        );
      }
    }
    await i.world.admitted(doc.kind, doc.namespace, doc.name, spec, next);
    return {
      kind: doc.kind,
      namespace: doc.namespace,
      name: doc.name,
      meta,
      spec,
      ...(secretData ? { secretData } : {}),
      ...(current ? { current } : {}),
      specChanged: paths.some((p) => !p.startsWith("metadata.")),
      prefix: doc.prefix,
      action: !current ? "created" : paths.length > 0 ? "configured" : "unchanged",
      changedPaths: paths,
    };
  });
}

async function atDocumentAsync<T>(prefix: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    return atDocument(prefix, () => {
      throw error;
    });
  }
}

/** The images of a document's pod template(s), with their field paths. */
function podImages(doc: Identified): { image: string; path: string }[] {
  switch (doc.kind) {
    case "Deployment":
      return imagesOf((doc.input as DeploymentInput).spec.template.spec, "spec.template.spec");
    case "Job":
      return imagesOf((doc.input as JobInput).spec.template.spec, "spec.template.spec");
    case "CronJob":
      return imagesOf(
        (doc.input as CronJobInput).spec.jobTemplate.spec.template.spec,
        "spec.jobTemplate.spec.template.spec",
      );
    default:
      return [];
  }
}
