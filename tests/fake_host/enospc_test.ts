/**
 * A full filesystem from each phase on: the state dir (journal, history,
 * backups, request archive) or the data dir (the status the UI polls), each a
 * small real tmpfs filled at the moment the journal reaches the phase. Every
 * cell must still end with a terminal status, the request out of the `.path`
 * unit's way, and a release serving. Needs root (mount); elsewhere it is
 * reported as ignored, never as passed.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { exitFor } from "../../lib/job/outcome.ts";
import { PHASES } from "../../lib/job/progress.ts";
import { readStatus } from "../../lib/job/status_file.ts";
import { writeRequest } from "../../lib/job/request_file.ts";
import { upgrade } from "../../lib/upgrade/mod.ts";
import { EXIT } from "../../lib/core/exit_codes.ts";
import { FakeHost, goodReleases } from "./fake_host.ts";

const root = Deno.uid() === 0 && Deno.build.os === "linux";

function sh(...argv: string[]): void {
  const r = new Deno.Command(argv[0], { args: argv.slice(1), stderr: "piped" }).outputSync();
  if (!r.success) throw new Error(`${argv.join(" ")}: ${new TextDecoder().decode(r.stderr)}`);
}

/** Fills the filesystem of `dir` (writes until ENOSPC). */
function fill(dir: string): void {
  const f = Deno.openSync(join(dir, ".filler"), { write: true, create: true });
  const chunk = new Uint8Array(4096);
  try {
    for (;;) f.writeSync(chunk);
  } catch {
    // full
  } finally {
    f.close();
  }
}

/** The phases a good upgrade passes through (all but rolling-back). */
const GOOD_PHASES = PHASES.filter((p) => p !== "rolling-back");

for (const which of ["stateDir", "dataDir"] as const) {
  Deno.test({
    name: `ENOSPC on the ${which} from each phase on: terminal status, request handled`,
    ignore: !root,
    async fn() {
      for (const phase of GOOD_PHASES) {
        const cell = `${which} full from ${phase}`;
        const fake = FakeHost.create({
          running: "0.2.0",
          published: goodReleases("0.2.0", "0.3.0"),
        });
        const dir = fake.config[which];
        sh("mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", dir);
        try {
          if (which === "dataDir") {
            // The app's status from an earlier run, as on a real host.
            Deno.writeTextFileSync(join(dir, "upgrade-status.json"), '{"status":"completed"}\n');
          }
          await writeRequest(fake.config.dataDir, {
            backend: "0.3.0" as never,
            frontend: "0.3.0" as never,
            now: new Date(fake.state.now),
          });
          let full = false;
          fake.watch = (j) => {
            if (j.phase === phase && !full) {
              full = true;
              fill(dir);
            }
          };
          const outcome = await upgrade(fake.host(), {
            target: null,
            allowDowngrade: false,
            canary: true,
            recover: false,
            signal: new AbortController().signal,
          });
          assert.ok(outcome, cell);
          const status = await readStatus(fake.config.dataDir);
          assert.equal(
            status?.status,
            exitFor(outcome) === EXIT.OK ? "completed" : "failed",
            `${cell}: ${JSON.stringify(status)} / ${outcome.message}`,
          );
          const names = [...Deno.readDirSync(fake.config.dataDir)].map((e) => e.name);
          assert.ok(!names.includes("upgrade-requested"), `${cell}: request handled`);
          const serving = fake.serving();
          assert.deepEqual(
            serving,
            { version: outcome.result === "completed" ? "0.3.0" : "0.2.0", healthy: true },
            `${cell}: ${outcome.result}: ${outcome.message}`,
          );
        } finally {
          sh("umount", dir);
          fake.dispose();
        }
      }
    },
  });
}
