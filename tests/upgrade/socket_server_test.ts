/** A backend release must run uvicorn, which serves the socket the unit hands it (UVICORN_FD=3). */
import assert from "node:assert/strict";
import { socketServerProblem } from "../../lib/release/socket_server.ts";
import { readStatus } from "../../lib/job/status_file.ts";
import { writeRequest } from "../../lib/job/request_file.ts";
import { exitFor } from "../../lib/job/outcome.ts";
import { EXIT } from "../../lib/core/exit_codes.ts";
import { upgrade } from "../../lib/upgrade/mod.ts";
import { FakeHost } from "../fake_host/fake_host.ts";
import { IMAGE_CMD } from "../harness/podman_images.ts";

Deno.test("socketServerProblem: the ways an image can run uvicorn pass, anything else is named", () => {
  const cmd = (Cmd: string[], Entrypoint?: string[]) =>
    socketServerProblem({ Config: { Cmd, Entrypoint } });
  assert.equal(cmd([...IMAGE_CMD.backend]), null);
  assert.equal(cmd(["/usr/local/bin/uvicorn", "main:app"]), null);
  assert.equal(cmd(["python", "-m", "uvicorn", "main:app"]), null);
  assert.equal(cmd(["sh", "-c", "alembic upgrade head && uvicorn main:app"]), null);
  assert.equal(cmd(["main:app", "--port", "8000"], ["uvicorn"]), null);
  assert.match(
    cmd(["gunicorn", "-k", "uvicorn.workers.UvicornWorker", "main:app"])!,
    /^its image runs \["gunicorn",.*not uvicorn, so it would not serve the socket/,
  );
  assert.match(socketServerProblem({ Config: null })!, /its image runs \[\], not uvicorn/);
});

Deno.test("upgrade: a backend that does not run uvicorn is refused (exit 8) before anything live is touched", async () => {
  const fake = FakeHost.create({
    running: "0.2.0",
    published: [
      { component: "backend", version: "0.2.0", behaviour: "good" },
      { component: "frontend", version: "0.2.0", behaviour: "good" },
      { component: "backend", version: "0.3.0", behaviour: "good", cmd: ["gunicorn", "main:app"] },
      { component: "frontend", version: "0.3.0", behaviour: "good" },
    ],
  });
  try {
    await writeRequest(fake.config.dataDir, {
      backend: "0.3.0" as never,
      frontend: "0.3.0" as never,
      now: new Date(fake.state.now),
    });
    const outcome = await upgrade(fake.host(), {
      target: null,
      allowDowngrade: false,
      canary: false,
      recover: false,
      signal: new AbortController().signal,
    });
    assert.ok(outcome);
    assert.equal(exitFor(outcome), EXIT.CANARY_REFUSED);
    assert.match(outcome.message, /runs \["gunicorn","main:app"\], not uvicorn/);
    assert.deepEqual(fake.state.calls.filter((c) => /systemctl restart|podman run/.test(c)), []);
    const status = await readStatus(fake.config.dataDir);
    assert.equal(status?.status, "failed");
  } finally {
    fake.dispose();
  }
});
