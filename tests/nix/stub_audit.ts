/**
 * The stub audit's reading of Nix files: which attributes of nixpkgs' package
 * set (`pkgs.…`, an overlay's `final.…`/`prev.…`, the arguments callPackage
 * fills in), which NixOS options (`config.…`) and which outputs of the nixpkgs
 * flake (`nixpkgs.…`) a file reads, and whether tests/nix/nixpkgs_stubs.json
 * lists each. Pure functions over file text; tests/nix/stub_audit_test.ts runs
 * them on nix/*.nix and flake.nix. Options a file *sets* are checked by the
 * evaluation instead (nixpkgs' lib.evalModules refuses an undeclared option).
 */

/** Which part of nixpkgs a reference reads. */
export type Section = "pkgs" | "options" | "flake";

/** One attribute path read from nixpkgs. */
export interface Reference {
  /** `pkgs`, `options` or `flake`. */
  section: Section;
  /** Dotted path inside that section, e.g. `deno.version`. */
  path: string;
  /** File it was read from (as given). */
  file: string;
  /** 1-based line. */
  line: number;
}

/** One entry of nixpkgs_stubs.json. */
export interface StubEntry {
  /** The nixpkgs file that declares it. */
  in: string;
  /** Not stubbed: nixpkgs' own lib (paths below it are whatever the real value holds). */
  real?: boolean;
}

/** nixpkgs_stubs.json. */
export interface StubList {
  pkgs: Record<string, StubEntry>;
  options: Record<string, StubEntry>;
  flake: Record<string, StubEntry>;
  /** Option prefixes this project declares, and where. */
  own: Record<string, string>;
}

/**
 * The file's Nix code with comments and the text of string literals blanked
 * (replaced by spaces, newlines kept, so offsets and lines stay), keeping the
 * code inside `${…}` antiquotations. Handles `"…"` with escapes and `''…''`
 * with its `''$`, `'''` and `''\` escapes.
 */
export function codeOnly(src: string): string {
  type Ctx = { kind: "code"; depth: number } | { kind: "str" } | { kind: "ind" };
  const stack: Ctx[] = [{ kind: "code", depth: 0 }];
  const out: string[] = [];
  const blank = (s: string) => s.replace(/[^\n]/g, " ");
  let i = 0;
  while (i < src.length) {
    const ctx = stack[stack.length - 1];
    const c = src[i];
    const next = src[i + 1];
    if (ctx.kind === "code") {
      if (c === "#") {
        const end = src.indexOf("\n", i);
        const stop = end === -1 ? src.length : end;
        out.push(blank(src.slice(i, stop)));
        i = stop;
      } else if (c === "/" && next === "*") {
        const end = src.indexOf("*/", i + 2);
        const stop = end === -1 ? src.length : end + 2;
        out.push(blank(src.slice(i, stop)));
        i = stop;
      } else if (c === '"') {
        stack.push({ kind: "str" });
        out.push(" ");
        i++;
      } else if (c === "'" && next === "'") {
        stack.push({ kind: "ind" });
        out.push("  ");
        i += 2;
      } else if (c === "}" && ctx.depth === 0 && stack.length > 1) {
        stack.pop();
        out.push(" ");
        i++;
      } else {
        if (c === "{") ctx.depth++;
        if (c === "}") ctx.depth--;
        out.push(c);
        i++;
      }
    } else if (c === "$" && next === "{") {
      stack.push({ kind: "code", depth: 0 });
      out.push("  ");
      i += 2;
    } else if (ctx.kind === "str") {
      if (c === "\\") {
        out.push(blank(src.slice(i, i + 2)));
        i += 2;
      } else {
        if (c === '"') stack.pop();
        out.push(blank(c));
        i++;
      }
    } else if (c === "'" && next === "'") {
      const after = src[i + 2];
      const width = after === "$" || after === "'" ? 3 : after === "\\" ? 4 : 2;
      if (width === 2) stack.pop();
      out.push(blank(src.slice(i, i + width)));
      i += width;
    } else {
      out.push(blank(c));
      i++;
    }
  }
  return out.join("");
}

const IDENT = String.raw`[A-Za-z_][A-Za-z0-9_'-]*`;
const PATH = String.raw`((?:\.${IDENT})+)`;
/** After a PATH: the whole path was taken (no backtracking to a shorter one). */
const WHOLE = String.raw`(?![\w'-]|\.[A-Za-z_])`;

/** The formals without a default of a file that is a function of an attribute set. */
export function formals(code: string): string[] {
  const m = /^\s*\{([^{}]*)\}\s*:/.exec(code);
  if (!m) return [];
  return m[1].split(",").map((f) => f.trim()).filter((f) => /^[A-Za-z_][\w'-]*$/.test(f));
}

/** The files flake.nix (or another file) hands to `callPackage`, relative to it: `./nix/package.nix`. */
export function callPackaged(code: string): string[] {
  return [...code.matchAll(/\bcallPackage\s+(\.{1,2}\/[\w./-]+)/g)].map((m) => m[1]);
}

function lineOf(text: string, offset: number): number {
  let n = 1;
  for (let i = 0; i < offset; i++) if (text[i] === "\n") n++;
  return n;
}

/**
 * Every nixpkgs path `file` reads. `callPackaged`: the file is called by
 * callPackage, so its formals are package-set attributes too.
 */
export function references(
  file: string,
  src: string,
  options: { callPackaged?: boolean } = {},
): Reference[] {
  const code = codeOnly(src);
  const roots = new Map<string, { section: Section; keep: boolean }>([
    ["pkgs", { section: "pkgs", keep: false }],
    ["final", { section: "pkgs", keep: false }],
    ["prev", { section: "pkgs", keep: false }],
    ["config", { section: "options", keep: false }],
    ["nixpkgs", { section: "flake", keep: false }],
  ]);
  const out: Reference[] = [];
  if (options.callPackaged) {
    for (const f of formals(code)) {
      roots.set(f, { section: "pkgs", keep: true });
      out.push({ section: "pkgs", path: f, file, line: lineOf(code, code.indexOf(f)) });
    }
  }
  const names = [...roots.keys()].map((r) => r.replace(/[-']/g, "\\$&")).join("|");
  // A root not preceded by part of another name or path (`cfg.config`, `../deno.lock`),
  // except `(…).config.x`; not the left side of a binding (`nixpkgs.hostPlatform = …`).
  const use = new RegExp(
    String.raw`(?:(?<![\w./$'-])|(?<=\)\.))(${names})${PATH}${WHOLE}(?!\s*=(?!=))`,
    "g",
  );
  for (const m of code.matchAll(use)) {
    const root = roots.get(m[1])!;
    const rest = m[2].slice(1);
    const path = root.keep ? `${m[1]}.${rest}` : rest;
    out.push({ section: root.section, path, file, line: lineOf(code, m.index!) });
  }
  const inherits = new RegExp(
    String.raw`\binherit\s*\(\s*(${names})((?:\.${IDENT})*)${WHOLE}\s*\)([^;]*);`,
    "g",
  );
  for (const m of code.matchAll(inherits)) {
    const root = roots.get(m[1])!;
    const base = [root.keep ? m[1] : "", m[2].slice(1)].filter(Boolean).join(".");
    for (const name of m[3].trim().split(/\s+/).filter(Boolean)) {
      const path = base ? `${base}.${name}` : name;
      out.push({ section: root.section, path, file, line: lineOf(code, m.index!) });
    }
  }
  const withs = new RegExp(String.raw`\bwith\s+(${names})\b`, "g");
  for (const m of code.matchAll(withs)) {
    out.push({
      section: roots.get(m[1])!.section,
      path: `with ${m[1]}`,
      file,
      line: lineOf(code, m.index!),
    });
  }
  return out;
}

/** Whether the list holds what `ref` reads (see nixpkgs_stubs.json's `about`). */
export function listed(list: StubList, ref: Reference): boolean {
  if (ref.path.startsWith("with ")) return false; // hides what is read: never allowed
  if (ref.section === "options") {
    for (const prefix of Object.keys(list.own)) {
      if (ref.path === prefix || ref.path.startsWith(prefix + ".")) return true;
    }
  }
  const entries = list[ref.section];
  return Object.entries(entries).some(([path, entry]) =>
    path === ref.path ||
    path.startsWith(ref.path + ".") ||
    // Reading into a real value, or into an option's value (a package option's package).
    ((entry.real || ref.section === "options") && ref.path.startsWith(path + "."))
  );
}

/** The references of `files` (path → text) that the list does not hold, as `file:line: section path`. */
export function unlisted(list: StubList, refs: Reference[]): string[] {
  return refs.filter((r) => !listed(list, r)).map((r) =>
    `${r.file}:${r.line}: ${r.section} ${r.path}`
  );
}
