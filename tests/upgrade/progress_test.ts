/**
 * One table for progress (lib/job/progress.ts): the README's step list, the
 * upgrade's --help and its dry run are held to it; and one canary policy that
 * the run and the dry run share agree under `network: "host"`.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { PHASE_STEP, PHASES, STEP_LABELS, stepNumber } from "../../lib/job/progress.ts";
import { writeRequest } from "../../lib/job/request_file.ts";
import { parseConfig } from "../../lib/config/config.ts";
import { upgradeCommand } from "../../commands/upgrade.ts";
import { planUpgrade, upgrade } from "../../lib/upgrade/mod.ts";
import { FakeHost, goodReleases } from "../fake_host/fake_host.ts";

const README = Deno.readTextFileSync(join(import.meta.dirname!, "..", "..", "README.md"));

Deno.test("progress: the README lists the UI's step labels in the table's order", () => {
  const section = README.slice(README.indexOf("## The upgrade"));
  const items = [...section.matchAll(/(\d+)\. \*\*([^*]+)\*\*/g)]
    .map((m) => `${m[1]} ${m[2]}`)
    .filter((item) => STEP_LABELS.some((l) => item.endsWith(l)));
  assert.deepEqual(items, STEP_LABELS.map((l, i) => `${i + 1} ${l}`));
});

Deno.test("progress: --help renders every step from the table", () => {
  STEP_LABELS.forEach((label, i) =>
    assert.match(upgradeCommand.help, new RegExp(`${i + 1} ${label}`))
  );
});

Deno.test("progress: every phase has a step, and later phases never show an earlier step", () => {
  const steps = PHASES.map((p) => stepNumber(PHASE_STEP[p]));
  assert.ok(steps.every((s) => s >= 1 && s <= 5));
  assert.deepEqual(steps, [...steps].sort((a, b) => a - b));
});

Deno.test('canary policy: under network "host" the dry run and the run both skip it', async () => {
  const fake = FakeHost.create({
    running: "0.2.0",
    published: goodReleases("0.2.0", "0.3.0"),
  });
  try {
    const config = parseConfig(
      JSON.stringify({
        dataDir: fake.config.dataDir,
        stateDir: fake.config.stateDir,
        envFile: fake.config.envFile,
        network: "host",
      }),
      "test",
    );
    const host = { ...fake.host(), config };
    await writeRequest(config.dataDir, {
      backend: "0.3.0" as never,
      frontend: "0.3.0" as never,
      now: new Date(),
    });
    const dry = await planUpgrade(host, { target: null, allowDowngrade: false, canary: true });
    assert.ok(!("plan" in dry));
    assert.equal(dry.canary.run, false);
    const outcome = await upgrade(host, {
      target: null,
      allowDowngrade: false,
      canary: true,
      recover: false,
      signal: new AbortController().signal,
    });
    assert.equal(outcome?.result, "completed");
    assert.ok(!fake.state.calls.some((c) => c.includes("-canary")), "no canary container");
    assert.ok(
      fake.lines.some((l) => /canary skipped: the containers use the host network/.test(l)),
    );
  } finally {
    fake.dispose();
  }
});
