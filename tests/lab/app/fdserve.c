/*
 * fdserve: the lab fakes' server for an inherited listening socket (systemd socket
 * activation through Podman: LISTEN_FDS, the socket at fd 3). It accepts on FD and runs
 * PROGRAM once per connection with the connection as stdin and stdout, as busybox
 * `nc -ll -e` does for a port it binds itself, so the fakes answer the same way in both
 * modes; connections are served concurrently (one child each). On SIGTERM it stops
 * accepting and exits once the connections it took are answered, as uvicorn shuts down
 * gracefully: what is still in the socket's queue is left to the next process.
 *
 *   fdserve FD PROGRAM            serve FD
 *   fdserve FD PROGRAM PORT       the same, but first check that FD is bound to all IPv4
 *                                 addresses on PORT, the only inherited socket nginx adopts
 *                                 for `listen PORT` (it compares addresses); exit 3 if not
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
#include <unistd.h>

static volatile sig_atomic_t stopping = 0;

static void on_term(int sig) {
  (void)sig;
  stopping = 1;
}

int main(int argc, char **argv) {
  if (argc != 3 && argc != 4) {
    fprintf(stderr, "usage: fdserve FD PROGRAM [PORT]\n");
    return 2;
  }
  int fd = atoi(argv[1]);
  if (argc == 4) {
    struct sockaddr_in sin;
    socklen_t len = sizeof sin;
    memset(&sin, 0, sizeof sin);
    if (getsockname(fd, (struct sockaddr *)&sin, &len) != 0 || sin.sin_family != AF_INET ||
        sin.sin_addr.s_addr != htonl(INADDR_ANY) || ntohs(sin.sin_port) != atoi(argv[3])) {
      fprintf(stderr, "fdserve: fd %d is not a socket on 0.0.0.0:%s; not adopting it\n", fd,
              argv[3]);
      return 3;
    }
  }
  /* Children are reaped by the kernel; wait() then blocks until all have ended. */
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = SIG_IGN;
  sa.sa_flags = SA_NOCLDWAIT;
  sigaction(SIGCHLD, &sa, NULL);
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
      dup2(conn, 0);
      dup2(conn, 1);
      if (conn > 1) close(conn);
      execl(argv[2], argv[2], (char *)NULL);
      perror("fdserve: exec");
      _exit(127);
    }
    close(conn);
  }
  close(fd);
  while (wait(NULL) > 0 || errno == EINTR) {
  }
  return 0;
}
