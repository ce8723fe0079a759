/**
 * The switch guard for real: nix/disko_guard.nix evaluated with nixpkgs' lib
 * and disko's types (tests/disko/eval_guard.nix, which lists the stubbed NixOS
 * options and their nixpkgs sources), its pre-switch script generated the way
 * NixOS generates it and run with bash as switch-to-configuration runs it
 * (`SCRIPT SYSTEM ACTION`). The script calls the real CLI (a package whose
 * bin/grapheon-tool runs main.ts) and the tool runs lsblk and findmnt from the
 * module's util-linux: doubles that check their arguments and print the
 * recorded JSON of tests/disko/fixtures/live (the VPS as installed).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { LSBLK_COLUMNS } from "../../lib/disko/live_snapshot.ts";
import { REPO_ROOT, runCli } from "../util/cli.ts";
import { FIXTURES } from "./fixtures.ts";
import { DISKO_DIR, NIXPKGS_LIB, nixTest, SHARED } from "./nix_env.ts";

const FILE = "tests/disko/guard_test.ts";
const opts = { file: FILE, shared: true };
const live = (name: string) => join(FIXTURES, "live", name);
const VPS = join(FIXTURES, "vps_tmpfs_root.nix");
const P = "disk.sda.content.partitions";

/** A module that changes the VPS layout, as a later commit of disko.nix would. */
const variant = (body: string) =>
  `{ lib, ... }: { imports = [ ${
    JSON.stringify(VPS)
  } ]; disko.devices.disk.sda.content.partitions = ${body}; }`;

interface Host {
  dir: string;
  /** The generated pre-switch script. */
  script: string;
  /** Incoming systems by layout name: SYSTEM/etc/grapheon/disko.json. */
  systems: Record<string, string>;
  /** The installed disko.json of each layout. */
  etc: Record<string, string>;
  overrideFile: string;
  /** Points the lsblk/findmnt doubles at recorded JSON (or makes lsblk fail). */
  machine(lsblk: string | "fail", findmnt: string): Promise<void>;
  /** Runs the script as switch-to-configuration does. */
  run(system: string, action: string, env?: Record<string, string>): Promise<Result>;
}

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

async function evalGuard(
  args: { dir: string; layout: string; enable?: boolean },
): Promise<{ script: string; etc: Record<string, string>; checks: Record<string, string> }> {
  const argv = [
    "--eval",
    "--strict",
    "--json",
    join(REPO_ROOT, "tests/disko/eval_guard.nix"),
    ...["--argstr", "shared", SHARED],
    ...["--argstr", "layout", args.layout],
    ...["--argstr", "package", join(args.dir, "grapheon-tool")],
    ...["--argstr", "utilLinux", join(args.dir, "util-linux")],
    ...["--argstr", "overrideFile", join(args.dir, "run", "disko-override")],
    ...["--argstr", "enable", args.enable === false ? "0" : "1"],
  ];
  const out = await new Deno.Command("nix-instantiate", {
    args: argv,
    env: { NIX_PATH: "" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  if (!out.success) throw new Error(`eval_guard.nix: ${dec.decode(out.stderr)}`);
  return JSON.parse(dec.decode(out.stdout));
}

async function script(path: string, text: string): Promise<void> {
  await Deno.writeTextFile(path, text);
  await Deno.chmod(path, 0o755);
}

async function withHost(fn: (host: Host) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "disko-guard-" });
  try {
    await Deno.mkdir(join(dir, "grapheon-tool", "bin"), { recursive: true });
    await Deno.mkdir(join(dir, "util-linux", "bin"), { recursive: true });
    await Deno.mkdir(join(dir, "run"));
    await script(
      join(dir, "grapheon-tool", "bin", "grapheon-tool"),
      `#!/bin/sh\nexec ${JSON.stringify(Deno.execPath())} run -A --quiet ${
        JSON.stringify(join(REPO_ROOT, "main.ts"))
      } "$@"\n`,
    );
    await Deno.writeTextFile(join(dir, "config.json"), "{}");
    const layouts: Record<string, string> = {
      installed: VPS,
      renamed: join(dir, "renamed.nix"),
      bigger: join(dir, "bigger.nix"),
      noatime: join(dir, "noatime.nix"),
    };
    await Deno.writeTextFile(layouts.renamed, variant(`{ nix.name = "store"; }`));
    await Deno.writeTextFile(layouts.bigger, variant(`{ nix.size = lib.mkForce "100G"; }`));
    await Deno.writeTextFile(
      layouts.noatime,
      variant(`{ nix.content.mountOptions = [ "noatime" ]; }`),
    );
    const systems: Record<string, string> = {};
    const etc: Record<string, string> = {};
    let generated = "";
    for (const [name, layout] of Object.entries(layouts)) {
      const ev = await evalGuard({ dir, layout });
      generated ||= ev.script;
      assert.equal(ev.script, generated, "the script does not depend on the layout");
      systems[name] = join(dir, `system-${name}`);
      etc[name] = ev.etc["grapheon/disko.json"];
      await Deno.mkdir(join(systems[name], "etc", "grapheon"), { recursive: true });
      await Deno.writeTextFile(join(systems[name], "etc", "grapheon", "disko.json"), etc[name]);
    }
    const scriptPath = join(dir, "pre-switch-checks");
    await script(scriptPath, generated);
    const host: Host = {
      dir,
      script: generated,
      systems,
      etc,
      overrideFile: join(dir, "run", "disko-override"),
      async machine(lsblk, findmnt) {
        const double = (name: string, args: string, file: string | "fail") =>
          script(
            join(dir, "util-linux", "bin", name),
            `#!/bin/sh\n# ${name} double: the recorded output of \`${name} ${args}\`\n` +
              `if [ "$*" != ${
                JSON.stringify(args)
              } ]; then echo "${name} double: unexpected arguments: $*" >&2; exit 97; fi\n` +
              (file === "fail"
                ? `echo "${name}: failed to access sysfs directory: /sys/dev/block: No such file or directory" >&2; exit 1\n`
                : `exec cat ${JSON.stringify(file)}\n`),
          );
        await double("lsblk", `--json --bytes --output ${LSBLK_COLUMNS}`, lsblk);
        await double("findmnt", "--json --output TARGET,SOURCE,FSTYPE,OPTIONS", findmnt);
      },
      async run(system, action, env = {}) {
        const out = await new Deno.Command("bash", {
          args: [scriptPath, system, action],
          env: { GRAPHEON_TOOL_CONFIG: join(dir, "config.json"), ...env },
          stdout: "piped",
          stderr: "piped",
        }).output();
        const dec = new TextDecoder();
        return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
      },
    };
    await host.machine(live("vps_lsblk.json"), live("vps_findmnt.json"));
    await fn(host);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const FAILED = "Pre-switch check 'grapheon-disko' failed";

nixTest(
  "guard: the generated pre-switch script passes a safe switch and refuses destructive and not-applied ones",
  async () => {
    await withHost(async (host) => {
      assert.match(host.script, /grapheon-tool disko guard/);
      const safe = await host.run(host.systems.installed, "switch");
      assert.equal(safe.code, 0, safe.stderr);
      assert.match(safe.stderr, /switch to .*system-installed: the layout matches the disks/);
      assert.equal(safe.stdout, "", "the check's output goes to stderr, as NixOS sends it");
      const options = await host.run(host.systems.noatime, "switch");
      assert.equal(options.code, 0, options.stderr);

      const renamed = await host.run(host.systems.renamed, "switch");
      assert.equal(renamed.code, 1, renamed.stderr);
      assert.match(
        renamed.stderr,
        /the layout changes the disks \(1 change\(s\), worst: destructive\)/,
      );
      assert.match(renamed.stderr, /switch REFUSED before activation/);
      assert.match(
        renamed.stderr,
        /destructive +disk\.sda\.content\.partitions\.nix +partition 2 "disk-sda-nix" → "disk-sda-store"/,
      );
      assert.match(renamed.stderr, /disko renames it to "disk-sda-store"/);
      assert.ok(renamed.stderr.trimEnd().endsWith(FAILED), renamed.stderr);

      const bigger = await host.run(host.systems.bigger, "switch");
      assert.equal(bigger.code, 1, bigger.stderr);
      assert.match(
        bigger.stderr,
        /not-applied +disk\.sda\.content\.partitions\.nix\.size +80G → 100G/,
      );
      assert.match(bigger.stderr, /disko never resizes an existing partition/);
      for (const action of ["boot", "test"]) {
        assert.equal((await host.run(host.systems.renamed, action)).code, 1, action);
      }
      for (const action of ["dry-activate", "check"]) {
        const r = await host.run(host.systems.renamed, action);
        assert.equal(r.code, 0, r.stderr);
        assert.match(
          r.stderr,
          new RegExp(`a switch would be refused \\(${action} only reports\\)`),
        );
        assert.ok(!r.stderr.includes(FAILED));
      }
    });
  },
  opts,
);

nixTest(
  "guard: an override file lets one switch through, logged with its reason, then it is gone; so does GRAPHEON_DISKO_OVERRIDE=1",
  async () => {
    await withHost(async (host) => {
      await Deno.writeTextFile(host.overrideFile, "moved /nix by hand\u001b[31m, see ticket 12\n");
      const once = await host.run(host.systems.renamed, "switch");
      assert.equal(once.code, 0, once.stderr);
      assert.match(
        once.stderr,
        /OVERRIDDEN by .*disko-override \(moved \/nix by hand \[31m, see ticket 12\)/,
      );
      assert.match(
        once.stderr,
        /disko guard overridden: switching to .*system-renamed despite disk changes/,
      );
      assert.match(once.stderr, /override used up and removed/);
      assert.ok(
        !once.stderr.includes("\u001b"),
        "the reason is printed without control characters",
      );
      await assert.rejects(Deno.stat(host.overrideFile), Deno.errors.NotFound);
      assert.equal((await host.run(host.systems.renamed, "switch")).code, 1, "used up");

      const env = await host.run(host.systems.renamed, "switch", { GRAPHEON_DISKO_OVERRIDE: "1" });
      assert.equal(env.code, 0, env.stderr);
      assert.match(env.stderr, /disko guard overridden.*override=GRAPHEON_DISKO_OVERRIDE/);

      await Deno.symlink(join(host.dir, "config.json"), host.overrideFile);
      const link = await host.run(host.systems.renamed, "switch");
      assert.equal(link.code, 1, "a symlink is no override");
      assert.match(link.stderr, /override ignored: .* is not a regular file/);
    });
  },
  opts,
);

nixTest(
  "guard: a machine it cannot read refuses (fail closed), dry-activate reports; a system without the layout passes",
  async () => {
    await withHost(async (host) => {
      await host.machine("fail", live("vps_findmnt.json"));
      const r = await host.run(host.systems.installed, "switch");
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /the layout could not be checked: .*lsblk.* exited 1/);
      assert.equal((await host.run(host.systems.installed, "dry-activate")).code, 0);
      const off = join(host.dir, "system-without-guard");
      await Deno.mkdir(join(off, "etc"), { recursive: true });
      const none = await host.run(off, "switch");
      assert.equal(none.code, 0, none.stderr);
      assert.match(
        none.stderr,
        /has no etc\/grapheon\/disko\.json \(guard off there\): not checked/,
      );
    });
  },
  opts,
);

nixTest(
  "guard module: disko.json is what `disko eval` prints; disabled, it adds nothing",
  async () => {
    await withHost(async (host) => {
      const printed = await runCli([
        "disko",
        "eval",
        VPS,
        "--disko",
        DISKO_DIR,
        "--nixpkgs-lib",
        NIXPKGS_LIB,
      ]);
      const fromTool = JSON.parse(printed.stdout);
      const installed = JSON.parse(host.etc.installed);
      assert.equal(installed.evaluatedBy, "disko");
      assert.deepEqual(installed.disko, fromTool.disko);
      assert.equal(installed.disko.devices.disk.sda.content.partitions.nix._index, 2);
      const off = await evalGuard({ dir: host.dir, layout: VPS, enable: false });
      assert.deepEqual(off.checks, {});
      assert.deepEqual(off.etc, {});
    });
  },
  opts,
);

nixTest(
  "guard: drift the current system already has is reported, not refused (--current)",
  async () => {
    await withHost(async (host) => {
      const drifted = [
        "--lsblk-json",
        live("vps_drifted_lsblk.json"),
        "--findmnt-json",
        live("vps_drifted_findmnt.json"),
      ];
      const args = ["disko", "guard", host.systems.noatime, "switch", ...drifted];
      const known = await runCli([...args, "--current", host.systems.installed, "--json"]);
      assert.equal(known.code, 0, known.stderr);
      const doc = JSON.parse(known.stdout);
      assert.equal(doc.verdict, "pass");
      assert.deepEqual(doc.blocking, []);
      assert.ok(doc.known.some((c: { path: string }) => c.path === `${P}.ESP.type`));
      const fresh = await runCli([...args, "--current", join(host.dir, "nowhere")]);
      assert.equal(fresh.code, 10, fresh.stdout);
    });
  },
  opts,
);
