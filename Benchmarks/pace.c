// A paced (open-loop) load generator: one request every 1/RATE seconds, evenly spaced, over CONNS keep-alive
// connections, for the fixed-rate p99. A request whose time comes while every connection is busy waits for the
// first free one, and its latency counts from the time it was due, not from when it was sent (no coordinated
// omission). hey's -q paces each worker on its own ticker, all started together, so its 5,000 req/s arrives as
// bursts of 50 every 10 ms: a burst test, which run.sh still reports beside this.
//
//   cc -O2 -o pace pace.c && ./pace PORT RATE SECONDS CONNS BODY KEY
//   prints: sent achieved_req/s p50_ms p99_ms p999_ms max_ms non2xx
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef struct { int fd; int busy; double due; size_t have; char buf[16384]; } conn_t;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

// Length of a whole response at the start of buf (head and Content-Length body), 0 if not all here yet, -1 if bad.
static long whole(const char *buf, size_t n, int *status) {
    const char *end = memmem(buf, n, "\r\n\r\n", 4);
    if (!end) return 0;
    size_t head = end - buf + 4;
    *status = (n > 12) ? atoi(buf + 9) : 0;
    long body = -1;
    for (const char *p = buf; p && p < end; p = memchr(p, '\n', end - p)) {
        if (*p == '\n') p++;
        if (strncasecmp(p, "content-length:", 15) == 0) body = atol(p + 15);
    }
    if (body < 0) return -1;
    return (head + body <= n) ? (long)(head + body) : 0;
}

int main(int argc, char **argv) {
    if (argc != 7) { fprintf(stderr, "usage: pace PORT RATE SECONDS CONNS BODY KEY\n"); return 2; }
    int port = atoi(argv[1]), conns = atoi(argv[4]);
    double rate = atof(argv[2]), seconds = atof(argv[3]);
    char req[4096];
    int reqlen = snprintf(req, sizeof req,
        "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
        "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s", argv[6], strlen(argv[5]), argv[5]);
    long total = (long)(rate * seconds);
    double *lat = calloc(total, sizeof(double));
    conn_t *c = calloc(conns, sizeof(conn_t));
    int ep = epoll_create1(0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    for (int i = 0; i < conns; i++) {
        c[i].fd = socket(AF_INET, SOCK_STREAM, 0);
        int one = 1;
        setsockopt(c[i].fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (connect(c[i].fd, (struct sockaddr *)&addr, sizeof addr) != 0) { perror("connect"); return 1; }
        fcntl(c[i].fd, F_SETFL, O_NONBLOCK);
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = i};
        epoll_ctl(ep, EPOLL_CTL_ADD, c[i].fd, &ev);
    }
    long done = 0, bad = 0, inflight = 0;
    // The next request to send; every one before it was sent. Its due time is start + queued_from / rate.
    long queued_from = 0;
    double start = now() + 0.05;
    struct epoll_event evs[256];
    while (done < total) {
        double t = now();
        // Every request now due goes out on a free connection, or waits in order.
        while (queued_from < total && start + queued_from / rate <= t) {
            int free_conn = -1;
            for (int i = 0; i < conns; i++) if (!c[i].busy) { free_conn = i; break; }
            if (free_conn < 0) break;
            conn_t *k = &c[free_conn];
            k->busy = 1;
            k->due = start + queued_from / rate;
            k->have = 0;
            if (write(k->fd, req, reqlen) != reqlen) { perror("write"); return 1; }
            queued_from++;
            inflight++;
        }
        // Sleep until the next request is due or an answer comes, to the microsecond (epoll_wait's milliseconds
        // would send a 5,000 req/s schedule in clumps). With every connection busy, only an answer helps.
        double wait = queued_from < total ? start + queued_from / rate - now() : 1.0;
        if (inflight == conns) wait = 1.0;
        if (wait < 0) wait = 0;
        struct timespec ts = {.tv_sec = (time_t)wait, .tv_nsec = (long)((wait - (time_t)wait) * 1e9)};
        int n = epoll_pwait2(ep, evs, 256, &ts, NULL);
        for (int e = 0; e < n; e++) {
            conn_t *k = &c[evs[e].data.u32];
            ssize_t r = read(k->fd, k->buf + k->have, sizeof k->buf - k->have);
            if (r <= 0) {
                if (r < 0 && errno == EAGAIN) continue;
                fprintf(stderr, "connection closed\n");
                return 1;
            }
            k->have += r;
            int status = 0;
            long len = whole(k->buf, k->have, &status);
            if (len < 0) { fprintf(stderr, "response without content-length\n"); return 1; }
            if (len == 0) continue;
            if (status < 200 || status > 299) bad++;
            lat[done++] = now() - k->due;
            k->busy = 0;
            inflight--;
        }
    }
    double elapsed = now() - start;
    qsort(lat, total, sizeof(double), cmp);
    printf("%ld %.0f %.3f %.3f %.3f %.3f %ld\n", total, total / elapsed, lat[total / 2] * 1e3, lat[(long)(total * 0.99)] * 1e3,
           lat[(long)(total * 0.999)] * 1e3, lat[total - 1] * 1e3, bad);
    return 0;
}
