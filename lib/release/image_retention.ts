/**
 * Which release images stay on the host: the running and previous releases
 * always (tagged so that no prune can take them), plus the newest N others;
 * older `vX.Y.Z` images of the tool's two repositories are removed.
 */
import {
  type AppVersion,
  compareAppVersions,
  COMPONENTS,
  errorMessage,
  parseAppVersion,
  versionedRef,
} from "../core/mod.ts";
import type { Host } from "../host/mod.ts";
import type { Release } from "../job/mod.ts";
import { LocalImages } from "./local_images.ts";

/** A local image of one repository. */
export interface LocalImage {
  /** Image ID. */
  id: string;
  /** Its version tags (`vX.Y.Z`) in this repository. */
  versions: AppVersion[];
  /** Its full names in this repository (to remove by name). */
  names: string[];
}

/** Images to prune: everything versioned but the protected IDs and the `keep` newest others (pure). */
export function choosePrunable(
  images: LocalImage[],
  options: { protect: Set<string>; keep: number },
): LocalImage[] {
  const newest = (img: LocalImage) => [...img.versions].sort(compareAppVersions).at(-1)!;
  const candidates = images
    .filter((img) => img.versions.length > 0 && !options.protect.has(img.id))
    .sort((a, b) => compareAppVersions(newest(b), newest(a)));
  return candidates.slice(options.keep);
}

/** Local images of one component's repository with their version tags. */
export async function localReleaseImages(
  host: Host,
  which: "backend" | "frontend",
): Promise<LocalImage[]> {
  const image = host.config[which].image;
  const listed = new LocalImages(await host.podman.listImages(image));
  return listed.ids().map((id) => {
    // The configured name exactly: unlike `idOf`, Docker Hub's implied prefixes are kept here.
    const names = listed.namesOf(id).filter((n) => n.slice(0, n.lastIndexOf(":")) === image);
    const versions = names
      .map((n) => n.slice(n.lastIndexOf(":") + 1))
      .filter((t) => t.startsWith("v"))
      .map((t) => parseAppVersion(t))
      .filter((v): v is AppVersion => v !== null);
    return { id, versions, names };
  });
}

/**
 * Makes sure the release's image keeps a name after the run tag moves away from
 * it, so it is neither dangling nor prunable while a rollback may need it: its
 * `vX.Y.Z` tag, or, when that tag now names another image (re-published) or the
 * version is unknown, `<image>:<runTag>-previous`.
 */
export async function keepVersionTag(
  host: Host,
  which: "backend" | "frontend",
  release: Release,
): Promise<void> {
  if (!release.imageId) return;
  const image = host.config[which].image;
  if (release.version) {
    const ref = versionedRef(image, release.version);
    const existing = await host.podman.imageId(ref).catch(() => null);
    if (existing === release.imageId) return;
    if (existing === null) return await host.podman.tag(release.imageId, ref);
  }
  await host.podman.tag(release.imageId, `${image}:${host.config.runTag}-previous`);
}

/** Removes old release images, never the protected IDs; failures are warnings. */
export async function pruneOldImages(host: Host, protect: Set<string>): Promise<string[]> {
  const removed: string[] = [];
  for (const which of COMPONENTS) {
    let images: LocalImage[];
    try {
      images = await localReleaseImages(host, which);
    } catch (err) {
      host.log.warn(`cannot list ${which} images for pruning: ${errorMessage(err)}`);
      continue;
    }
    for (const img of choosePrunable(images, { protect, keep: host.config.images.keep })) {
      for (const name of img.names) {
        try {
          await host.podman.removeImage(name);
          removed.push(name);
        } catch (err) {
          host.log.warn(`cannot remove old image ${name}: ${errorMessage(err)}`);
        }
      }
    }
  }
  if (removed.length) host.log.info(`pruned old images: ${removed.join(", ")}`);
  return removed;
}
