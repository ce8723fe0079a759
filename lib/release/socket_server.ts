/**
 * Does a backend release serve the socket its unit hands it? The backend unit is
 * socket-activated (units/grapheon-backend.socket): Podman passes the listening socket to the
 * container as fd 3 and the unit sets UVICORN_FD=3, which uvicorn reads (its options take
 * UVICORN_* variables, and a socket from a file descriptor wins over --host/--port:
 * uvicorn/config.py bind_socket), as the real image runs it (backend/Dockerfile upstream:
 * CMD ["uvicorn", "main:app", "--host", "0.0.0.0", "--port", "8000"]). A release whose
 * image starts something else would listen inside its container, where nobody connects,
 * while the host's port queues connections: an outage until the health deadline. So such a
 * release is refused before the swap. Pure.
 */
import type { ImageInfo } from "../host/mod.ts";

/** The program name the unit relies on. */
export const SOCKET_SERVER = "uvicorn";

/** Why `image` would not serve the unit's socket, or null when its command runs uvicorn. */
export function socketServerProblem(image: Pick<ImageInfo, "Config">): string | null {
  const argv = [...(image.Config?.Entrypoint ?? []), ...(image.Config?.Cmd ?? [])];
  // `uvicorn …`, `/usr/local/bin/uvicorn …`, `python -m uvicorn …`, `sh -c "uvicorn …"`.
  const words = argv.flatMap((a) => a.split(/\s+/));
  if (words.some((w) => w.split("/").at(-1) === SOCKET_SERVER)) return null;
  const shown = JSON.stringify(argv).slice(0, 200);
  return `its image runs ${shown}, not ${SOCKET_SERVER}, so it would not serve the socket ` +
    `the backend unit hands it (UVICORN_FD=3)`;
}
