/**
 * The local images as one `podman images --format json` listed them: names by image ID.
 * The one place that merges podman 4's rows (it lists an image once per tag, each row
 * repeating names) and compares repository names.
 */
import type { ImageListEntry } from "../host/mod.ts";

/** A repository name as podman lists it: Docker Hub's implied prefixes dropped (pure). */
export function repository(name: string): string {
  return name.replace(/^docker\.io\//, "").replace(/^library\//, "");
}

/** Names (`repo:tag`) by image ID, from one listing. */
export class LocalImages {
  readonly #names = new Map<string, Set<string>>();

  /** Merges the rows by ID. */
  constructor(entries: readonly ImageListEntry[]) {
    for (const e of entries) {
      const names = this.#names.get(e.Id) ?? new Set<string>();
      for (const n of e.Names ?? []) names.add(n);
      this.#names.set(e.Id, names);
    }
  }

  /** The image IDs listed. */
  ids(): string[] {
    return [...this.#names.keys()];
  }

  /** The names (`repo:tag`) of an image ID, each once. */
  namesOf(id: string): string[] {
    return [...this.#names.get(id) ?? []];
  }

  /** The ID a `repo:tag` names, or null when no local image has that name. */
  idOf(ref: string): string | null {
    const i = ref.lastIndexOf(":");
    const [repo, tag] = [repository(ref.slice(0, i)), ref.slice(i + 1)];
    for (const [id, names] of this.#names) {
      for (const n of names) {
        if (n.endsWith(`:${tag}`) && repository(n.slice(0, -tag.length - 1)) === repo) return id;
      }
    }
    return null;
  }
}
