/**
 * Real `.nix` layouts evaluated through Nix (`nix-instantiate`, or `nix eval`
 * when only the new CLI is there). When nix-instantiate is missing these tests
 * are skipped with a message, except under CI=true where they run and fail.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { checkLayout } from "../../lib/disko/check.ts";
import { loadLayout } from "../../lib/disko/load.ts";
import { evalDiskoNix, type NixEvalOptions } from "../../lib/disko/nix_eval.ts";
import { InputError } from "../../lib/core/errors.ts";
import { run, type Runner } from "../../lib/host/exec.ts";
import { CORPUS, FIXTURES, layoutJson } from "./fixtures.ts";

async function installed(program: string): Promise<boolean> {
  try {
    const out = await new Deno.Command(program, {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    })
      .output();
    return out.success;
  } catch {
    return false;
  }
}

const HAVE_NIX = await installed("nix-instantiate");
const IN_CI = Deno.env.get("CI") === "true";
if (!HAVE_NIX) {
  console.warn(
    IN_CI
      ? "tests/disko/nix_test.ts: nix-instantiate is not installed but CI=true: the Nix tests run and fail"
      : "tests/disko/nix_test.ts: SKIPPING the Nix evaluation tests: nix-instantiate is not installed (apt install nix-bin)",
  );
}

/** A test that needs Nix: skipped without it, except under CI=true. */
function nixTest(name: string, fn: () => Promise<void>): void {
  Deno.test({ name: `nix: ${name}`, ignore: !HAVE_NIX && !IN_CI, fn });
}

/** The real runner with an empty NIX_PATH, so the host's channels cannot change results. */
const isolated: Runner = (argv, options = {}) =>
  run(argv, { ...options, env: { NIX_PATH: "", ...options.env } });

function nixOptions(extra: Partial<NixEvalOptions> = {}): NixEvalOptions {
  return { runner: isolated, nixInstantiate: "nix-instantiate", nix: "nix", ...extra };
}

/** A temp dir with files; removed after `fn`. */
async function withFiles(
  files: Record<string, string>,
  fn: (dir: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "disko-nix-" });
  try {
    for (const [name, text] of Object.entries(files)) {
      await Deno.mkdir(join(dir, name, ".."), { recursive: true });
      await Deno.writeTextFile(join(dir, name), text);
    }
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * A stand-in nixpkgs for the tests: only the `lib` functions the test layouts
 * call, with nixpkgs' definitions (mkDefault is mkOverride 1000). It proves that
 * `lib` reaches the layout when <nixpkgs> resolves; it is never used by the tool.
 */
const STUB_NIXPKGS_LIB = `{
  genAttrs = names: f: builtins.listToAttrs (map (n: { name = n; value = f n; }) names);
  replaceStrings = builtins.replaceStrings;
  mkOverride = priority: content: { _type = "override"; inherit priority content; };
  mkDefault = content: { _type = "override"; priority = 1000; inherit content; };
  mkIf = condition: content: { _type = "if"; inherit condition content; };
}`;

for (const name of CORPUS) {
  nixTest(`${name}.nix evaluates to ${name}.json and passes the check`, async () => {
    const raw = await evalDiskoNix(join(FIXTURES, `${name}.nix`), nixOptions());
    assert.deepEqual(raw, layoutJson(name));
    const model = await loadLayout(join(FIXTURES, `${name}.nix`), { nix: nixOptions() });
    assert.deepEqual(checkLayout(model).filter((f) => f.severity === "error"), []);
  });
}

nixTest("a function asking for lib fails clearly when <nixpkgs> does not resolve", async () => {
  await withFiles({ "layout.nix": "{ lib, ... }: { disko.devices = { }; }" }, async (dir) => {
    await assert.rejects(
      evalDiskoNix(join(dir, "layout.nix"), nixOptions()),
      (e) =>
        e instanceof InputError &&
        e.message.includes("layout.nix: the layout is a function that needs `lib`") &&
        e.message.includes("NIX_PATH=nixpkgs="),
    );
  });
});

nixTest(
  "a function gets lib from <nixpkgs> (--nix-path) and keeps its own defaults; mkDefault resolves",
  async () => {
    const layout =
      `{ lib, disks ? [ "/dev/disk/by-id/virtio-a" "/dev/disk/by-id/virtio-b" ], ... }: {
    disko.devices.disk = lib.genAttrs disks (device: {
      name = lib.replaceStrings [ "/" ] [ "_" ] device;
      device = lib.mkDefault device;
      type = "disk";
      content = {
        type = "gpt";
        partitions = {
          boot = { size = "1M"; type = "EF02"; };
          root = { size = "100%"; content = { type = "filesystem"; format = "ext4"; mountpoint = lib.mkIf (device == builtins.head disks) "/"; }; };
        };
      };
    });
  }`;
    await withFiles(
      { "nixpkgs/lib/default.nix": STUB_NIXPKGS_LIB, "with-lib.nix": layout },
      async (dir) => {
        const opts = nixOptions({ nixPath: [`nixpkgs=${join(dir, "nixpkgs")}`] });
        const model = await loadLayout(join(dir, "with-lib.nix"), { nix: opts });
        assert.deepEqual(model.disks.map((d) => [d.name, d.device]), [
          ["_dev_disk_by-id_virtio-a", "/dev/disk/by-id/virtio-a"],
          ["_dev_disk_by-id_virtio-b", "/dev/disk/by-id/virtio-b"],
        ]);
        assert.deepEqual(model.mounts.map((m) => m.mountpoint), ["/"]);
        assert.equal(model.disks[0].partitions[0].label, "disk-_dev_disk_by-id_virtio-a-boot");
      },
    );
  },
);

nixTest("a function asking for something other than lib names it", async () => {
  await withFiles({ "module.nix": "{ config, modulesPath, ... }: { }" }, async (dir) => {
    await assert.rejects(
      evalDiskoNix(join(dir, "module.nix"), nixOptions()),
      (e) => e instanceof InputError && /needs `config`, `modulesPath`/.test(e.message),
    );
  });
});

nixTest("a Nix error is bad input naming the file and Nix's message", async () => {
  await withFiles(
    { "broken.nix": "{ disko.devices.disk.main = { device = ; }; }" },
    async (dir) => {
      await assert.rejects(
        loadLayout(join(dir, "broken.nix"), { nix: nixOptions() }),
        (e) =>
          e instanceof InputError &&
          /broken\.nix: Nix evaluation failed \(nix-instantiate\): syntax error/.test(e.message),
      );
    },
  );
});

nixTest("a wrong field found after evaluation names the file and the field", async () => {
  await withFiles({
    "bad.nix": '{ disko.devices.disk.main = { type = "disk"; content = null; }; }',
  }, async (dir) => {
    await assert.rejects(
      loadLayout(join(dir, "bad.nix"), { nix: nixOptions() }),
      (e) => e instanceof InputError && /bad\.nix: field disk\.main\.device/.test(e.message),
    );
  });
});

nixTest("a path with quotes and spaces is data, not Nix code", async () => {
  const text = await Deno.readTextFile(join(FIXTURES, "simple_efi.nix"));
  const name = `it's a "layout" \${x}.nix`;
  await withFiles({ [name]: text }, async (dir) => {
    const raw = await evalDiskoNix(join(dir, name), nixOptions());
    assert.deepEqual(raw, layoutJson("simple_efi"));
  });
});

nixTest("falls back to `nix eval` when nix-instantiate is not installed", async () => {
  if (!(await installed("nix"))) {
    throw new Error("nix (new CLI) is not installed next to nix-instantiate");
  }
  const raw = await evalDiskoNix(
    join(FIXTURES, "vps_tmpfs_root.nix"),
    nixOptions({ nixInstantiate: "grapheon-test-no-such-nix-instantiate" }),
  );
  assert.deepEqual(raw, layoutJson("vps_tmpfs_root"));
});

Deno.test("neither nix-instantiate nor nix installed: bad input saying so (no Nix needed)", async () => {
  await assert.rejects(
    evalDiskoNix(join(FIXTURES, "simple_efi.nix"), {
      runner: run,
      nixInstantiate: "grapheon-test-no-such-nix-instantiate",
      nix: "grapheon-test-no-such-nix",
    }),
    (e) => e instanceof InputError && /neither .* nor .* is installed/.test(e.message),
  );
});
