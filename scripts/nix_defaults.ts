/**
 * Writes nix/defaults.json: the tool's built-in config defaults (lib/config/config.ts),
 * which nix/settings.nix starts from. tests/nix fails when the file is stale;
 * run `deno run -A scripts/nix_defaults.ts` after changing a default.
 */
import { defaultConfig } from "../lib/config/config.ts";

/** The file's content. */
export function defaultsJson(): string {
  return JSON.stringify(defaultConfig(), null, 2) + "\n";
}

if (import.meta.main) {
  const path = new URL("../nix/defaults.json", import.meta.url);
  await Deno.writeTextFile(path, defaultsJson());
  console.error(`wrote ${path.pathname}`);
}
