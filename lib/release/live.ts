/**
 * What runs now: the exact image IDs of the live containers (podman), the
 * backend's version from its health body (the only reliable proof of what
 * serves), and versions read from the images' `vX.Y.Z` tags as a fallback.
 */
import { type AppVersion, compareAppVersions, errorMessage, parseAppVersion } from "../core/mod.ts";
import type { ContainerInfo, Host } from "../host/mod.ts";
import { healthBodySchema } from "../health/mod.ts";
import type { ReleasePair } from "../job/mod.ts";
import { LocalImages, repository } from "./local_images.ts";

/** One live component. */
export interface LiveComponent {
  /** Version (health body for the backend, else image tags), null if unknown. */
  version: string | null;
  /** Image ID of the container, null when there is no container. */
  imageId: string | null;
  /** Container is running. */
  running: boolean;
  /** Where the version came from. */
  versionSource: "health" | "tags" | "none";
}

/** Both live components, and the raw health outcome. */
export interface LiveState {
  /** Backend. */
  backend: LiveComponent;
  /** Frontend. */
  frontend: LiveComponent;
  /** The health body's status, or why there was none. */
  health: { status: string | null; error: string | null };
}

/** The highest `vX.Y.Z` tag of `image` among `repoTags` (pure). */
export function versionFromTags(repoTags: readonly string[], image: string): AppVersion | null {
  const versions: AppVersion[] = [];
  for (const ref of repoTags) {
    const i = ref.lastIndexOf(":");
    if (i < 0) continue;
    if (repository(ref.slice(0, i)) !== repository(image)) continue;
    const tag = ref.slice(i + 1);
    if (!tag.startsWith("v")) continue;
    const v = parseAppVersion(tag);
    if (v) versions.push(v);
  }
  versions.sort(compareAppVersions);
  return versions.at(-1) ?? null;
}

function component(
  host: Host,
  options: { container: ContainerInfo | null; image: string; images: LocalImages },
): LiveComponent {
  const c = options.container;
  // No container (a crash loop, a host mid-restart): what the unit would run is the run tag.
  const imageId = c?.Image ?? options.images.idOf(`${options.image}:${host.config.runTag}`);
  if (!imageId) return { version: null, imageId: null, running: false, versionSource: "none" };
  const v = versionFromTags(options.images.namesOf(imageId), options.image);
  return {
    version: v,
    imageId,
    running: c?.State.Running ?? false,
    versionSource: v ? "tags" : "none",
  };
}

/**
 * Reads the live state through the adapters, and the local images it was read from: the
 * containers and the image list are three podman processes, asked at once (each costs a
 * tenth of a second or more, and this is on the way to every swap).
 */
export async function readLiveAndImages(
  host: Host,
): Promise<{ live: LiveState; images: LocalImages }> {
  const { config } = host;
  const [backendContainer, frontendContainer, entries] = await Promise.all([
    host.podman.inspectContainer(config.backend.container),
    host.podman.inspectContainer(config.frontend.container),
    host.podman.listImages().catch((err) => {
      // As before the list: without it only the versions from tags are unknown.
      host.log.warn(`cannot list the local images: ${errorMessage(err)}`);
      return [];
    }),
  ]);
  const images = new LocalImages(entries);
  const backend = component(host, {
    container: backendContainer,
    image: config.backend.image,
    images,
  });
  const frontend = component(host, {
    container: frontendContainer,
    image: config.frontend.image,
    images,
  });
  const health: LiveState["health"] = { status: null, error: null };
  try {
    const res = await host.http(config.backend.healthUrl, { timeoutMs: 3000 });
    const body = healthBodySchema.safeParse(JSON.parse(res.body));
    if (body.success) {
      health.status = body.data.status;
      const v = body.data.version ? parseAppVersion(body.data.version) : null;
      if (v) {
        backend.version = v;
        backend.versionSource = "health";
      }
    } else health.error = `health body has an unexpected shape (HTTP ${res.status})`;
  } catch (err) {
    health.error = err instanceof Error ? err.message : String(err);
  }
  return { live: { backend, frontend, health }, images };
}

/** Reads the live state through the adapters. */
export async function readLive(host: Host): Promise<LiveState> {
  return (await readLiveAndImages(host)).live;
}

/** The live state as a release pair (for the journal). */
export function livePair(live: LiveState): ReleasePair {
  return {
    backend: { version: live.backend.version, imageId: live.backend.imageId },
    frontend: { version: live.frontend.version, imageId: live.frontend.imageId },
  };
}
