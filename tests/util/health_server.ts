/** A real local HTTP server that answers `/health` like the Graphēon backend, with a behaviour a test can change. */

/** What the server answers right now. */
export interface Behaviour {
  /** Body `status` (`healthy`, `degraded`, `unhealthy`); the HTTP status follows the contract. */
  status: "healthy" | "degraded" | "unhealthy";
  /** Body `version`. */
  version: string;
  /** Delay before answering, in ms. */
  delayMs?: number;
}

/** A running server. */
export interface HealthServer extends AsyncDisposable {
  /** `http://127.0.0.1:PORT/health`. */
  url: string;
  /** Requests served so far. */
  hits: () => number;
  /** Changes the behaviour. */
  set(b: Partial<Behaviour>): void;
}

/** The contract's health body for a behaviour. */
export function healthBody(b: Behaviour): string {
  return JSON.stringify({
    status: b.status,
    app: "Graphēon",
    version: b.version,
    uptime_seconds: 1.5,
    checks: [{
      name: "database",
      status: b.status === "unhealthy" ? "error" : "ok",
      message: "",
      response_time_ms: 0.4,
    }],
    timestamp: new Date().toISOString(),
  });
}

/** Starts a server on a free loopback port. */
export function startHealthServer(initial: Behaviour): HealthServer {
  let behaviour = { ...initial };
  let hits = 0;
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (req, info) => {
      hits++;
      const b = behaviour;
      if (b.delayMs) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, b.delayMs);
          info.completed.finally(() => clearTimeout(t));
        });
      }
      const path = new URL(req.url).pathname;
      if (path !== "/health" && path !== "/api/health") {
        return new Response("not found", {
          status: 404,
        });
      }
      return new Response(healthBody(b), {
        status: b.status === "unhealthy" ? 503 : 200,
        headers: { "content-type": "application/json" },
      });
    },
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}/health`,
    hits: () => hits,
    set: (b) => void (behaviour = { ...behaviour, ...b }),
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

/** A loopback port with nothing listening. */
export function closedPort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}
