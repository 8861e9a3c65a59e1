/* A baseline TCP relay for bench/proxy_baselines.py: one thread per direction, blocking
 * recv/send with a 256 KiB buffer — the shape of Go's io.Copy per goroutine, without Python.
 * Usage: relay_threads UPSTREAM_PORT; prints its listen port, exits when stdin closes. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

enum { BUF = 256 * 1024 };

struct pair { int src, dst; };

static void *pump(void *arg) {
  struct pair *p = arg;
  char *buf = malloc(BUF);
  ssize_t n;
  while (buf != NULL && (n = recv(p->src, buf, BUF, 0)) > 0) {
    for (ssize_t off = 0; off < n;) {
      ssize_t w = send(p->dst, buf + off, (size_t)(n - off), MSG_NOSIGNAL);
      if (w <= 0) goto out;
      off += w;
    }
  }
out:
  shutdown(p->dst, SHUT_WR);
  free(buf);
  free(p);
  return NULL;
}

static void *exit_on_stdin_eof(void *unused) {
  char c;
  (void)unused;
  while (read(0, &c, 1) > 0) {
  }
  exit(0);
}

static void spawn(int src, int dst) {
  struct pair *p = malloc(sizeof *p);
  pthread_t t;
  p->src = src;
  p->dst = dst;
  pthread_create(&t, NULL, pump, p);
  pthread_detach(t);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: relay_threads UPSTREAM_PORT\n");
    return 2;
  }
  int one = 1, listener = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  struct sockaddr_in upstream = addr;
  socklen_t len = sizeof addr;
  pthread_t watcher;
  upstream.sin_port = htons((unsigned short)atoi(argv[1]));
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(listener, (void *)&addr, sizeof addr) || listen(listener, 4096) ||
      getsockname(listener, (void *)&addr, &len)) {
    perror("relay_threads: listen");
    return 1;
  }
  printf("%d\n", ntohs(addr.sin_port));
  fflush(stdout);
  pthread_create(&watcher, NULL, exit_on_stdin_eof, NULL);
  for (;;) {
    int client = accept(listener, NULL, NULL);
    int server = socket(AF_INET, SOCK_STREAM, 0);
    if (client < 0 || connect(server, (void *)&upstream, sizeof upstream)) {
      close(client);
      close(server);
      continue;
    }
    setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(server, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    spawn(client, server);
    spawn(server, client);
  }
}
