/**
 * The lab scenarios: grapheon-tool installed with its own installer in a real
 * systemd host, real Podman containers pulled from a real registry, upgrades
 * driven the way the app drives them (its request file, the `.path` unit, the
 * service). One host for all steps, in order; each step is one scenario and
 * starts from where the previous one left the host.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  BAD_VERSIONS,
  GOOD_VERSIONS,
  LATE_GOOD_VERSIONS,
  SEED_VERSION,
  SLOW_VERSIONS,
} from "./images.ts";
import { assertCleanTeardown, Lab } from "./lab.ts";
import { labTest } from "./preflight.ts";
import { parseProbes, startProber } from "./prober.ts";
import { waitFor } from "./procs.ts";
import {
  backendHealth,
  BIN,
  countRows,
  currentJobId,
  DATA_DIR,
  frontendPage,
  HEALTH_URL,
  installTool,
  readStatus,
  requestUpgradeViaApp,
  SEED_ROWS,
  STATE_DIR,
  tool,
  unitState,
  upgradeViaApp,
  waitForOutcome,
  writeToolConfig,
} from "./tool.ts";

async function servingVersion(lab: Lab): Promise<unknown> {
  return (await backendHealth(lab))?.version ?? null;
}

async function containerNames(lab: Lab): Promise<string[]> {
  const r = await lab.exec(["podman", "ps", "-a", "--format", "{{.Names}}"]);
  return r.stdout.trim().split("\n").filter(Boolean).sort();
}

/**
 * `why`: what the failure message must say (issue 13: the cause itself, the exit code and
 * log line of a release that exits, the run of 503s, never "not healthy within" a deadline).
 */
const BAD = [
  {
    what: "refuses to start without JWT_SECRET",
    version: BAD_VERSIONS.needsJwt,
    why: /exited with code 1.*JWT_SECRET is not set/,
  },
  {
    what: "answers 503 unhealthy",
    version: BAD_VERSIONS.unhealthy,
    why: /unhealthy answers in a row: status 503/,
  },
  {
    what: "reports the wrong version",
    version: BAD_VERSIONS.wrongVersion,
    why: /unhealthy answers in a row: version 0\.1\.0/,
  },
];

labTest(
  "scenarios: install, upgrade, bad releases, SIGKILL, rollback, status, hardening",
  async (t) => {
    const lab = await Lab.boot({ name: "grapheon-lab" });
    let good = GOOD_VERSIONS[0];
    try {
      await t.step(
        "install --with-containers: the seed release runs from the lab registry",
        async () => {
          const out = await installTool(lab);
          assert.match(out, /grapheon-upgrade\.path/);
          assert.equal(await servingVersion(lab), SEED_VERSION);
          assert.match(await frontendPage(lab) ?? "", new RegExp(`frontend ${SEED_VERSION}`));
          assert.equal(await unitState(lab, "grapheon-upgrade.path"), "active");
          assert.equal(await unitState(lab, "grapheon-backend.service"), "active");
          const launcher = await Deno.readTextFile(lab.hostPath(BIN));
          assert.match(launcher, /main\.ts/, "from source, install writes a launcher of main.ts");
          assert.deepEqual(await containerNames(lab), ["grapheon-backend", "grapheon-frontend"]);
        },
      );

      await t.step(
        "app request → .path → service: completed, new version serving, backup on disk",
        async () => {
          const s = await upgradeViaApp(lab, good);
          assert.equal(s.status, "completed", `status: ${JSON.stringify(s)}`);
          assert.equal(s.progress, 100);
          assert.equal(s.step, 5);
          assert.equal(s.from_version, SEED_VERSION);
          assert.equal(await servingVersion(lab), good);
          assert.match(await frontendPage(lab) ?? "", new RegExp(`frontend ${good}`));
          assert.equal(typeof s.backup, "string", "the status names the backup");
          assert.equal(
            await countRows(lab, s.backup as string),
            SEED_ROWS,
            "the backup is the database",
          );
          const archived = [];
          for await (const e of Deno.readDir(lab.hostPath(join(STATE_DIR, "requests")))) {
            archived
              .push(e.name);
          }
          assert.ok(
            archived.some((n) => n.endsWith(".completed")),
            `archived requests: ${archived}`,
          );
          // The unit that ran it: the real service, started by the real path unit.
          const result = await lab.exec([
            "systemctl",
            "show",
            "-P",
            "Result",
            "grapheon-upgrade.service",
          ]);
          assert.equal(result.stdout.trim(), "success");
          const fired = await lab.journal("grapheon-upgrade.path");
          assert.doesNotMatch(fired, /trigger limit/i);
        },
      );

      // Issue 9: with the canary, a bad release costs the live backend not one failed probe.
      const probesFile = join(lab.runDir, "canary-probes.jsonl");
      const prober = await startProber(lab, {
        label: "prober",
        url: HEALTH_URL,
        out: probesFile,
        intervalMs: 50,
      });
      try {
        for (const bad of BAD) {
          await t.step(
            `bad release ${bad.version} (${bad.what}), canary on: refused, ${good} serving, no failed probe`,
            async () => {
              const from = Date.now();
              const s = await upgradeViaApp(lab, bad.version);
              const to = Date.now();
              assert.equal(s.status, "failed", `status: ${JSON.stringify(s)}`);
              assert.equal(s.rolled_back, false, "nothing live was touched, nothing to roll back");
              assert.match(String(s.message), bad.why);
              assert.match(
                String(s.message),
                new RegExp(`still running ${good.replaceAll(".", "\\.")}`),
              );
              assert.equal(await servingVersion(lab), good);
              assert.deepEqual(await containerNames(lab), [
                "grapheon-backend",
                "grapheon-frontend",
              ]);
              const text = await Deno.readTextFile(probesFile);
              const window = text.split("\n").flatMap((line) => {
                try {
                  return parseProbes(line);
                } catch {
                  return []; // the line being written
                }
              }).filter((p) => p.t >= from && p.t <= to);
              assert.ok(
                window.length >= 10,
                `the prober ran during the upgrade (${window.length} probes)`,
              );
              const failed = window.filter((p) => !p.ok);
              assert.equal(
                failed.length,
                0,
                `failed probes: ${JSON.stringify(failed.slice(0, 3))}`,
              );
            },
          );
        }
      } finally {
        await prober.stop();
      }

      await writeToolConfig(lab, { canary: { enabled: false } });
      for (const bad of BAD) {
        await t.step(
          `bad release ${bad.version} (${bad.what}), no canary: rolled back, ${good} serving`,
          async () => {
            const s = await upgradeViaApp(lab, bad.version);
            assert.equal(s.status, "failed", `status: ${JSON.stringify(s)}`);
            assert.equal(s.rolled_back, true, `status: ${JSON.stringify(s)}`);
            assert.match(String(s.message), /roll(ed)? back/i);
            assert.match(String(s.message), bad.why);
            const health = await backendHealth(lab);
            assert.equal(health?.version, good);
            assert.equal(health?.status, "healthy");
            assert.match(await frontendPage(lab) ?? "", new RegExp(`frontend ${good}`));
          },
        );
      }
      await writeToolConfig(lab, {});

      await t.step(
        `slow release ${SLOW_VERSIONS[0]}: the tool waits for it and completes`,
        async () => {
          const s = await upgradeViaApp(lab, SLOW_VERSIONS[0]);
          assert.equal(s.status, "completed", `status: ${JSON.stringify(s)}`);
          assert.equal(await servingVersion(lab), SLOW_VERSIONS[0]);
          good = SLOW_VERSIONS[0];
        },
      );

      await t.step(
        "SIGKILL of grapheon-upgrade.service mid-upgrade: the host heals itself",
        async () => {
          const target = SLOW_VERSIONS[1];
          const before = await currentJobId(lab);
          await requestUpgradeViaApp(lab, target);
          // Step 5: the live containers run the new release, which (slow) takes seconds to
          // answer: the worst moment for the upgrade to die.
          const at = await waitFor("the upgrade to reach step 5", async () => {
            const s = await readStatus(lab);
            return s && s.job_id !== before && s.status === "running" && Number(s.step) === 5
              ? s
              : undefined;
          }, { timeoutMs: 120_000, intervalMs: 25 });
          const main =
            (await lab.exec(["systemctl", "show", "-P", "MainPID", "grapheon-upgrade.service"]))
              .stdout.trim();
          assert.notEqual(main, "0", "the upgrade service runs at step 5");
          const kill = await lab.exec([
            "systemctl",
            "kill",
            "-s",
            "KILL",
            "grapheon-upgrade.service",
          ], {
            check: false,
          });
          if (kill.code !== 0) {
            // Seen once in nspawn with cgroups v1: the main process is killed, a helper in the
            // unit's cgroup is not ("Failed to send signal SIGKILL to auxiliary processes").
            lab.log(`systemctl kill exited ${kill.code}: ${kill.stderr.trim()}`);
          }
          await waitFor("the upgrade's main process to be gone", async () => {
            const r = await lab.exec(["kill", "-0", main], { check: false });
            return r.code !== 0 ? true : undefined;
          }, { timeoutMs: 10_000, intervalMs: 50 });
          lab.log(`killed the upgrade (pid ${main}) at step ${at.step} (${at.message})`);
          // No human from here on: the path unit sees the request still there and runs again.
          const s = await waitForOutcome(lab, {
            toVersion: target,
            afterJobId: before,
            timeoutMs: 240_000,
          });
          const health = await waitFor("a healthy backend", async () => {
            const h = await backendHealth(lab);
            return h?.status === "healthy" ? h : undefined;
          }, { timeoutMs: 60_000, intervalMs: 200 });
          lab.log(`healed without a human: ${s.status}: ${s.message}`);
          const expected = s.status === "completed" ? target : good;
          assert.equal(health.version, expected, `status after healing: ${JSON.stringify(s)}`);
          assert.deepEqual(await containerNames(lab), ["grapheon-backend", "grapheon-frontend"]);
          const journal = await Deno.lstat(lab.hostPath(join(STATE_DIR, "journal.json")))
            .then(() => true, () => false);
          assert.equal(journal, false, "no interrupted job left behind");
          good = expected;
        },
      );

      await t.step(
        "rollback by hand: the release before the last upgrade serves again",
        async () => {
          const next = LATE_GOOD_VERSIONS[0];
          const up = await upgradeViaApp(lab, next);
          assert.equal(up.status, "completed", `status: ${JSON.stringify(up)}`);
          assert.equal(await servingVersion(lab), next);
          const r = await tool(lab, ["rollback", "--yes", "--json"]);
          assert.equal(r.code, 0, `rollback exited ${r.code}: ${r.stderr}`);
          assert.equal(await servingVersion(lab), good);
          const s = await readStatus(lab);
          assert.equal(s?.status, "completed");
          assert.equal(s?.kind, "rollback");
          assert.match(await frontendPage(lab) ?? "", new RegExp(`frontend ${good}`));
        },
      );

      await t.step("status shows the host", async () => {
        const r = await tool(lab, ["status", "--json"]);
        const status = JSON.parse(r.stdout);
        assert.equal(r.code, status.ok ? 0 : 1);
        assert.equal(status.backend.version, good);
        assert.equal(status.backend.version_source, "health");
        assert.equal(status.backend.data_dir, "/app/data");
        assert.equal(status.backend.container_state, "running");
        assert.equal(status.units["grapheon-upgrade.path"], "active");
        assert.equal(status.health.status, "healthy");
        assert.equal(status.upgrade.status.kind, "rollback");
        assert.ok(status.history.some((h: { kind: string }) => h.kind === "rollback"));
        const text = await tool(lab, ["status"]);
        assert.match(text.stdout, new RegExp(good.replaceAll(".", "\\.")));
      });

      await t.step(
        "a bare version dropped into the data dir from outside: upgraded too",
        async () => {
          const target = LATE_GOOD_VERSIONS[1];
          const before = await currentJobId(lab);
          // What an operator writes by hand (contract: an empty file or a bare version).
          await Deno.writeTextFile(
            lab.hostPath(join(DATA_DIR, "upgrade-requested")),
            `v${target}\n`,
          );
          const s = await waitForOutcome(lab, { toVersion: target, afterJobId: before });
          assert.equal(s.status, "completed", `status: ${JSON.stringify(s)}`);
          assert.equal(await servingVersion(lab), target);
        },
      );

      await t.step("the upgrade service's hardening leaves podman working", async () => {
        const props = await lab.exec([
          "systemctl",
          "show",
          "-p",
          "ProtectSystem",
          "-p",
          "PrivateTmp",
          "-p",
          "LockPersonality",
          "-p",
          "RestrictRealtime",
          "-p",
          "ExecMainStatus",
          "grapheon-upgrade.service",
        ]);
        assert.match(props.stdout, /ProtectSystem=yes/);
        assert.match(props.stdout, /PrivateTmp=yes/);
        assert.match(props.stdout, /LockPersonality=yes/);
        assert.match(props.stdout, /RestrictRealtime=yes/);
        // The last path-triggered run (the bare-version upgrade) pulled, ran the canary, tagged and
        // restarted through podman under this hardening, and exited 0.
        assert.match(props.stdout, /ExecMainStatus=0/);
        const security = await lab.exec(
          ["systemd-analyze", "security", "--no-pager", "grapheon-upgrade.service"],
          { check: false },
        );
        const exposure = security.stdout.match(/Overall exposure level for \S+: ([\d.]+) (\S+)/);
        assert.ok(exposure, `systemd-analyze security: ${security.stdout.slice(-300)}`);
        lab.log(`systemd-analyze security grapheon-upgrade.service: ${exposure[1]} ${exposure[2]}`);
      });

      await t.step("teardown ends every process and leaves no mount", async () => {
        await assertCleanTeardown(lab);
      });
    } finally {
      await lab.teardown(); // idempotent: a no-op after the teardown step
    }
  },
);
