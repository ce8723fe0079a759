/**
 * `deno task demo`: the newcomer's tour. On a throwaway host it runs a real
 * upgrade through the app's request file, then a bad release (it refuses to
 * start without a real JWT_SECRET, like Graphēon 0.10.4) that the canary stops
 * before anything live is touched, then the same release forced past the canary
 * and rolled back. The host is the lab (systemd as PID 1 in systemd-nspawn,
 * Podman, a registry) where root and nspawn exist, else the simulated host the
 * tests use. `--simulated` forces the latter.
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { Harness } from "../tests/harness/harness.ts";

const say = (line: string) => console.log(line);
const step = (title: string) => say(`\n━━ ${title}`);

function summary(status: Record<string, unknown> | null): string {
  if (!status) return "(no status file)";
  return `status=${status.status} step=${status.step}/5 rolled_back=${status.rolled_back}\n   "${status.message}"`;
}

async function simulated(): Promise<number> {
  say(
    "Host: the simulated host of the tests (podman/systemctl doubles, real HTTP app processes, real SQLite).",
  );
  await using h = await Harness.create();
  const health = async () => {
    const r = await h.health();
    return r.ok ? `${r.status} ${r.body.status} version ${r.body.version}` : r.error;
  };
  say(`Running: backend and frontend 0.2.0; health: ${await health()}`);

  step(
    "1. The app asks for 0.3.0 (writes upgrade-requested); the .path unit would start `grapheon-tool upgrade`",
  );
  await h.writeRequest(Harness.request("0.3.0"));
  let r = await h.runTool(["upgrade"]);
  say(r.stderr.trim().split("\n").map((l) => `   ${l}`).join("\n"));
  say(` → exit ${r.code}; ${summary(await h.readStatus())}`);
  say(`   health now: ${await health()}`);

  step("2. The app asks for 0.4.0, a release that exits without a real JWT_SECRET");
  await h.writeRequest(Harness.request("0.4.0", "0.3.0"));
  r = await h.runTool(["upgrade"]);
  say(` → exit ${r.code} (8: refused by the canary); ${summary(await h.readStatus())}`);
  say(
    `   live units restarted: ${
      h.calls("systemctl", "restart").length === 2 ? "no (only the two of step 1)" : "yes"
    }`,
  );
  say(`   health now: ${await health()}`);

  step("3. The operator forces 0.4.0 past the canary: it fails after the swap and is rolled back");
  r = await h.runTool([
    "upgrade",
    "--backend-version",
    "0.4.0",
    "--frontend-version",
    "0.3.0",
    "--no-canary",
  ]);
  say(` → exit ${r.code} (6: rolled back); ${summary(await h.readStatus())}`);
  say(`   health now: ${await health()}`);

  step("4. `grapheon-tool history`");
  r = await h.runTool(["history"]);
  say(r.stdout.trimEnd().split("\n").map((l) => `   ${l}`).join("\n"));
  return 0;
}

async function realLab(): Promise<number> {
  const { Lab } = await import("../tests/lab/lab.ts");
  const { BAD_VERSIONS, GOOD_VERSIONS, SEED_VERSION } = await import("../tests/lab/images.ts");
  const t = await import("../tests/lab/tool.ts");
  say(
    "Host: the lab: a Debian rootfs booted with systemd-nspawn (systemd as PID 1), Podman, a registry on loopback.",
  );
  say("(The first run builds and caches the rootfs: about a minute.)");
  const lab = await Lab.boot({ name: "grapheon-demo", log: (l: string) => say(`   [lab] ${l}`) });
  try {
    const health = async () => {
      const b = await t.backendHealth(lab);
      return b ? `${b.status} version ${b.version}` : "no answer";
    };
    step("0. grapheon-tool install --with-containers (the way users install it)");
    await t.installTool(lab);
    say(`   serving: ${await health()} (seed ${SEED_VERSION})`);

    const good = GOOD_VERSIONS[0];
    step(
      `1. The app asks for ${good}: request file → grapheon-upgrade.path → grapheon-upgrade.service`,
    );
    let before = await t.currentJobId(lab);
    await t.requestUpgradeViaApp(lab, good);
    let s = await t.waitForOutcome(lab, { toVersion: good, afterJobId: before });
    say(` → ${summary(s)}`);
    say(`   serving: ${await health()}`);

    const bad = BAD_VERSIONS.needsJwt;
    step(`2. The app asks for ${bad}: it exits without a real JWT_SECRET`);
    before = await t.currentJobId(lab);
    await t.requestUpgradeViaApp(lab, bad);
    s = await t.waitForOutcome(lab, { toVersion: bad, afterJobId: before });
    say(` → ${summary(s)}`);
    say(`   serving: ${await health()}`);

    step(`3. The operator forces ${bad} past the canary: rolled back after the swap`);
    const r = await t.tool(lab, ["upgrade", "--version", bad, "--no-canary"]);
    say(` → exit ${r.code}; ${summary(await t.readStatus(lab))}`);
    say(`   serving: ${await health()}`);

    step("4. grapheon-tool history");
    say(
      (await t.tool(lab, ["history"])).stdout.trimEnd().split("\n").map((l: string) => `   ${l}`)
        .join("\n"),
    );
    return 0;
  } finally {
    await lab.teardown();
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { simulated: { type: "boolean" } },
    strict: true,
  });
  const { labUnavailableReason } = await import("../tests/lab/preflight.ts");
  let reason = values.simulated ? "asked for --simulated" : null;
  if (!reason && Deno.build.os === "linux" && Deno.uid() === 0) {
    await new Deno.Command("bash", {
      args: [join(import.meta.dirname!, "..", "tests", "lab", "setup.sh")],
    }).output();
  }
  reason ??= labUnavailableReason();
  if (reason) say(`(The real lab host is not used: ${reason}.)`);
  Deno.exit(reason ? await simulated() : await realLab());
}
