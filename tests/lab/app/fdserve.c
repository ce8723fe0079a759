/*
 * fdserve: the lab fakes' HTTP server. It answers the requests that are hot in the lab (a
 * prober's /health every 50 ms, the frontend's /api/ relay) in the process, as uvicorn and
 * nginx do: one fork per connection and no exec. A fake that ran a shell per request, with
 * its date, cat and wc, spent ten processes on each probe; three probers then held both
 * cores of a lab machine (62% of it in the kernel), and every figure measured the fake, not
 * the tool. Anything else (the backend's /api/updates/ routes) runs PROGRAM with the
 * connection as stdin and stdout, REQUEST_METHOD and REQUEST_TARGET in its environment (the
 * head already read), as busybox `nc -ll -e` does.
 *
 * The socket is either inherited (systemd socket activation through Podman: LISTEN_FDS,
 * the socket at fd 3) or bound here. Connections are served concurrently (one child each).
 * On SIGTERM it stops accepting and exits once the connections it took are answered, as
 * uvicorn shuts down gracefully, and as nginx does on SIGQUIT, the stop signal of the nginx
 * image the real frontend is built on (docker-nginx's Dockerfile: STOPSIGNAL SIGQUIT): what is
 * still in the socket's queue is left to the next process.
 *
 *   fdserve backend LISTEN PROGRAM           GET /health, /api/health: the contract's body
 *                                            (APP_VERSION, FAKE_BEHAVIOR unhealthy|
 *                                            wrong-version, FAKE_REPORTED_VERSION)
 *   fdserve frontend LISTEN ADDRESS          /api/...: relayed to ADDRESS:8000 as nginx's
 *                                            proxy_pass (HTTP/1.0, 502 when it does not
 *                                            answer); anything else: a page with APP_VERSION
 *
 * LISTEN: `fd:N` (inherited), `fd:N:PORT` (inherited, and only if bound to all IPv4
 * addresses on PORT, the one inherited socket nginx adopts for `listen PORT`: it compares
 * addresses; exit 3 if not), or `port:N` (bind 0.0.0.0:N).
 *
 * Built static (gcc -static) into the fakes' busybox base image by tests/lab/images.ts.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stopping = 0;
static time_t started;

static void on_term(int sig) {
  (void)sig;
  stopping = 1;
}

static const char *env_or(const char *name, const char *fallback) {
  const char *v = getenv(name);
  return v && *v ? v : fallback;
}

static void write_all(int fd, const char *buf, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, buf, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    buf += n;
    len -= (size_t)n;
  }
}

static void respond(int fd, const char *status, const char *type, const char *body) {
  char head[256];
  int n = snprintf(head, sizeof head,
                   "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                   "Connection: close\r\n\r\n",
                   status, type, strlen(body));
  write_all(fd, head, (size_t)n);
  write_all(fd, body, strlen(body));
}

/* The backend's health body, as the contract has it (see backend_handler.sh's history). */
static void backend_health(int fd) {
  const char *behavior = env_or("FAKE_BEHAVIOR", "good");
  const char *version = env_or("APP_VERSION", "0.0.0");
  const char *status = "healthy";
  const char *code = "200 OK";
  const char *check = "{\"name\":\"database\",\"status\":\"ok\",\"message\":\"fake\","
                      "\"response_time_ms\":0.2}";
  if (strcmp(behavior, "unhealthy") == 0) {
    status = "unhealthy";
    code = "503 Service Unavailable";
    check = "{\"name\":\"database\",\"status\":\"error\",\"message\":\"database is locked\","
            "\"response_time_ms\":5000.0}";
  } else if (strcmp(behavior, "wrong-version") == 0) {
    version = env_or("FAKE_REPORTED_VERSION", "0.0.1");
  }
  time_t now = time(NULL);
  char stamp[32];
  strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
  char body[1024];
  snprintf(body, sizeof body,
           "{\"status\":\"%s\",\"app\":\"Graph\xc4\x93on\",\"version\":\"%s\","
           "\"uptime_seconds\":%ld.0,\"checks\":[%s],\"timestamp\":\"%s\"}",
           status, version, (long)(now - started), check, stamp);
  respond(fd, code, "application/json", body);
}

/*
 * nginx's proxy_pass: a new upstream connection per request, HTTP/1.0 (proxy_http_version's
 * default, ngx_http_proxy_module docs), the upstream's answer copied back as it is; 502 when the
 * upstream cannot be reached or closes without a word.
 * The request is not half-closed: systemd-socket-proxyd ends an exchange whose client shut
 * its side (nginx keeps it open).
 */
static void frontend_relay(int fd, const char *method, const char *target, const char *addr) {
  static const char bad_gateway[] = "<html><title>502 Bad Gateway</title></html>";
  int up = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sin;
  memset(&sin, 0, sizeof sin);
  sin.sin_family = AF_INET;
  sin.sin_port = htons(8000);
  if (up < 0 || inet_pton(AF_INET, addr, &sin.sin_addr) != 1 ||
      connect(up, (struct sockaddr *)&sin, sizeof sin) != 0) {
    respond(fd, "502 Bad Gateway", "text/html", bad_gateway);
    return;
  }
  char req[4096];
  int n = snprintf(req, sizeof req,
                   "%s %s HTTP/1.0\r\nHost: grapheon-backend:8000\r\nConnection: close\r\n\r\n",
                   method, target);
  write_all(up, req, (size_t)n);
  char buf[8192];
  size_t relayed = 0;
  for (;;) {
    ssize_t got = read(up, buf, sizeof buf);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    write_all(fd, buf, (size_t)got);
    relayed += (size_t)got;
  }
  if (relayed == 0) respond(fd, "502 Bad Gateway", "text/html", bad_gateway);
  close(up);
}

/* Reads the request head (up to 8 KiB): 0 with method and target filled, -1 if none came. */
static int read_head(int fd, char *method, size_t mlen, char *target, size_t tlen) {
  char head[8192];
  size_t have = 0;
  while (have < sizeof head - 1) {
    ssize_t got = read(fd, head + have, sizeof head - 1 - have);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    have += (size_t)got;
    head[have] = '\0';
    if (strstr(head, "\r\n\r\n") || strstr(head, "\n\n")) break;
  }
  head[have] = '\0';
  char fmt[32];
  snprintf(fmt, sizeof fmt, "%%%zus %%%zus", mlen - 1, tlen - 1);
  return sscanf(head, fmt, method, target) == 2 ? 0 : -1;
}

/* One connection; `arg`: the backend's PROGRAM, or the frontend's upstream ADDRESS. */
static void serve(int conn, const char *role, const char *arg) {
  char method[16], target[2048];
  if (read_head(conn, method, sizeof method, target, sizeof target) != 0) return;
  int get = strcmp(method, "GET") == 0;
  if (strcmp(role, "backend") == 0 && get &&
      (strcmp(target, "/health") == 0 || strcmp(target, "/api/health") == 0)) {
    backend_health(conn);
    return;
  }
  if (strcmp(role, "frontend") == 0) {
    if (strncmp(target, "/api/", 5) == 0) {
      frontend_relay(conn, method, target, arg);
    } else {
      char page[256];
      snprintf(page, sizeof page, "<!doctype html><title>Graph\xc4\x93on</title><p>frontend %s</p>",
               env_or("APP_VERSION", "0.0.0"));
      respond(conn, "200 OK", "text/html", page);
    }
    return;
  }
  setenv("REQUEST_METHOD", method, 1);
  setenv("REQUEST_TARGET", target, 1);
  dup2(conn, 0);
  dup2(conn, 1);
  execl(arg, arg, (char *)NULL);
  perror("fdserve: exec");
}

/* The listening socket LISTEN names (see the header), or -1 with the reason printed. */
static int listening(const char *spec) {
  int fd, port = 0;
  if (sscanf(spec, "fd:%d:%d", &fd, &port) >= 1 && strncmp(spec, "fd:", 3) == 0) {
    if (port == 0) return fd;
    struct sockaddr_in sin;
    socklen_t len = sizeof sin;
    memset(&sin, 0, sizeof sin);
    if (getsockname(fd, (struct sockaddr *)&sin, &len) != 0 || sin.sin_family != AF_INET ||
        sin.sin_addr.s_addr != htonl(INADDR_ANY) || ntohs(sin.sin_port) != port) {
      fprintf(stderr, "fdserve: fd %d is not a socket on 0.0.0.0:%d; not adopting it\n", fd,
              port);
      exit(3);
    }
    return fd;
  }
  if (sscanf(spec, "port:%d", &port) == 1) {
    fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_port = htons((unsigned short)port);
    if (bind(fd, (struct sockaddr *)&sin, sizeof sin) != 0 || listen(fd, 128) != 0) {
      perror("fdserve: bind");
      return -1;
    }
    return fd;
  }
  fprintf(stderr, "fdserve: LISTEN must be fd:N, fd:N:PORT or port:N, not %s\n", spec);
  return -1;
}

int main(int argc, char **argv) {
  if (argc != 4 || (strcmp(argv[1], "backend") != 0 && strcmp(argv[1], "frontend") != 0)) {
    fprintf(stderr, "usage: fdserve backend LISTEN PROGRAM | frontend LISTEN ADDRESS\n");
    return 2;
  }
  int fd = listening(argv[2]);
  if (fd < 0) return 2;
  started = time(NULL);
  /* Children are reaped by the kernel; wait() then blocks until all have ended. */
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = SIG_IGN;
  sa.sa_flags = SA_NOCLDWAIT;
  sigaction(SIGCHLD, &sa, NULL);
  /* A client that goes away mid-answer must not kill a child by SIGPIPE before it logs. */
  signal(SIGPIPE, SIG_IGN);
  /* No SA_RESTART: SIGTERM interrupts accept(). */
  struct sigaction term;
  memset(&term, 0, sizeof term);
  term.sa_handler = on_term;
  sigaction(SIGTERM, &term, NULL);
  while (!stopping) {
    int conn = accept(fd, NULL, NULL);
    if (conn < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      perror("fdserve: accept");
      return 1;
    }
    pid_t pid = fork();
    if (pid == 0) {
      close(fd);
      signal(SIGTERM, SIG_DFL);
      serve(conn, argv[1], argv[3]);
      close(conn);
      _exit(0);
    }
    close(conn);
  }
  close(fd);
  while (wait(NULL) > 0 || errno == EINTR) {
  }
  return 0;
}
