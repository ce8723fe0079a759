/**
 * The fleet scenarios: the repository's Ansible playbook (examples/ansible/upgrade.yml), played
 * by Debian's ansible-playbook over real SSH against three real lab hosts, each with the tool
 * installed by its own installer and pulling from one registry. Steps in order, each starting
 * where the previous one left the fleet: a check run, a good release across all three (and its
 * re-run, a no-op), a bad release stopped on the canary host with the two others untouched, a
 * play killed mid-run then re-run. Every assertion is on the tool's JSON (the documents the play
 * kept, validated by the tool's own schemas, and `status`/`history --json` on each host) and on
 * what each host really serves, never on Ansible's text.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  historyJsonSchema,
  statusJsonSchema,
  upgradeJsonSchema,
} from "../../lib/cli/json_outputs.ts";
import { dryRunSchema } from "../../lib/upgrade/mod.ts";
import { Controller, FLEET_PROGRAMS, type PlayRun } from "./fleet_ansible.ts";
import { Fleet, type FleetHost } from "./fleet.ts";
import { BAD_VERSIONS, GOOD_VERSIONS, SEED_VERSION, SLOW_VERSIONS } from "./images.ts";
import { labTest } from "./preflight.ts";
import { processAlive } from "./lab.ts";
import { backendHealth, DATA_DIR, frontendPage, readStatus, tool } from "./tool.ts";

async function statusOf(host: FleetHost) {
  const r = await tool(host.lab, ["status", "--json"]);
  return statusJsonSchema.parse(JSON.parse(r.stdout));
}

async function historyOf(host: FleetHost) {
  const r = await tool(host.lab, ["history", "--json"]);
  return historyJsonSchema.parse(JSON.parse(r.stdout)).entries;
}

/** What the host really serves: the backend's health and the frontend's page. */
async function serves(host: FleetHost): Promise<{ backend: unknown; frontend: string | null }> {
  const health = await backendHealth(host.lab);
  const page = await frontendPage(host.lab);
  return {
    backend: health?.version ?? null,
    frontend: page?.match(/frontend (\d+\.\d+\.\d+[\w.-]*)/)?.[1] ?? null,
  };
}

function report(play: PlayRun, host: FleetHost) {
  const doc = play.reports.get(host.name);
  assert.ok(doc, `the play kept no document for ${host.name}; output:\n${play.output}`);
  return doc as { upgrade: unknown; after: unknown; rollback: unknown };
}

/** The play's recap and fatal lines, for the log (the report quotes them). */
function summary(play: PlayRun): string {
  return play.output.split("\n").filter((l) =>
    /^(PLAY RECAP|TASK \[|fatal:|changed:|ok:|[a-z0-9]+\s+: ok=)/.test(l)
  ).join("\n");
}

labTest("fleet: the Ansible playbook rolls releases across three hosts over SSH", async (t) => {
  const fleet = await Fleet.boot();
  const hosts = fleet.hosts;
  const [canary, ...prod] = hosts;
  let controller: Controller | null = null;
  const log = (what: string, play: PlayRun) =>
    fleet.log(`${what}: exit ${play.code} in ${play.durationMs} ms\n${summary(play)}`);
  try {
    controller = await Controller.create(fleet);
    const ctl = controller;
    const good = GOOD_VERSIONS[0];

    await t.step("each host answers over SSH with its own, known host key", async () => {
      for (const host of hosts) {
        const ssh = (knownHosts: string) =>
          fleet.onLan([
            "ssh",
            "-i",
            fleet.keys!.identity,
            "-o",
            "BatchMode=yes",
            "-o",
            "StrictHostKeyChecking=yes",
            "-o",
            `UserKnownHostsFile=${knownHosts}`,
            `root@${host.address}`,
            "hostname",
          ], { check: false });
        const ok = await ssh(fleet.keys!.knownHosts);
        assert.equal(ok.code, 0, ok.stderr);
        assert.equal(ok.stdout.trim(), host.lab.name);
        const stranger = await ssh("/dev/null");
        assert.equal(stranger.code, 255, "an unknown host key is refused");
        assert.match(stranger.stderr, /Host key verification failed/);
      }
    });

    await t.step(
      "--check: every host's dry run says it would upgrade; nothing changes",
      async () => {
        const play = await ctl.play({ grapheon_version: good }, { check: true });
        log("check run", play);
        assert.equal(play.code, 0, play.output);
        for (const host of hosts) {
          const dry = dryRunSchema.parse(report(play, host).upgrade);
          assert.ok("decision" in dry && dry.decision === "upgrade", JSON.stringify(dry));
          assert.equal(dry.from.backend.version, SEED_VERSION);
          assert.deepEqual(await serves(host), { backend: SEED_VERSION, frontend: SEED_VERSION });
          assert.equal(await readStatus(host.lab), null, "no job ran");
        }
      },
    );

    await t.step(
      "a good release rolls across all three, the canary first; a re-run is a no-op",
      async () => {
        const play = await ctl.play({ grapheon_version: good });
        log(`three-host rollout ${SEED_VERSION} → ${good}`, play);
        assert.equal(play.code, 0, play.output);
        const finished: number[] = [];
        for (const host of hosts) {
          const doc = upgradeJsonSchema.parse(report(play, host).upgrade);
          assert.equal(doc.result, "completed", JSON.stringify(doc));
          assert.equal(doc.changed, true);
          assert.equal(doc.from?.backend.version, SEED_VERSION);
          assert.equal(doc.to?.backend.version, good);
          fleet.log(`${host.name}: the tool's upgrade took ${doc.duration_ms} ms`);
          assert.equal(statusJsonSchema.parse(report(play, host).after).ok, true);
          assert.deepEqual(await serves(host), { backend: good, frontend: good });
          const [entry] = await historyOf(host);
          assert.equal(entry.result, "completed");
          finished.push(Date.parse(entry.started_at), Date.parse(entry.finished_at));
        }
        assert.deepEqual(finished, [...finished].sort((a, b) => a - b), "one host after the other");
        const running = await Promise.all(hosts.map(async (h) => (await statusOf(h)).backend));
        const again = await ctl.play({ grapheon_version: good });
        log("re-run of the same release", again);
        assert.equal(again.code, 0, again.output);
        for (const [i, host] of hosts.entries()) {
          const doc = upgradeJsonSchema.parse(report(again, host).upgrade);
          assert.equal(doc.result, "noop", JSON.stringify(doc));
          assert.equal(doc.changed, false);
          const now = (await statusOf(host)).backend;
          assert.equal(now.image_id, running[i].image_id);
          assert.equal(now.started_at, running[i].started_at, "nothing was restarted");
        }
      },
    );

    await t.step("a bad release is refused on the canary host; the play stops there", async () => {
      const bad = BAD_VERSIONS.needsJwt;
      const untouched = await Promise.all(prod.map(async (host) => ({
        status: await Deno.readTextFile(host.lab.hostPath(join(DATA_DIR, "upgrade-status.json"))),
        image: (await statusOf(host)).backend.image_id,
        history: (await historyOf(host)).length,
      })));
      const play = await ctl.play({ grapheon_version: bad });
      log(`bad release ${bad}`, play);
      assert.equal(play.code, 2, `ansible-playbook: failed hosts\n${play.output}`);
      const doc = upgradeJsonSchema.parse(report(play, canary).upgrade);
      assert.equal(doc.result, "refused", JSON.stringify(doc));
      assert.equal(doc.exit_code, 8);
      assert.equal(doc.cause, "canary");
      assert.match(doc.message, /JWT_SECRET is not set/);
      const rescue = report(play, canary).rollback as { result: string };
      assert.equal(rescue.result, "noop", "the rescue found the previous release serving");
      assert.deepEqual(await serves(canary), { backend: good, frontend: good });
      for (const [i, host] of prod.entries()) {
        assert.equal(play.reports.has(host.name), false, `${host.name} was not played`);
        assert.deepEqual(await serves(host), { backend: good, frontend: good });
        const now = await statusOf(host);
        assert.equal(now.backend.image_id, untouched[i].image);
        assert.equal((await historyOf(host)).length, untouched[i].history);
        assert.equal(
          await Deno.readTextFile(host.lab.hostPath(join(DATA_DIR, "upgrade-status.json"))),
          untouched[i].status,
          "not even the status file was written",
        );
      }
    });

    await t.step("a play killed mid-run, then re-run, converges on every host", async () => {
      const slow = SLOW_VERSIONS[0];
      const victim = prod[0];
      const killed = await ctl.play({ grapheon_version: slow }, {
        killWhen: async () => {
          const s = await readStatus(victim.lab);
          return s?.to_version === slow && s.status === "running" && Number(s.step) >= 4;
        },
      });
      log(`killed play (${slow}) while ${victim.name} upgraded`, killed);
      assert.equal(killed.killed, true, killed.output);
      const left = await statusOf(victim);
      fleet.log(
        `${victim.name} after the kill: lock held ${left.upgrade.running}, journal ${
          JSON.stringify(left.upgrade.journal)
        }, status ${JSON.stringify(left.upgrade.status)}`,
      );
      const rerun = await ctl.play({ grapheon_version: slow });
      log(`re-run of the killed play (${slow})`, rerun);
      assert.equal(rerun.code, 0, rerun.output);
      for (const host of hosts) {
        const doc = upgradeJsonSchema.parse(report(rerun, host).upgrade);
        assert.ok(["completed", "noop"].includes(doc.result), JSON.stringify(doc));
        fleet.log(`${host.name} on the re-run: ${JSON.stringify(doc)}`);
        fleet.log(`${host.name} history: ${JSON.stringify(await historyOf(host))}`);
        assert.deepEqual(await serves(host), { backend: slow, frontend: slow });
        const status = await statusOf(host);
        assert.equal(status.upgrade.journal, null, `${host.name}: no job left`);
        assert.equal(status.upgrade.running, false);
        assert.equal((await readStatus(host.lab))?.status, "completed");
      }
      assert.equal(upgradeJsonSchema.parse(report(rerun, canary).upgrade).result, "noop");
      assert.equal(upgradeJsonSchema.parse(report(rerun, prod[1]).upgrade).result, "completed");
    });

    await t.step("teardown: every process and mount of the fleet is gone", async () => {
      await ctl.close();
      const down = await fleet.teardown();
      for (const h of down.hosts) {
        assert.deepEqual(h.leakedMounts, []);
        assert.deepEqual(h.killed, []);
      }
      assert.deepEqual(down.killed, []);
      for (const host of hosts) assert.equal(processAlive(host.lab.leader), false);
    });
  } finally {
    await controller?.close();
    await fleet.teardown();
  }
}, { programs: FLEET_PROGRAMS });
