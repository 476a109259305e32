import type { ContainerTemplate } from "@berth/protocol";
import { PodFailure, pullFailure } from "../pod-failures";
import type { ContainerInfo, ContainerRuntime, ImageConfig } from "../runtime";

type Emit = (
  type: "Normal" | "Warning",
  reason: "Pulling" | "Pulled" | "Failed" | "BackOff" | "ErrImageNeverPull",
  message: string,
) => void;

/**
 * Images as kubelet gets them, per `imagePullPolicy`: `Never` runs only what the node has
 * (ErrImageNeverPull otherwise), `IfNotPresent` pulls when absent, `Always` pulls at every
 * container start. Images under `localhost/` (Podman's name for images built or loaded on the node
 * itself, with no registry behind them) are never pulled: for them `Always` is `IfNotPresent`.
 * One pull per image at a time, shared by every container that needs it.
 */
export class ImagePuller {
  private readonly pulls = new Map<string, Promise<void>>();
  /** What each image reference named when last inspected: its id and repository digest. */
  private readonly known = new Map<string, { id: string; digest: string | null }>();

  constructor(
    private readonly runtime: ContainerRuntime,
    private readonly now: () => number = Date.now,
  ) {}

  /** Gets the container's image as its policy says; throws a PodFailure (ErrImagePull, …) naming why not. */
  async ensure(t: ContainerTemplate, emit: Emit, failures: number): Promise<void> {
    const image = t.image;
    const nodeLocal = image.startsWith("localhost/");
    const policy = t.imagePullPolicy === "Always" && nodeLocal ? "IfNotPresent" : t.imagePullPolicy;
    if (policy !== "Always" && (await this.runtime.hasImage(image))) {
      emit("Normal", "Pulled", `Container image ${JSON.stringify(image)} already present on machine`);
      return;
    }
    if (policy === "Never") {
      const message = `Container image ${JSON.stringify(image)} is not present with pull policy of Never`;
      emit("Warning", "ErrImageNeverPull", message);
      throw new PodFailure("ErrImageNeverPull", message, "");
    }
    if (failures > 0) emit("Normal", "BackOff", `Back-off pulling image ${JSON.stringify(image)}`);
    emit("Normal", "Pulling", `Pulling image ${JSON.stringify(image)}`);
    const started = this.now();
    try {
      await this.pull(image);
    } catch (error) {
      const failure = pullFailure(image, error, failures + 1);
      emit("Warning", "Failed", `Failed to pull image ${JSON.stringify(image)}: not found or not reachable`);
      emit("Warning", "Failed", `Error: ${failure.reason}`);
      throw failure;
    }
    const took = `${((this.now() - started) / 1000).toFixed(3)}s`;
    emit(
      "Normal",
      "Pulled",
      `Successfully pulled image ${JSON.stringify(image)} in ${took} (${took} including waiting)`,
    );
  }

  /** Remembers what an image reference names (its id and repository digest), for `imageIdOf`. */
  note(image: string, config: Pick<ImageConfig, "id" | "digest">): void {
    this.known.set(image, { id: config.id, digest: config.digest });
  }

  /** Inspects the images of containers not seen before (an agent that restarted); failures are skipped. */
  async learn(containers: readonly ContainerInfo[]): Promise<void> {
    const unknown = new Set(
      containers.filter((c) => !sameId(this.known.get(c.image)?.id ?? "", c.imageId)).map((c) => c.image),
    );
    for (const image of unknown) {
      const config = await this.runtime.imageConfig(image).catch(() => null);
      if (config) this.note(image, config);
    }
  }

  /**
   * Kubernetes' `imageID` of a container: the repository digest it runs (`<repo>@sha256:…`) when
   * its image came from a registry, else the image's id.
   */
  imageIdOf(c: Pick<ContainerInfo, "image" | "imageId">): string {
    const k = this.known.get(c.image);
    return k?.digest && sameId(k.id, c.imageId) ? k.digest : c.imageId;
  }

  private pull(image: string): Promise<void> {
    let pulling = this.pulls.get(image);
    if (!pulling) {
      pulling = this.runtime.pullImage(image).finally(() => this.pulls.delete(image));
      this.pulls.set(image, pulling);
    }
    return pulling;
  }
}

/** Engines write an image id with or without its `sha256:` prefix. */
const sameId = (a: string, b: string) => a.replace(/^sha256:/, "") === b.replace(/^sha256:/, "");
