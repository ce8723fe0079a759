/**
 * Image commands of the podman double: image inspect, pull (from the fake
 * registry), tag, images, rmi, info. Formats and exit codes follow podman 4.3.
 */
import { join } from "node:path";
import { containersUsing, IMAGE_ENV, resolveImage, setTag, withDefaultTag } from "./containers.ts";

/**
 * The real images' commands (BadgerOps/grapheon backend/Dockerfile and frontend/Dockerfile):
 * what `image inspect` reports as Config.Cmd, no Entrypoint of their own.
 */
export const IMAGE_CMD = {
  backend: ["uvicorn", "main:app", "--host", "0.0.0.0", "--port", "8000"],
  frontend: ["nginx", "-g", "daemon off;"],
} as const;
import type { Outcome } from "./double.ts";
import {
  failWith,
  has,
  imageNotKnown,
  json,
  type Parsed,
  template,
  values,
} from "./podman_args.ts";
import type { FaultRule, HarnessState } from "./state.ts";

function imageInspectView(s: HarnessState, id: string): Record<string, unknown> {
  const img = s.images[id];
  return {
    Id: id,
    Digest: `sha256:${id}`,
    RepoTags: img.repoTags,
    RepoDigests: [],
    Created: img.release.created,
    Architecture: "amd64",
    Os: "linux",
    Size: 150_000_000,
    Labels: { "org.opencontainers.image.version": img.release.version },
    Config: {
      Env: IMAGE_ENV,
      Cmd: IMAGE_CMD[img.release.component],
      Labels: { "org.opencontainers.image.version": img.release.version },
    },
  };
}

/** Inspect output: a JSON array, or one rendered template line per object. */
export function inspectOutput(
  format: string | undefined,
  views: Record<string, unknown>[],
): string {
  if (!format || format === "json") return json(views);
  return views.map((v) => template(format, v)).join("\n") + "\n";
}

/** `podman info`: the store lives under the harness state dir. */
export function info(dir: string, format: string | undefined): Outcome {
  const graphRoot = join(dir, "storage");
  Deno.mkdirSync(graphRoot, { recursive: true });
  const view = {
    host: { arch: "amd64", os: "linux", hostname: "harness" },
    store: {
      configFile: "/etc/containers/storage.conf",
      graphDriverName: "overlay",
      graphRoot,
      runRoot: join(dir, "run"),
      imageStore: { number: 0 },
    },
    version: { APIVersion: "4.3.1", Version: "4.3.1", GoVersion: "go1.19.8" },
  };
  return {
    code: 0,
    stdout: !format || format === "json" ? json(view) : template(format, view) + "\n",
  };
}

/** `podman image inspect`. */
export function imageInspect(s: HarnessState, refs: string[], format: string | undefined): Outcome {
  const views: Record<string, unknown>[] = [];
  for (const ref of refs) {
    const id = resolveImage(s, ref);
    if (!id) {
      return {
        code: 125,
        stdout: json(views),
        stderr: `Error: inspecting object: ${ref}: image not known\n`,
      };
    }
    views.push(imageInspectView(s, id));
  }
  return { code: 0, stdout: inspectOutput(format, views) };
}

/** `podman pull`: the registry entry becomes a local image with that tag. */
export function pull(s: HarnessState, ref: string, fault: FaultRule | null): Outcome {
  const full = withDefaultTag(ref);
  const progress = `Trying to pull ${full}...\n`;
  if (fault) {
    return failWith(
      fault,
      125,
      `${progress}Error: initializing source docker://${full}: pinging container registry ` +
        `${full.split("/")[0]}: Get "https://${full.split("/")[0]}/v2/": dial tcp: ` +
        `connect: connection refused`,
    );
  }
  const release = s.registry[full];
  if (!release) {
    const tag = full.slice(full.lastIndexOf(":") + 1);
    return {
      code: 125,
      stderr: `${progress}Error: initializing source docker://${full}: reading manifest ${tag} ` +
        `in ${full.slice(0, full.lastIndexOf(":"))}: manifest unknown\n`,
    };
  }
  if (!s.images[release.id]) s.images[release.id] = { release: { ...release }, repoTags: [] };
  setTag(s, release.id, full);
  const blob = release.id.split("").reverse().join("");
  return {
    code: 0,
    stdout: `${release.id}\n`,
    stderr: `${progress}Getting image source signatures\nCopying blob sha256:${blob}\n` +
      `Copying config sha256:${release.id}\nWriting manifest to image destination\n`,
  };
}

/** `podman tag SRC REF...`. */
export function tag(s: HarnessState, src: string, refs: string[]): Outcome {
  const id = resolveImage(s, src);
  if (!id) return imageNotKnown(src);
  for (const ref of refs) setTag(s, id, ref);
  return { code: 0 };
}

function matchesReference(tags: string[], filter: string): boolean {
  const glob = (pat: string) =>
    new RegExp("^" + pat.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*") + "$");
  const hasTag = filter.slice(filter.lastIndexOf("/") + 1).includes(":");
  return tags.some((t) => {
    const repo = t.slice(0, t.lastIndexOf(":"));
    return hasTag ? glob(filter).test(t) : glob(filter).test(repo);
  });
}

/** `podman images`: a row per tag, as podman 4.3 prints. */
export function images(s: HarnessState, p: Parsed): Outcome {
  const filters = values(p, "--filter", "-f");
  let list = Object.entries(s.images);
  for (const f of filters) {
    if (f.startsWith("reference=")) {
      const ref = f.slice("reference=".length);
      list = list.filter(([, img]) => matchesReference(img.repoTags, ref));
    }
  }
  if (has(p, "-q", "--quiet")) {
    return { code: 0, stdout: list.map(([id]) => id.slice(0, 12) + "\n").join("") };
  }
  // podman 4.3 lists an image once per tag (all its tags in Names each time).
  const rows = list.flatMap(([id, img]) =>
    (img.repoTags.length ? img.repoTags : [null]).map(() => [id, img] as const)
  );
  const out = rows.map(([id, img]) => ({
    Id: id,
    ParentId: "",
    RepoTags: null,
    RepoDigests: [],
    Size: 150_000_000,
    SharedSize: 0,
    VirtualSize: 150_000_000,
    Labels: { "org.opencontainers.image.version": img.release.version },
    Containers: containersUsing(s, id).length,
    Names: img.repoTags.length ? img.repoTags : undefined,
    Digest: `sha256:${id}`,
    History: [...img.repoTags].reverse(),
    Created: Math.floor(Date.parse(img.release.created) / 1000),
    CreatedAt: img.release.created,
  }));
  return { code: 0, stdout: json(out) };
}

/** `podman rmi`: untag, delete, or refuse (in use, several tags by ID). */
export function rmi(s: HarnessState, refs: string[], force: boolean): Outcome {
  let stdout = "";
  for (const ref of refs) {
    const id = resolveImage(s, ref);
    if (!id) return { code: 1, stdout, stderr: `Error: ${ref}: image not known\n` };
    const img = s.images[id];
    const byId = !img.repoTags.includes(withDefaultTag(ref));
    if (!byId && img.repoTags.length > 1) {
      img.repoTags = img.repoTags.filter((t) => t !== withDefaultTag(ref));
      stdout += `Untagged: ${withDefaultTag(ref)}\n`;
      continue;
    }
    if (byId && img.repoTags.length > 1 && !force) {
      return {
        code: 125,
        stdout,
        stderr: `Error: unable to delete image "${id}" by ID with more than one tag ` +
          `([${img.repoTags.join(" ")}]): please force removal\n`,
      };
    }
    const users = containersUsing(s, id);
    if (users.length > 0) {
      return {
        code: 2,
        stdout,
        stderr: `Error: image used by ${users[0].id}: image is in use by a container: ` +
          `consider listing external containers and force-removing image\n`,
      };
    }
    for (const t of img.repoTags) stdout += `Untagged: ${t}\n`;
    stdout += `Deleted: ${id}\n`;
    delete s.images[id];
  }
  return { code: 0, stdout };
}
