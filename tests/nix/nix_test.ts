/**
 * The Nix side that needs no package set: every .nix file parses; nix/render.nix
 * renders the same bytes as lib/install/units.ts; the dependency hash matches deno.lock;
 * nix/defaults.json is current; the compile flags come from compile_spec.json.
 * The module (module_test.ts), the flake and package (flake_test.ts) and the
 * stub audit (stub_audit_test.ts) are evaluated with nixpkgs' real lib.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { type Config, configSchema, defaultConfig } from "../../lib/config/config.ts";
import { run } from "../../lib/host/exec.ts";
import { loadTemplates, renderUnits } from "../../lib/install/units.ts";
import { defaultsJson } from "../../scripts/nix_defaults.ts";
import { compileArgs } from "../../scripts/compile.ts";
import spec from "../../scripts/compile_spec.json" with { type: "json" };
import { nixEval, nixTest, REPO, withTemp } from "./nix_eval.ts";

const templates = await loadTemplates();

async function nixFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(join(REPO, dir))) {
    if (e.isFile && e.name.endsWith(".nix")) out.push(join(dir, e.name));
  }
  return out;
}

type NixUnit = { name: string; template: string; group: string; enable: string; text: string };

/** nix/render.nix for a complete config, through a JSON file. */
function renderWithNix(config: Config, podman: string, sh: string): Promise<NixUnit[]> {
  return withTemp(async (dir) => {
    const file = join(dir, "settings.json");
    await Deno.writeTextFile(file, JSON.stringify(config));
    const expr = `(import ./nix/render.nix { settings = builtins.fromJSON (builtins.readFile ${
      JSON.stringify(file)
    }); podman = ${JSON.stringify(podman)}; sh = ${JSON.stringify(sh)}; }).units`;
    return await nixEval(["-E", expr], { withLib: false }) as NixUnit[];
  });
}

nixTest("every .nix file parses (nix-instantiate --parse)", async () => {
  const files = [
    "flake.nix",
    ...await nixFiles("nix"),
    ...await nixFiles("tests/nix"),
    ...await nixFiles("tests/nix/fixtures"),
  ];
  assert.ok(files.length >= 13, files.join());
  for (const f of files) {
    const r = await run(["nix-instantiate", "--parse", join(REPO, f)], { timeoutMs: 30_000 });
    assert.equal(r.code, 0, `${f}: ${r.stderr}`);
  }
});

const custom = configSchema.parse({
  dataDir: "/srv/graph/data",
  runTag: "running",
  network: "host",
  backend: {
    image: "127.0.0.1:5000/lab/backend",
    service: "gb.service",
    environment: { LOG_LEVEL: "debug", GREETING: 'say "hi" 100% $HOME \\o/' },
    envFiles: ["/run/secrets/jwt.env"],
  },
  frontend: { bindAddress: "0.0.0.0", port: 80 },
  timeouts: { pull: "1.5m", pullRetries: 0, restart: "2500ms", health: "45", stop: "5s" },
  canary: { enabled: false },
});

nixTest(
  "render.nix renders exactly what lib/install/units.ts renders (default and custom)",
  async () => {
    for (const config of [defaultConfig(), custom]) {
      const ts = renderUnits(templates, {
        config,
        configPath: "/etc/grapheon/grapheon-tool.json",
        podmanPath: "/usr/bin/podman",
        shPath: "/bin/sh",
      });
      const nix = await renderWithNix(config, "/usr/bin/podman", "/bin/sh");
      assert.deepEqual(nix.map((u) => u.name), ts.map((u) => u.name));
      for (const [i, u] of ts.entries()) {
        assert.equal(nix[i].text, u.text, `${u.name} differs`);
        assert.deepEqual([nix[i].template, nix[i].group, nix[i].enable], [
          u.template,
          u.group,
          u.enable,
        ]);
      }
    }
  },
);

nixTest("render.nix refuses a value that cannot go into a unit, naming the field", async () => {
  const bad = configSchema.parse({ dataDir: "/var/lib/my data" });
  await assert.rejects(
    renderWithNix(bad, "/usr/bin/podman", "/bin/sh"),
    /dataDir: "\/var\/lib\/my data" cannot go into a systemd unit/,
  );
});

nixTest(
  "depsHash in nix/package.nix is the hash of deno.lock's npm packages and deno.lock",
  async () => {
    const lock = JSON.parse(await Deno.readTextFile(join(REPO, "deno.lock"))) as {
      npm: Record<string, unknown>;
    };
    const info = await run([Deno.execPath(), "info", "--json"], { timeoutMs: 30_000 });
    const denoDir = Deno.env.get("DENO_DIR") || JSON.parse(info.stdout).denoDir;
    await withTemp(async (dir) => {
      for (const key of Object.keys(lock.npm)) {
        const at = key.lastIndexOf("@");
        const [name, version] = [key.slice(0, at), key.slice(at + 1).replace(/_.*$/, "")];
        const from = join(denoDir, "npm/registry.npmjs.org", name, version);
        const to = join(dir, "npm/registry.npmjs.org", name);
        await Deno.mkdir(to, { recursive: true });
        const cp = await run(["cp", "-r", from, join(to, version)]);
        assert.equal(cp.code, 0, `${key} is not in the Deno cache (${from}): ${cp.stderr}`);
      }
      // The deps output carries the lock it was made from (nix/package.nix compares them).
      await Deno.copyFile(join(REPO, "deno.lock"), join(dir, "deno.lock"));
      const r = await run([
        "nix",
        "--extra-experimental-features",
        "nix-command",
        "hash",
        "path",
        "--sri",
        dir,
      ]);
      assert.equal(r.code, 0, r.stderr);
      const pkg = await Deno.readTextFile(join(REPO, "nix/package.nix"));
      const declared = /depsHash \? "(sha256-[^"]+)"/.exec(pkg)?.[1];
      assert.equal(declared, r.stdout.trim(), "run nix/update-deps-hash.sh and update depsHash");
    });
  },
);

/** Paths where `sub` differs from `full` (keys only in `full` are fine: the tool fills them in). */
function drift(sub: unknown, full: unknown, path = ""): string[] {
  if (sub && full && typeof sub === "object" && typeof full === "object" && !Array.isArray(sub)) {
    return Object.entries(sub).flatMap(([k, v]) =>
      k in full
        ? drift(v, (full as Record<string, unknown>)[k], `${path}${k}.`)
        : [`${path}${k} (no longer a config key)`]
    );
  }
  return JSON.stringify(sub) === JSON.stringify(full) ? [] : [`${path.slice(0, -1)}`];
}

Deno.test("nix/defaults.json agrees with the tool's defaults", async () => {
  const file = JSON.parse(await Deno.readTextFile(join(REPO, "nix/defaults.json")));
  assert.deepEqual(
    drift(file, defaultConfig()),
    [],
    "nix/defaults.json is stale: run deno run -A scripts/nix_defaults.ts",
  );
  assert.deepEqual(drift({ a: 1, b: { c: [1] } }, { a: 1, b: { c: [2] }, d: 3 }), ["b.c"]);
  assert.equal(defaultsJson(), JSON.stringify(defaultConfig(), null, 2) + "\n");
});

Deno.test("compile arguments come from scripts/compile_spec.json", () => {
  assert.deepEqual(compileArgs("x86_64-linux"), [
    "compile",
    "--frozen",
    "--target",
    "x86_64-unknown-linux-gnu",
    ...spec.permissions,
    "--include",
    "units/",
    "--output",
    "dist/grapheon-tool-x86_64-linux",
    "main.ts",
  ]);
  assert.equal(compileArgs("aarch64-linux").at(-2), "dist/grapheon-tool-aarch64-linux");
});
