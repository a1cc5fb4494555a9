// egresswatch's exec watcher: a copy of each new program's (and each new process's) small /proc
// files, taken the moment it starts, for processes that are gone before the agent gets to them.
//
// Why: curl against a nearby server execs, connects, gets its answer and exits within a few
// milliseconds. The connect tracer (tracer.c) still names its pid, but by the time the agent asks
// /proc about that pid, the process has been reaped: no executable, no command line. The kernel's
// process events connector (NETLINK_CONNECTOR, CN_IDX_PROC: needs CAP_NET_ADMIN, and the initial
// user and pid namespaces) announces every exec; a thread of ours reads the new program's files
// right then (tens of microseconds) into a ring the agent reads when /proc has nothing left.
// Forks too: a process forked without exec (a forking server's or a multiprocessing pool's
// worker, a shell's subshell) runs its parent's program; it can connect and exit within a
// millisecond as well, and its copy, taken at the fork, says what it ran, with its own pid and
// parent. A child that execs afterwards gets a newer copy at its exec, and the newest one wins.
//
// API (one watcher per process; failures are negative errnos, never throws):
//   execWatchOpen(procRoot, files[], links[][, execsPerSecond, forksPerSecond])
//                      -> 0 or -errno (execWatchError() says which step); the budgets default to
//                         MAX_COPIES_PER_SECOND and MAX_FORK_COPIES_PER_SECOND
//   execWatchGet(pid[, before]) -> undefined, or [ms, { file: Buffer }, { link: string }, event ms,
//                         kind (0 exec, 1 fork)] of the newest copy for that pid (of the newest
//                         whose event came at or before `before`, when given). Times are wall
//                         clock (CLOCK_REALTIME) ms, as packet timestamps: the copy's, and the
//                         kernel's event (its monotonic stamp carried over to the wall clock).
//                         An exec or fork that was not copied (budget, gone first) is noted:
//                         undefined when it came after the newest copy asked for (what the pid
//                         has run since is not known); execWatchLast tells its time and kind.
//   execWatchLast(pid) -> undefined, or [event ms, kind] of the pid's last exec or fork seen (copied
//                         or not; no files copied out)
//   execWatchStats()   -> [execs, copies, vanished, overruns, skipped (execs over the per-second
//                         budget), forks (new processes), fork copies skipped (over their budget)]
//   execWatchClose()
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <node_api.h>
#include "napi_util.h"

#define RING 1024
/** Slots (by pid) of the last exec or fork not copied: a table apart, so a storm does not flush the ring. */
#define UNCOPIED 4096
/**
 * Copies taken per second at most: a copy costs ~20-30 µs of this thread (a dozen system calls);
 * a build host execs thousands of programs a second. Past it execs go uncopied (counted).
 */
#define MAX_COPIES_PER_SECOND 2000
/**
 * Copies taken at forks per second at most, a budget of their own: most forks exec at once (their
 * copy is then superseded), and a shell loop forking thousands of times a second must not spend
 * the execs' budget.
 */
#define MAX_FORK_COPIES_PER_SECOND 1000
/** Times a copy is taken again when the program changed (an exec) while it was read. */
#define COPY_TRIES 3
#define MAX_NAMES 12
#define MAX_FILE 4096
#define MAX_CMDLINE 16384

enum { EXEC = 0, FORK = 1 };

struct copy {
  int pid;
  int kind;
  /** Wall-clock ms of the copy, and of the exec or fork it copies after. */
  double at_ms;
  double event_ms;
  char *data[MAX_NAMES];
  int len[MAX_NAMES];
};

/** An exec or fork whose program was not copied (over the budget, or gone first). */
struct gap {
  int pid;
  int kind;
  double event_ms;
};

static struct {
  int open;
  int fd, wake;
  pthread_t thread;
  pthread_mutex_t mu;
  struct copy ring[RING];
  int head;
  struct gap uncopied[UNCOPIED];
  char root[512];
  char *names[MAX_NAMES];
  int nfiles, nlinks;
  /** Index in names of the `exe` link (-1: none asked for): tells a copy torn by an exec. */
  int exe_index;
  uint64_t events, copies, vanished, overruns, skipped, forks, fork_skipped;
  /** Copies a second at most, at execs and at forks. */
  int max_exec_copies, max_fork_copies;
  double window_start;
  int window_copies, window_fork_copies;
} W = { .open = 0, .fd = -1, .wake = -1, .mu = PTHREAD_MUTEX_INITIALIZER };

static char last_error[512];

static double clock_ms(clockid_t id) {
  struct timespec ts;
  clock_gettime(id, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static double mono_ms(void) {
  return clock_ms(CLOCK_MONOTONIC);
}

/** The wall-clock time of a kernel event stamped with the monotonic clock (ns), as of now. */
static double event_wall_ms(uint64_t mono_ns) {
  double offset = clock_ms(CLOCK_REALTIME) - mono_ms();
  return (double)mono_ns / 1e6 + offset;
}

/** Reads root/pid/name (a file, at most `cap` bytes) into a new buffer; -1 when unreadable. */
static int read_file(int pid, const char *name, int cap, char **out) {
  char path[700];
  snprintf(path, sizeof(path), "%s/%d/%s", W.root, pid, name);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  char *buf = malloc((size_t)cap);
  if (!buf) {
    close(fd);
    return -1;
  }
  int n = 0;
  while (n < cap) {
    ssize_t r = read(fd, buf + n, (size_t)(cap - n));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    n += (int)r;
  }
  close(fd);
  // Sized to what was read: a ring of copies holds a few KB each, not the read buffers' 4-16 KB.
  char *fit = realloc(buf, n > 0 ? (size_t)n : 1);
  *out = fit ? fit : buf;
  return n;
}

static int read_link(int pid, const char *name, char **out) {
  char path[700];
  snprintf(path, sizeof(path), "%s/%d/%s", W.root, pid, name);
  char *buf = malloc(4096);
  if (!buf) return -1;
  ssize_t n = readlink(path, buf, 4096);
  if (n < 0) {
    free(buf);
    return -1;
  }
  char *fit = realloc(buf, n > 0 ? (size_t)n : 1);
  *out = fit ? fit : buf;
  return (int)n;
}

static void free_copy(struct copy *c) {
  for (int i = 0; i < MAX_NAMES; i++) {
    free(c->data[i]);
    c->data[i] = NULL;
    c->len[i] = -1;
  }
  c->pid = 0;
}

/**
 * Reads the pid's files and links into `c`; 0 when done, -1 when the process is gone (its first
 * file, stat, unreadable), 1 when its program changed while it was read (the exe link before
 * and after differ: a fork copy caught by the child's exec, an exec by the next one).
 */
static int read_copy(int pid, struct copy *c) {
  memset(c, 0, sizeof(*c));
  c->pid = pid;
  c->at_ms = clock_ms(CLOCK_REALTIME);
  int n = W.nfiles + W.nlinks;
  char *before = NULL;
  int before_len = W.exe_index >= 0 ? read_link(pid, W.names[W.exe_index], &before) : -1;
  for (int i = 0; i < n; i++) {
    c->len[i] = i < W.nfiles
      ? read_file(pid, W.names[i], strcmp(W.names[i], "cmdline") == 0 ? MAX_CMDLINE : MAX_FILE, &c->data[i])
      : read_link(pid, W.names[i], &c->data[i]);
  }
  for (int i = n; i < MAX_NAMES; i++) c->len[i] = -1;
  int r = 0;
  if (c->len[0] < 0) r = -1;
  else if (W.exe_index >= 0 && (before_len != c->len[W.exe_index]
      || (before_len > 0 && memcmp(before, c->data[W.exe_index], (size_t)before_len) != 0))) r = 1;
  free(before);
  if (r != 0) free_copy(c);
  return r;
}

static void put(struct copy *c) {
  pthread_mutex_lock(&W.mu);
  struct copy *slot = &W.ring[W.head];
  free_copy(slot);
  *slot = *c;
  W.head = (W.head + 1) % RING;
  pthread_mutex_unlock(&W.mu);
}

/**
 * An exec or fork that was not copied (over the budget, or gone first): noted for the pid, so that
 * an older copy of it (its fork's, its previous program's, or a former process's under the same
 * pid) no longer answers for what it has run since. In a table of its own, by pid: a storm of
 * them must not push the ring's copies out.
 */
static void not_copied(int pid, int kind, double event_ms) {
  pthread_mutex_lock(&W.mu);
  struct gap *g = &W.uncopied[(unsigned)pid % UNCOPIED];
  g->pid = pid;
  g->kind = kind;
  g->event_ms = event_ms;
  pthread_mutex_unlock(&W.mu);
}

static void take_copy(int pid, int kind, double event_ms) {
  struct copy c;
  int r = 1;
  for (int tries = 0; tries < COPY_TRIES && r == 1; tries++) r = read_copy(pid, &c);
  if (r != 0) {  // gone already (or still changing program: its exec's own copy follows)
    W.vanished++;
    not_copied(pid, kind, event_ms);
    return;
  }
  c.kind = kind;
  c.event_ms = event_ms;
  put(&c);
  W.copies++;
}

/** One more copy within the second's budget `max` (counted in `used`)? */
static int within_budget(int *used, int max) {
  double now = mono_ms();
  if (now - W.window_start >= 1000) {
    W.window_start = now;
    W.window_copies = 0;
    W.window_fork_copies = 0;
  }
  if (*used >= max) return 0;
  (*used)++;
  return 1;
}

/** An exec or a new process: copied within its kind's budget (`used` of `max` this second), else counted in `skipped` and noted. */
static void copy_or_note(int pid, int kind, double event_ms, int *used, int max, uint64_t *skipped) {
  if (within_budget(used, max)) {
    take_copy(pid, kind, event_ms);
  } else {
    (*skipped)++;
    not_copied(pid, kind, event_ms);
  }
}

static void *watch(void *arg) {
  (void)arg;
  static uint8_t buf[16384] __attribute__((aligned(8)));
  struct pollfd p[2] = { { .fd = W.fd, .events = POLLIN }, { .fd = W.wake, .events = POLLIN } };
  for (;;) {
    if (poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (p[1].revents) break;
    ssize_t len = recv(W.fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (len < 0) {
      if (errno == ENOBUFS) W.overruns++;  // events lost while we were slow: counted, go on
      else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) break;
      continue;
    }
    int rest = (int)len;
    for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, rest); h = NLMSG_NEXT(h, rest)) {
      if (h->nlmsg_type != NLMSG_DONE) continue;
      // Only as long as the fields read: the event union grows between kernel versions, and the
      // kernel sends its own size, which may be shorter than these headers' struct.
      size_t head = NLMSG_LENGTH(sizeof(struct cn_msg) + offsetof(struct proc_event, event_data));
      if (h->nlmsg_len < head) continue;
      struct cn_msg *cn = NLMSG_DATA(h);
      if (cn->id.idx != CN_IDX_PROC || cn->id.val != CN_VAL_PROC) continue;
      struct proc_event *ev = (struct proc_event *)cn->data;
      if (ev->what == PROC_EVENT_EXEC && h->nlmsg_len >= head + sizeof(struct exec_proc_event)) {
        W.events++;
        copy_or_note(ev->event_data.exec.process_tgid, EXEC, event_wall_ms(ev->timestamp_ns), &W.window_copies, W.max_exec_copies, &W.skipped);
      } else if (ev->what == PROC_EVENT_FORK && h->nlmsg_len >= head + sizeof(struct fork_proc_event)) {
        // A new thread is announced as a fork too, with its own pid in the parent's tgid: skipped.
        if (ev->event_data.fork.child_pid != ev->event_data.fork.child_tgid) continue;
        W.forks++;
        copy_or_note(ev->event_data.fork.child_tgid, FORK, event_wall_ms(ev->timestamp_ns), &W.window_fork_copies, W.max_fork_copies, &W.fork_skipped);
      }
    }
  }
  return NULL;
}

static int listen_events(int fd, int op) {
  struct {
    struct nlmsghdr nlh;
    struct cn_msg cn;
    enum proc_cn_mcast_op op;
  } __attribute__((packed)) msg;
  memset(&msg, 0, sizeof(msg));
  msg.nlh.nlmsg_len = sizeof(msg);
  msg.nlh.nlmsg_type = NLMSG_DONE;
  msg.nlh.nlmsg_pid = (uint32_t)getpid();
  msg.cn.id.idx = CN_IDX_PROC;
  msg.cn.id.val = CN_VAL_PROC;
  msg.cn.len = sizeof(enum proc_cn_mcast_op);
  msg.op = (enum proc_cn_mcast_op)op;
  return send(fd, &msg, sizeof(msg), 0) < 0 ? -errno : 0;
}

static void watch_close(void) {
  if (!W.open) return;
  uint64_t one = 1;
  if (write(W.wake, &one, sizeof(one)) < 0) { /* the thread also stops when the fd closes */ }
  pthread_join(W.thread, NULL);
  listen_events(W.fd, PROC_CN_MCAST_IGNORE);
  close(W.fd);
  close(W.wake);
  W.fd = W.wake = -1;
  pthread_mutex_lock(&W.mu);
  for (int i = 0; i < RING; i++) free_copy(&W.ring[i]);
  W.head = 0;
  pthread_mutex_unlock(&W.mu);
  for (int i = 0; i < MAX_NAMES; i++) {
    free(W.names[i]);
    W.names[i] = NULL;
  }
  W.open = 0;
}

static int fail(const char *step, int e) {
  snprintf(last_error, sizeof(last_error), "%s: %s", step, strerror(e));
  return -e;
}

static int watch_open(void) {
  int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_CONNECTOR);
  if (fd < 0) return fail("socket(NETLINK_CONNECTOR)", errno);
  struct sockaddr_nl local = { .nl_family = AF_NETLINK, .nl_groups = CN_IDX_PROC, .nl_pid = 0 };
  if (bind(fd, (struct sockaddr *)&local, sizeof(local)) < 0) {
    int e = errno;
    close(fd);
    return fail("bind to the process events group", e);
  }
  int rcv = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
  int r = listen_events(fd, PROC_CN_MCAST_LISTEN);
  if (r < 0) {
    close(fd);
    return fail("PROC_CN_MCAST_LISTEN", -r);
  }
  int wake = eventfd(0, EFD_CLOEXEC);
  if (wake < 0) {
    int e = errno;
    close(fd);
    return fail("eventfd", e);
  }
  W.fd = fd;
  W.wake = wake;
  for (int i = 0; i < RING; i++) {
    memset(&W.ring[i], 0, sizeof(W.ring[i]));
    for (int j = 0; j < MAX_NAMES; j++) W.ring[i].len[j] = -1;
  }
  W.head = 0;
  memset(W.uncopied, 0, sizeof(W.uncopied));
  W.events = W.copies = W.vanished = W.overruns = W.skipped = W.forks = W.fork_skipped = 0;
  W.window_start = 0;
  W.window_copies = W.window_fork_copies = 0;
  if ((r = pthread_create(&W.thread, NULL, watch, NULL)) != 0) {
    close(fd);
    close(wake);
    W.fd = W.wake = -1;
    return fail("pthread_create", r);
  }
  W.open = 1;
  return 0;
}

/* ---- N-API ---- */

static char *string_arg(napi_env env, napi_value v) {
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) return NULL;
  char *s = malloc(len + 1);
  if (!s) return NULL;
  napi_get_value_string_utf8(env, v, s, len + 1, &len);
  return s;
}

/** names[from..] from a JS array of strings; returns how many, or -1. */
static int names_arg(napi_env env, napi_value arr, int from) {
  uint32_t n = 0;
  bool is_array = false;
  if (napi_is_array(env, arr, &is_array) != napi_ok || !is_array || napi_get_array_length(env, arr, &n) != napi_ok) return -1;
  if (from + (int)n > MAX_NAMES) return -1;
  for (uint32_t i = 0; i < n; i++) {
    napi_value e;
    napi_get_element(env, arr, i, &e);
    W.names[from + (int)i] = string_arg(env, e);
    if (!W.names[from + (int)i]) return -1;
  }
  return (int)n;
}

/** A positive int argument, or `fallback` when absent or not one. */
static int positive_arg(napi_env env, napi_value *argv, size_t argc, size_t i, int fallback) {
  int32_t v = i < argc ? arg_int(env, argv[i], 0) : 0;
  return v > 0 ? v : fallback;
}

static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 3) return make_int(env, -EINVAL);
  watch_close();
  last_error[0] = 0;
  char *root = string_arg(env, argv[0]);
  if (!root || strlen(root) >= sizeof(W.root)) {
    free(root);
    return make_int(env, fail("proc root", EINVAL));
  }
  strcpy(W.root, root);
  free(root);
  int nf = names_arg(env, argv[1], 0);
  int nl = nf < 1 ? -1 : names_arg(env, argv[2], nf);
  if (nf < 1 || nl < 0) {
    for (int i = 0; i < MAX_NAMES; i++) {
      free(W.names[i]);
      W.names[i] = NULL;
    }
    return make_int(env, fail("file and link names (stat first)", EINVAL));
  }
  W.nfiles = nf;
  W.nlinks = nl;
  W.max_exec_copies = positive_arg(env, argv, argc, 3, MAX_COPIES_PER_SECOND);
  W.max_fork_copies = positive_arg(env, argv, argc, 4, MAX_FORK_COPIES_PER_SECOND);
  W.exe_index = -1;
  for (int i = nf; i < nf + nl; i++) if (strcmp(W.names[i], "exe") == 0) W.exe_index = i;
  return make_int(env, watch_open());
}

static napi_value js_error(napi_env env, napi_callback_info info) {
  (void)info;
  return make_string(env, last_error);
}

/** The newest copy of `pid` (with `bounded`, the newest whose event came at or before `before`); NULL when none. Hold W.mu. */
static struct copy *newest(int pid, int bounded, double before) {
  for (int k = 1; k <= RING; k++) {
    struct copy *c = &W.ring[(W.head - k + RING) % RING];
    if (c->pid == pid && (!bounded || c->event_ms <= before)) return c;
  }
  return NULL;
}

/** The pid's last uncopied exec or fork when it came after copy `c` (and, with `bounded`, at or before `before`); else NULL. Hold W.mu. */
static struct gap *gap_after(int pid, struct copy *c, int bounded, double before) {
  struct gap *g = &W.uncopied[(unsigned)pid % UNCOPIED];
  if (g->pid != pid || (bounded && g->event_ms > before) || (c != NULL && g->event_ms <= c->event_ms)) return NULL;
  return g;
}

/**
 * The call's arguments (at most *argc) and its first, a pid: 0 when it is not one or the watcher
 * is closed. *result starts as undefined.
 */
static int32_t pid_call(napi_env env, napi_callback_info info, napi_value *argv, size_t *argc, napi_value *result) {
  napi_get_cb_info(env, info, argc, argv, NULL, NULL);
  napi_get_undefined(env, result);
  int32_t pid = positive_arg(env, argv, *argc, 0, 0);
  return W.open ? pid : 0;
}

static napi_value js_get(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], result;
  int32_t pid = pid_call(env, info, argv, &argc, &result);
  if (pid == 0) return result;
  double before = 0;
  napi_valuetype t = napi_undefined;
  int bounded = argc >= 2 && napi_typeof(env, argv[1], &t) == napi_ok && t == napi_number
    && napi_get_value_double(env, argv[1], &before) == napi_ok;
  pthread_mutex_lock(&W.mu);
  struct copy *c = newest(pid, bounded, before);
  if (c != NULL && gap_after(pid, c, bounded, before) == NULL) {  // else what the pid ran since is not known
    napi_value files, links, at, event, kind;
    napi_create_object(env, &files);
    napi_create_object(env, &links);
    napi_create_double(env, c->at_ms, &at);
    for (int i = 0; i < W.nfiles + W.nlinks; i++) {
      if (c->len[i] < 0 || !c->data[i]) continue;
      napi_value v;
      if (i < W.nfiles) napi_create_buffer_copy(env, (size_t)c->len[i], c->data[i], NULL, &v);
      else napi_create_string_utf8(env, c->data[i], (size_t)c->len[i], &v);
      napi_set_named_property(env, i < W.nfiles ? files : links, W.names[i], v);
    }
    napi_create_double(env, c->event_ms, &event);
    napi_create_int32(env, c->kind, &kind);
    napi_create_array_with_length(env, 5, &result);
    napi_set_element(env, result, 0, at);
    napi_set_element(env, result, 1, files);
    napi_set_element(env, result, 2, links);
    napi_set_element(env, result, 3, event);
    napi_set_element(env, result, 4, kind);
  }
  pthread_mutex_unlock(&W.mu);
  return result;
}

/** execWatchLast(pid) -> undefined, or [event ms, kind] of the pid's last exec or fork seen, copied or not (no files: cheap). */
static napi_value js_last(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], result;
  int32_t pid = pid_call(env, info, argv, &argc, &result);
  if (pid == 0) return result;
  pthread_mutex_lock(&W.mu);
  struct copy *c = newest(pid, 0, 0);
  struct gap *g = gap_after(pid, c, 0, 0);
  double event = g ? g->event_ms : c ? c->event_ms : 0;
  int kind = g ? g->kind : c ? c->kind : -1;
  pthread_mutex_unlock(&W.mu);
  if (kind < 0) return result;
  napi_value e, k;
  napi_create_double(env, event, &e);
  napi_create_int32(env, kind, &k);
  napi_create_array_with_length(env, 2, &result);
  napi_set_element(env, result, 0, e);
  napi_set_element(env, result, 1, k);
  return result;
}

static napi_value js_stats(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value arr;
  napi_create_array_with_length(env, 7, &arr);
  uint64_t v[7] = { W.events, W.copies, W.vanished, W.overruns, W.skipped, W.forks, W.fork_skipped };
  for (uint32_t i = 0; i < 7; i++) {
    napi_value x;
    napi_create_double(env, (double)v[i], &x);
    napi_set_element(env, arr, i, x);
  }
  return arr;
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  (void)info;
  watch_close();
  return make_int(env, 0);
}

void execwatch_define(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    { "execWatchOpen", NULL, js_open, NULL, NULL, NULL, napi_enumerable, NULL },
    { "execWatchError", NULL, js_error, NULL, NULL, NULL, napi_enumerable, NULL },
    { "execWatchGet", NULL, js_get, NULL, NULL, NULL, napi_enumerable, NULL },
    { "execWatchLast", NULL, js_last, NULL, NULL, NULL, napi_enumerable, NULL },
    { "execWatchStats", NULL, js_stats, NULL, NULL, NULL, napi_enumerable, NULL },
    { "execWatchClose", NULL, js_close, NULL, NULL, NULL, napi_enumerable, NULL },
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
}
