/**
 * `grapheon-tool install` / `uninstall` end to end into a temporary root (the
 * real CLI as a subprocess, no systemctl): install, install again (no change),
 * config change (diff), foreign-file backup and restore, uninstall (only data
 * and edited files left), NixOS refusal, dry run; the installed units pass
 * `systemd-analyze verify --root`.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { defaultConfig } from "../../lib/config/config.ts";
import {
  launcherScript,
  runningFromSource,
  shQuote,
  TOOL_PERMISSIONS,
} from "../../lib/install/source.ts";
import { loadTemplates, renderUnits } from "../../lib/install/units.ts";
import { formatDiff } from "../../lib/install/line_diff.ts";
import { verifyUnavailable } from "./verify.ts";
import { run } from "../../lib/host/exec.ts";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
const UNITS = "etc/systemd/system";

async function cli(args: string[], env: Record<string, string> = {}) {
  const r = await run(
    [
      Deno.execPath(),
      "run",
      "-A",
      "--config",
      join(REPO, "deno.json"),
      join(REPO, "main.ts"),
      ...args,
    ],
    { timeoutMs: 120_000, env: { GRAPHEON_TOOL_CONFIG: "", ...env } },
  );
  return r;
}

async function installJson(root: string, extra: string[] = []) {
  const r = await cli(["install", "--root", root, "--json", ...extra]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as {
    changed: number;
    files: { path: string; action: string; diff?: string }[];
  };
}

/** Every regular file under `dir`, relative, sorted. */
async function listFiles(dir: string, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(join(dir, prefix))) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory) out.push(...await listFiles(dir, rel));
    else out.push(rel);
  }
  return out.sort();
}

async function withRoot(fn: (root: string) => Promise<void>) {
  const root = await Deno.makeTempDir({ prefix: "grapheon-install-" });
  try {
    await fn(root);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

Deno.test("install into a root, again (no change), config change (diff), uninstall (data left)", async () => {
  await withRoot(async (root) => {
    const first = await installJson(root, ["--with-containers"]);
    assert.equal(first.changed, 13);
    assert.ok(first.files.every((f) => f.action === "create"));
    // The units on disk are exactly the rendered templates (podman not under the root: /usr/bin).
    const expected = renderUnits(await loadTemplates(), {
      config: defaultConfig(),
      configPath: "/etc/grapheon/grapheon-tool.json",
      podmanPath: "/usr/bin/podman",
      shPath: "/bin/sh",
      protectHome: "read-only", // the tests run from source: the binary is a launcher
    });
    for (const u of expected) {
      assert.equal(await Deno.readTextFile(join(root, UNITS, u.name)), u.text, u.name);
    }
    const launcher = await Deno.readTextFile(join(root, "opt/grapheon/bin/grapheon-tool"));
    assert.match(launcher, /^#!\/bin\/sh\n/);
    assert.ok(launcher.includes(shQuote(join(REPO, "main.ts"))));
    const envInfo = await Deno.stat(join(root, "etc/grapheon/grapheon.env"));
    assert.equal(envInfo.mode! & 0o777, 0o600);
    const configText = await Deno.readTextFile(join(root, "etc/grapheon/grapheon-tool.json"));
    assert.deepEqual(JSON.parse(configText), defaultConfig());
    const manifestFile = join(root, "var/lib/grapheon-tool/install-manifest.json");
    const manifest = await Deno.readTextFile(manifestFile);

    // Second run: nothing changes, the manifest is not rewritten.
    const again = await installJson(root, ["--with-containers"]);
    assert.equal(again.changed, 0);
    assert.deepEqual(
      again.files.map((f) => f.action).sort(),
      [...Array(11).fill("unchanged"), "kept", "kept"].sort(),
    );
    assert.equal(await Deno.readTextFile(manifestFile), manifest);
    const human = await cli(["install", "--root", root, "--with-containers"]);
    assert.match(human.stdout, /nothing changed/);

    // A config change shows up as a diff of the container units.
    const edited = JSON.parse(configText);
    edited.timeouts.stop = "20s";
    await Deno.writeTextFile(join(root, "etc/grapheon/grapheon-tool.json"), JSON.stringify(edited));
    const changed = await installJson(root, ["--with-containers"]);
    assert.equal(changed.changed, 2);
    const backend = changed.files.find((f) => f.path.endsWith("grapheon-backend.service"))!;
    assert.equal(backend.action, "update");
    assert.match(backend.diff!, /^- ExecStop=\/usr\/bin\/podman stop -t 15 grapheon-backend$/m);
    assert.match(backend.diff!, /^\+ ExecStop=\/usr\/bin\/podman stop -t 20 grapheon-backend$/m);

    // Data the app wrote, then uninstall: only data and the edited config remain.
    await Deno.writeTextFile(join(root, "var/lib/grapheon/data/network.db"), "db");
    const un = await cli(["uninstall", "--root", root, "--json"]);
    assert.equal(un.code, 0, un.stderr);
    const outcome = JSON.parse(un.stdout) as { files: { path: string; action: string }[] };
    assert.deepEqual(
      outcome.files.find((f) => f.path === "/etc/grapheon/grapheon-tool.json")?.action,
      "kept",
    );
    assert.deepEqual(await listFiles(root), [
      "etc/grapheon/grapheon-tool.json",
      "var/lib/grapheon/data/network.db",
    ]);
    const none = await cli(["uninstall", "--root", root]);
    assert.equal(none.code, 0);
    assert.match(none.stdout, /nothing to uninstall/);
  });
});

Deno.test("install saves a foreign unit it replaces; uninstall puts it back", async () => {
  await withRoot(async (root) => {
    const upstream =
      "[Service]\nExecStart=/usr/bin/podman run ghcr.io/badgerops/grapheon-backend:latest\n";
    await Deno.mkdir(join(root, UNITS), { recursive: true });
    await Deno.writeTextFile(join(root, UNITS, "grapheon-backend.service"), upstream);
    const r = await installJson(root, ["--with-containers"]);
    const backend = r.files.find((f) => f.path.endsWith("grapheon-backend.service"))!;
    assert.equal(backend.action, "update");
    assert.match(backend.diff!, /^- ExecStart=.*:latest$/m);
    assert.notEqual(
      await Deno.readTextFile(join(root, UNITS, "grapheon-backend.service")),
      upstream,
    );
    const un = await cli(["uninstall", "--root", root]);
    assert.equal(un.code, 0, un.stderr);
    assert.equal(await Deno.readTextFile(join(root, UNITS, "grapheon-backend.service")), upstream);
    assert.deepEqual(await listFiles(root), [`${UNITS}/grapheon-backend.service`]);
  });
});

Deno.test("without --with-containers only the upgrade units are written", async () => {
  await withRoot(async (root) => {
    await installJson(root);
    assert.deepEqual(await listFiles(join(root, UNITS)), [
      "grapheon-upgrade-recover.service",
      "grapheon-upgrade.path",
      "grapheon-upgrade.service",
    ]);
  });
});

Deno.test("install refuses on NixOS and with --dry-run writes nothing", async () => {
  await withRoot(async (root) => {
    const dry = await cli(["install", "--root", root, "--with-containers", "--dry-run"]);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /dry run: 13 file\(s\) would change/);
    assert.deepEqual(await listFiles(root), []);
    await Deno.mkdir(join(root, "etc"));
    await Deno.writeTextFile(join(root, "etc/NIXOS"), "");
    const r = await cli(["install", "--root", root]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /NixOS module/);
    assert.deepEqual(await listFiles(root), ["etc/NIXOS"]);
  });
});

Deno.test("a bad config or manifest is refused with the file named and nothing written", async () => {
  await withRoot(async (root) => {
    await Deno.mkdir(join(root, "etc/grapheon"), { recursive: true });
    await Deno.writeTextFile(join(root, "etc/grapheon/grapheon-tool.json"), '{"dataDir": "x"}');
    const r = await cli(["install", "--root", root]);
    assert.equal(r.code, 3);
    assert.match(r.stderr, /grapheon-tool\.json: field dataDir/);
    assert.deepEqual(await listFiles(root), ["etc/grapheon/grapheon-tool.json"]);
    await Deno.writeTextFile(join(root, "etc/grapheon/grapheon-tool.json"), "{}");
    await Deno.mkdir(join(root, "var/lib/grapheon-tool"), { recursive: true });
    await Deno.writeTextFile(join(root, "var/lib/grapheon-tool/install-manifest.json"), "{}");
    const u = await cli(["uninstall", "--root", root]);
    assert.equal(u.code, 4);
    assert.match(u.stderr, /install-manifest\.json: field version/);
  });
});

/** A root with the host's targets and stand-ins for the programs, for verify --root. */
async function verifiableRoot(root: string) {
  const sysDir = ["/usr/lib/systemd/system", "/lib/systemd/system"].find((d) => {
    try {
      return Deno.statSync(join(d, "sysinit.target")).isFile;
    } catch {
      return false;
    }
  });
  assert.ok(sysDir, "no system unit directory with sysinit.target");
  await Deno.mkdir(join(root, "usr/lib/systemd/system"), { recursive: true });
  for await (const e of Deno.readDir(sysDir)) {
    if (e.isFile && e.name.endsWith(".target")) {
      await Deno.copyFile(join(sysDir, e.name), join(root, "usr/lib/systemd/system", e.name));
    }
  }
  for (const p of ["usr/bin/podman", "bin/sh", "usr/lib/systemd/systemd-socket-proxyd"]) {
    await Deno.mkdir(join(root, p, ".."), { recursive: true });
    await Deno.writeTextFile(join(root, p), "#!/bin/sh\n", { mode: 0o755 });
  }
}

Deno.test({
  name: "installed units pass systemd-analyze verify --root; a missing binary fails it",
  ignore: await verifyUnavailable(),
  async fn() {
    await withRoot(async (root) => {
      await installJson(root, ["--with-containers"]);
      await verifiableRoot(root);
      const units = (await listFiles(join(root, UNITS))).map((f) => join(root, UNITS, f));
      const verify = () =>
        run(["systemd-analyze", "verify", `--root=${root}`, "--man=no", ...units], {
          timeoutMs: 60_000,
        });
      const ok = await verify();
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal(ok.stderr.split("\n").filter((l) => l.includes("grapheon")).join("\n"), "");
      await Deno.remove(join(root, "opt/grapheon/bin/grapheon-tool"));
      const bad = await verify();
      assert.notEqual(bad.code, 0);
      assert.match(bad.stderr, /grapheon-tool is not executable/);
    });
  },
});

Deno.test("launcher script and source detection", () => {
  assert.equal(runningFromSource("/usr/bin/deno", "file:///src/main.ts"), true);
  assert.equal(
    runningFromSource("/opt/grapheon/bin/grapheon-tool", "file:///tmp/x/main.ts"),
    false,
  );
  const text = launcherScript({ deno: "/usr/bin/deno", main: "/src/it's/main.ts", denoDir: "/c" });
  assert.match(
    text,
    /exec '\/usr\/bin\/deno' run --allow-all --cached-only --config '\/src\/it'"'"'s\/deno\.json' '\/src\/it'"'"'s\/main\.ts' "\$@"/,
  );
});

Deno.test("formatDiff: removed before added, context and elision", () => {
  assert.equal(formatDiff("a\nb\nc", "a\nb\nc"), "");
  assert.equal(
    formatDiff("1\n2\n3\n4\n5\n6\n7\n8", "1\nX\n3\n4\n5\n6\n7\nY"),
    "  1\n- 2\n+ X\n  3\n  4\n  …\n  6\n  7\n- 8\n+ Y",
  );
});

Deno.test("the tool's permission list lets node:sqlite run VACUUM INTO (the backup)", async () => {
  await withRoot(async (dir) => {
    const script = join(dir, "vacuum.ts");
    await Deno.writeTextFile(
      script,
      [
        'import { DatabaseSync } from "node:sqlite";',
        `const db = new DatabaseSync(${JSON.stringify(join(dir, "a.db"))});`,
        'db.exec("CREATE TABLE t (x)");',
        `db.exec(${JSON.stringify(`VACUUM INTO '${join(dir, "b.db")}'`)});`,
        'console.log("vacuumed");',
      ].join("\n"),
    );
    const r = await run([Deno.execPath(), "run", ...TOOL_PERMISSIONS, script], {
      timeoutMs: 60_000,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), "vacuumed");
  });
});

Deno.test("the installed launcher runs the checkout", async () => {
  await withRoot(async (root) => {
    await installJson(root);
    const r = await run([join(root, "opt/grapheon/bin/grapheon-tool"), "--version"], {
      timeoutMs: 60_000,
      cwd: root,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^grapheon-tool \d+\.\d+\.\d+/);
  });
});

const canUnshare = Deno.uid() === 0 &&
  (await run(["unshare", "-m", "true"], { timeoutMs: 10_000 }).catch(() => null))?.code === 0;

Deno.test({
  name: "the launcher runs with its Deno cache read-only (as under ProtectHome=read-only)",
  ignore: !canUnshare,
  async fn() {
    await withRoot(async (root) => {
      await installJson(root);
      const launcher = join(root, "opt/grapheon/bin/grapheon-tool");
      const denoDir = /^DENO_DIR='([^']+)'$/m.exec(await Deno.readTextFile(launcher))?.[1];
      assert.ok(denoDir, "launcher sets DENO_DIR");
      const script = 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && ' +
        '! touch "$1/.grapheon-ro-probe" 2>/dev/null && exec "$2" --version';
      const r = await run(["unshare", "-m", "sh", "-c", script, "sh", denoDir, launcher], {
        timeoutMs: 60_000,
      });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^grapheon-tool /);
    });
  },
});
