/**
 * The `@NAME@` template language of `units/`, kept deliberately tiny so that the
 * NixOS module (nix/render.nix, `builtins.replaceStrings`) renders the same
 * files to the same bytes: every placeholder is replaced by its value, and a
 * line that is nothing but a placeholder whose value is empty is dropped.
 * Also the quoting of values that end up in unit files.
 */
import { ConfigError } from "../core/mod.ts";

/** Characters a value may hold to go into a unit file unquoted (no spaces, `%`, `$`, quotes). */
export const UNIT_SAFE = /^[A-Za-z0-9_@+=:,./-]+$/;

const PLACEHOLDER = /@([A-Z][A-Z0-9_]*)@/g;

/** The placeholder names a template uses, sorted. */
export function placeholders(template: string): string[] {
  return [...new Set([...template.matchAll(PLACEHOLDER)].map((m) => m[1]))].sort();
}

/**
 * Renders `template` with `values`. Throws (a bug, not a user error) when the
 * template uses a name without a value, or a value is given that it does not use.
 */
export function renderTemplate(
  template: string,
  values: Readonly<Record<string, string>>,
  source = "template",
): string {
  const used = placeholders(template);
  const missing = used.filter((n) => !(n in values));
  if (missing.length) throw new Error(`${source}: no value for @${missing.join("@, @")}@`);
  const unused = Object.keys(values).filter((n) => !used.includes(n));
  if (unused.length) throw new Error(`${source}: does not use @${unused.join("@, @")}@`);
  const lines = template.split("\n").filter((line) => {
    const whole = /^@([A-Z][A-Z0-9_]*)@$/.exec(line);
    return !(whole && values[whole[1]] === "");
  });
  return lines.join("\n").replace(PLACEHOLDER, (_, name: string) => values[name]);
}

/**
 * Checks that a config value can go into a unit file as one word (paths,
 * programs); throws ConfigError naming the field otherwise.
 */
export function unitWord(field: string, value: string): string {
  if (!UNIT_SAFE.test(value)) {
    throw new ConfigError(
      `${field}: "${value}" cannot go into a systemd unit; use only letters, digits and _@+=:,./-`,
    );
  }
  return value;
}

/**
 * Quotes one argument for an `Exec*=` line: unchanged when it is safe, else in
 * double quotes with `\` and `"` escaped, `%` doubled (specifiers) and `$`
 * doubled (variable expansion).
 */
export function execArg(value: string): string {
  if (UNIT_SAFE.test(value)) return value;
  const escaped = value.replaceAll("\\", "\\\\").replaceAll('"', '\\"')
    .replaceAll("%", "%%").replaceAll("$", "$$$$");
  return `"${escaped}"`;
}

/** Seconds (rounded up) of a duration in milliseconds, at least 1. */
export function seconds(milliseconds: number): number {
  return Math.max(1, Math.ceil(milliseconds / 1000));
}
