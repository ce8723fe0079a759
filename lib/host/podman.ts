/**
 * The Podman adapter: the few podman operations the tool needs, run through the
 * command runner with argv arrays, their JSON output validated by zod.
 */
import { z } from "zod";
import { parseJsonArray, runChecked, type Runner, tail } from "./exec.ts";
import { CommandError } from "../core/mod.ts";

/** `podman image inspect --format json` entry (fields the tool reads). */
export const imageInspectSchema = z.looseObject({
  Id: z.string().min(1),
  RepoTags: z.array(z.string()).nullish(),
  Created: z.string().nullish(),
  Config: z.looseObject({
    Env: z.array(z.string()).nullish(),
    Entrypoint: z.array(z.string()).nullish(),
    Cmd: z.array(z.string()).nullish(),
  }).nullish(),
});

/** `podman container inspect --format json` entry (fields the tool reads). */
export const containerInspectSchema = z.looseObject({
  Id: z.string(),
  Name: z.string().optional(),
  Image: z.string(),
  ImageName: z.string().optional(),
  State: z.looseObject({
    Status: z.string(),
    Running: z.boolean(),
    /** The container's exit code once it has ended (0 while running). */
    ExitCode: z.number().int().optional(),
    StartedAt: z.string().optional(),
  }),
  Config: z.looseObject({
    Env: z.array(z.string()).nullish(),
  }).optional(),
  Mounts: z.array(z.looseObject({
    Source: z.string().optional(),
    Destination: z.string(),
  })).nullish(),
});

/** `podman images --format json` entry. */
export const imageListSchema = z.looseObject({
  Id: z.string(),
  Names: z.array(z.string()).nullish(),
  Created: z.number().optional(),
});

/** `podman info --format json` (the one field the tool reads). */
export const podmanInfoSchema = z.looseObject({
  store: z.looseObject({ graphRoot: z.string().min(1) }),
});

/** An image as the tool sees it. */
export type ImageInfo = z.infer<typeof imageInspectSchema>;
/** A container as the tool sees it. */
export type ContainerInfo = z.infer<typeof containerInspectSchema>;
/** An entry of the local image list. */
export type ImageListEntry = z.infer<typeof imageListSchema>;

/** Options for `pull`. */
export interface PullOptions {
  /** Per-attempt timeout. */
  timeoutMs: number;
  /** Progress lines from podman's stderr. */
  onProgress?: (line: string) => void;
  /** Aborts the pull. */
  signal?: AbortSignal;
}

/** Options for `runDetached` (the canary). */
export interface RunContainerOptions {
  /** Container name. */
  name: string;
  /** Image ID or reference. */
  image: string;
  /** `KEY=VALUE` environment entries. */
  env: string[];
  /** Env files passed with `--env-file`. */
  envFiles: string[];
  /** `host:container` bind mounts. */
  volumes: string[];
  /** Extra podman arguments (network, ports), fixed by the tool, never outside text. */
  extraArgs: string[];
}

/** podman's words for "there is none" (exit 125), as 4.x prints them. */
const NO_SUCH = /no such (container|image|object)|image not known/i;

/** Podman operations over a runner. */
export class Podman {
  /** Wraps `podman` (or the configured program) run through `runner`. */
  constructor(private readonly runner: Runner, private readonly program = "podman") {}

  /** Image ID of a local image reference, or null when there is none. */
  async imageId(ref: string): Promise<string | null> {
    return (await this.inspectImage(ref))?.Id ?? null;
  }

  /** Inspects a local image, or null when there is none. */
  async inspectImage(ref: string): Promise<ImageInfo | null> {
    const r = await this.runner([this.program, "image", "inspect", "--format", "json", ref], {
      timeoutMs: 30_000,
    });
    if (r.code !== 0) {
      if (NO_SUCH.test(r.stderr)) return null;
      throw new CommandError(`podman image inspect ${ref} exited ${r.code}: ${tail(r.stderr)}`, {
        argv: [this.program, "image", "inspect", ref],
        code: r.code,
        stderrTail: tail(r.stderr),
      });
    }
    return parseJsonArray(r.stdout, imageInspectSchema, "podman image inspect")[0] ?? null;
  }

  /** Pulls `ref` (one attempt) and returns the pulled image's ID. */
  async pull(ref: string, options: PullOptions): Promise<string> {
    const r = await runChecked(this.runner, [this.program, "pull", ref], {
      timeoutMs: options.timeoutMs,
      signal: options.signal,
      onStderrLine: options.onProgress,
    });
    // podman pull prints the image ID as its last line on stdout (the progress goes to
    // stderr; seen with podman 4.3 in the lab): one podman process fewer per pull.
    const printed = r.stdout.trim().split("\n").at(-1) ?? "";
    const id = /^[0-9a-f]{64}$/.test(printed) ? printed : await this.imageId(ref);
    if (!id) {
      throw new CommandError(`podman pull ${ref} succeeded but the image is not there`, {
        argv: [this.program, "pull", ref],
        code: 0,
        stderrTail: "",
      });
    }
    return id;
  }

  /** Points `ref` (a name:tag) at the image `id`. */
  async tag(id: string, ref: string): Promise<void> {
    await runChecked(this.runner, [this.program, "tag", id, ref], { timeoutMs: 30_000 });
  }

  /** Inspects a container, or null when there is none. */
  async inspectContainer(name: string): Promise<ContainerInfo | null> {
    const r = await this.runner([this.program, "container", "inspect", "--format", "json", name], {
      timeoutMs: 30_000,
    });
    if (r.code !== 0) {
      if (NO_SUCH.test(r.stderr)) return null;
      throw new CommandError(
        `podman container inspect ${name} exited ${r.code}: ${tail(r.stderr)}`,
        {
          argv: [this.program, "container", "inspect", name],
          code: r.code,
          stderrTail: tail(r.stderr),
        },
      );
    }
    return parseJsonArray(r.stdout, containerInspectSchema, "podman container inspect")[0] ?? null;
  }

  /** Local images, optionally only those of one repository. */
  async listImages(repository?: string): Promise<ImageListEntry[]> {
    const argv = [this.program, "images", "--format", "json"];
    if (repository) argv.push("--filter", `reference=${repository}`);
    const r = await runChecked(this.runner, argv, { timeoutMs: 30_000 });
    return parseJsonArray(r.stdout, imageListSchema, "podman images");
  }

  /** Removes a tag or an image; refuses nothing itself (callers decide what may go). */
  async removeImage(ref: string): Promise<void> {
    await runChecked(this.runner, [this.program, "rmi", ref], { timeoutMs: 60_000 });
  }

  /** Starts a detached container and returns its ID. */
  async runDetached(options: RunContainerOptions): Promise<string> {
    const argv = [this.program, "run", "-d", "--pull=never", "--name", options.name];
    for (const e of options.env) argv.push("-e", e);
    for (const f of options.envFiles) argv.push("--env-file", f);
    for (const v of options.volumes) argv.push("-v", v);
    argv.push(...options.extraArgs, options.image);
    const r = await runChecked(this.runner, argv, { timeoutMs: 60_000 });
    return r.stdout.trim();
  }

  /** Removes a container, running or not; absent is fine. */
  async removeContainer(name: string): Promise<void> {
    await this.runner([this.program, "rm", "--force", "--time", "2", name], { timeoutMs: 60_000 });
  }

  /** Where podman keeps images (`podman info` store.graphRoot), or null when it does not say. */
  async graphRoot(): Promise<string | null> {
    const r = await this.runner([this.program, "info", "--format", "json"], { timeoutMs: 30_000 });
    if (r.code !== 0) return null;
    try {
      const parsed = podmanInfoSchema.safeParse(JSON.parse(r.stdout));
      return parsed.success ? parsed.data.store.graphRoot : null;
    } catch {
      return null;
    }
  }

  /** The last `lines` lines of a container's log (stdout and stderr). */
  async logs(name: string, lines = 20): Promise<string> {
    const r = await this.runner([this.program, "logs", "--tail", String(lines), name], {
      timeoutMs: 30_000,
    });
    return (r.stdout + r.stderr).trim();
  }
}
