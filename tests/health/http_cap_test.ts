/** Issue 13 item 7: a health body is streamed and cut at 1 MiB, never read whole. */
import assert from "node:assert/strict";
import { httpGet, MAX_BODY } from "../../lib/host/http.ts";

Deno.test("http: an endless body is cut at 1 MiB and the stream is cancelled", async () => {
  let sent = 0;
  let cancelled = false;
  const chunk = new Uint8Array(64 * 1024).fill(0x61);
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () =>
    new Response(
      new ReadableStream<Uint8Array>({
        pull(controller) {
          sent += chunk.length;
          controller.enqueue(chunk);
        },
        cancel() {
          cancelled = true;
        },
      }),
      { status: 200, headers: { "content-type": "application/json" } },
    ));
  try {
    const url = `http://127.0.0.1:${server.addr.port}/health`;
    const res = await httpGet(url, { timeoutMs: 10_000 });
    assert.equal(res.status, 200);
    assert.equal(res.body.length, MAX_BODY);
    // Give the server a moment to see the cancel; it must not have kept streaming.
    for (let i = 0; i < 50 && !cancelled; i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(cancelled, "the body stream was cancelled");
    assert.ok(sent < 16 * MAX_BODY, `server sent ${sent} bytes`);
  } finally {
    await server.shutdown();
  }
});

Deno.test("http: a small body is read whole", async () => {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () => new Response(JSON.stringify({ status: "healthy" }), { status: 503 }),
  );
  try {
    const res = await httpGet(`http://127.0.0.1:${server.addr.port}/`, { timeoutMs: 5_000 });
    assert.deepEqual(res, { status: 503, body: '{"status":"healthy"}' });
  } finally {
    await server.shutdown();
  }
});
