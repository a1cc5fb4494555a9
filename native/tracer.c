// egresswatch's connect tracer: which process made a socket, told by the kernel as it happens.
//
// Why: a client that connects, talks to a nearby server and exits within a millisecond (curl
// against a server on the same host or in the same data centre) has closed its socket before
// the agent has read the SYN from the capture (0.3-3 ms later, measured), so neither netlink
// sock_diag nor /proc can name it. Tiny BPF programs record the process at the socket's start,
// in kernel maps the agent reads when /proc could not answer:
//   - TCP: raw tracepoint inet_sock_set_state. At CLOSE -> SYN_SENT (inside connect(), in the
//     caller's context: its source port is not chosen yet) the process is kept under the socket's
//     address; at the socket's next state (ESTABLISHED on the SYN-ACK) its 4-tuple is known and
//     the record moves to the connection map under it. A refusal releases the port before the
//     socket's next state: raw tracepoint tcp_receive_reset moves the record first (optional).
//   - UDP: raw tracepoint sock_send_length (Linux 6.3+), after each send in the sender's context,
//     else net_dev_queue (each packet sent, in the sender's context for a locally made one, whose
//     sk_buff names the socket): the socket's family and bound local port -> the last sender. UDP
//     sockets are attributed by local port (an unconnected one has no peer).
// Records: {pid in the agent's pid namespace (0 when the process is not visible there), uid,
// CLOCK_MONOTONIC ns, comm}. Maps are LRU: old records make room by themselves.
//
// Programs are written as BPF instructions here (no clang, no libbpf at build or run time).
// The few struct sock offsets that vary between kernels (IPv6 addresses, sk_protocol) come from
// the caller, who reads them from the kernel's BTF (/sys/kernel/btf/vmlinux); the first 20
// bytes of struct sock_common (addresses, ports, family) have not moved since Linux 2.6.
//
// API (one tracer per process; every failure is a negative errno, never a throw):
//   tracerOpen(pidnsDev, pidnsIno, offV6Saddr, offV6Daddr, offProtocol, offSkbSk, udpViaSkb,
//              offSockSocket, offSocketFile)                            -> 0, or -errno
//       (tracerError() then says which step failed, with the verifier's log for a load)
//   tracerLookupTcp(family 4|6, local, lport, remote, rport, out Uint32Array(4), comm Uint8Array(16))
//   tracerLookupUdp(family 4|6, lport, out Uint32Array(4), comm Uint8Array(16))
//       -> 1 found (out = pid, uid, monotonic ns low, high), 0 not found, -errno
//   tracerClose()
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <node_api.h>
#include "napi_util.h"

/*
 * BPF helper ids (stable kernel ABI, include/uapi/linux/bpf.h), spelt out so that the addon also
 * builds against kernel headers older than the running kernel's (the sock_diag half of the
 * addon must not be lost to a missing enum value): the kernel refuses what it lacks at load time.
 */
#define HELPER_MAP_LOOKUP_ELEM 1
#define HELPER_MAP_UPDATE_ELEM 2
#define HELPER_MAP_DELETE_ELEM 3
#define HELPER_KTIME_GET_NS 5
#define HELPER_GET_CURRENT_UID_GID 15
#define HELPER_GET_CURRENT_COMM 16
#define HELPER_PROBE_READ_KERNEL 113
#define HELPER_GET_NS_CURRENT_PID_TGID 120

#define TCP_SYN_SENT 2
#define AF_INET_ 2
#define AF_INET6_ 10
#define PROTO_UDP 17
#define PENDING_ENTRIES 16384
#define CONN_ENTRIES 65536
#define UDP_ENTRIES 65536
#define VALUE_SIZE 32
#define CONN_KEY_SIZE 40
#define MAX_INSNS 160

/* Stack layout shared by both programs (offsets from r10). */
#define FP_PENDING_KEY (-8)    /* u64: the socket's address (TCP) / the UDP key */
#define FP_CONN_KEY (-48)      /* 40 bytes: family u16, lport u16, rport u16 (network order), pad, laddr[16], raddr[16] */
#define FP_VALUE (-80)         /* 32 bytes: pid u32, uid u32, ns u64, comm[16] */
#define FP_PIDNS (-88)         /* struct bpf_pidns_info { u32 pid; u32 tgid; } */
#define FP_SOCK (-112)         /* 24 bytes of struct sock_common */
#define FP_PROTO (-120)        /* u16 sk_protocol */
#define FP_SKB_SK (-128)       /* struct sock * read from an sk_buff */

static struct {
  int open;
  int pending, conn, udp;
  int tcp_prog, udp_prog, err_prog;
  int tcp_link, udp_link, err_link;
  int udp_via_skb;
} T = { 0, -1, -1, -1, -1, -1, -1, -1, -1, -1, 0 };

static char last_error[4096];

struct prog {
  struct bpf_insn insn[MAX_INSNS];
  int n;
  int fix_at[16], fix_label[16], nfix;
  int label_at[16];
};

#define INSN(c, d, s, o, i) ((struct bpf_insn){ .code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i) })
static void emit(struct prog *p, struct bpf_insn i) { if (p->n < MAX_INSNS) p->insn[p->n] = i; p->n++; }
static void mov_reg(struct prog *p, int d, int s) { emit(p, INSN(BPF_ALU64 | BPF_MOV | BPF_X, d, s, 0, 0)); }
static void mov_imm(struct prog *p, int d, int32_t i) { emit(p, INSN(BPF_ALU64 | BPF_MOV | BPF_K, d, 0, 0, i)); }
static void alu_imm(struct prog *p, int op, int d, int32_t i) { emit(p, INSN(BPF_ALU64 | op | BPF_K, d, 0, 0, i)); }
static void ldx(struct prog *p, int size, int d, int s, int16_t off) { emit(p, INSN(BPF_LDX | size | BPF_MEM, d, s, off, 0)); }
static void stx(struct prog *p, int size, int d, int s, int16_t off) { emit(p, INSN(BPF_STX | size | BPF_MEM, d, s, off, 0)); }
static void st(struct prog *p, int size, int d, int16_t off, int32_t i) { emit(p, INSN(BPF_ST | size | BPF_MEM, d, 0, off, i)); }
static void call(struct prog *p, int fn) { emit(p, INSN(BPF_JMP | BPF_CALL, 0, 0, 0, fn)); }
static void ld_imm64(struct prog *p, int d, int src, uint64_t v) {
  emit(p, INSN(BPF_LD | BPF_DW | BPF_IMM, d, src, 0, (int32_t)(uint32_t)v));
  emit(p, INSN(0, 0, 0, 0, (int32_t)(uint32_t)(v >> 32)));
}
static void ld_map(struct prog *p, int d, int fd) { ld_imm64(p, d, BPF_PSEUDO_MAP_FD, (uint32_t)fd); }
static void jmp(struct prog *p, int op, int d, int32_t imm, int label) {
  p->fix_at[p->nfix] = p->n;
  p->fix_label[p->nfix++] = label;
  emit(p, INSN(BPF_JMP | op | BPF_K, d, 0, 0, imm));
}
static void ja(struct prog *p, int label) { jmp(p, BPF_JA, 0, 0, label); }
static void label(struct prog *p, int l) { p->label_at[l] = p->n; }
static void fp_ptr(struct prog *p, int d, int16_t off) { mov_reg(p, d, BPF_REG_10); alu_imm(p, BPF_ADD, d, off); }
static int finish(struct prog *p) {
  if (p->n > MAX_INSNS) return -E2BIG;
  for (int i = 0; i < p->nfix; i++) p->insn[p->fix_at[i]].off = (int16_t)(p->label_at[p->fix_label[i]] - p->fix_at[i] - 1);
  return 0;
}

/** The record of the current task into FP_VALUE: pid in the agent's pid namespace, uid, time, comm. */
static void emit_record(struct prog *p, uint64_t dev, uint64_t ino) {
  enum { L_NO_NS = 15, L_NS_DONE = 14 };
  ld_imm64(p, BPF_REG_1, 0, dev);
  ld_imm64(p, BPF_REG_2, 0, ino);
  fp_ptr(p, BPF_REG_3, FP_PIDNS);
  mov_imm(p, BPF_REG_4, 8);
  call(p, HELPER_GET_NS_CURRENT_PID_TGID);
  jmp(p, BPF_JNE, BPF_REG_0, 0, L_NO_NS);
  ldx(p, BPF_W, BPF_REG_1, BPF_REG_10, FP_PIDNS + 4);
  stx(p, BPF_W, BPF_REG_10, BPF_REG_1, FP_VALUE);
  ja(p, L_NS_DONE);
  label(p, L_NO_NS);
  st(p, BPF_W, BPF_REG_10, FP_VALUE, 0);
  label(p, L_NS_DONE);
  call(p, HELPER_GET_CURRENT_UID_GID);
  stx(p, BPF_W, BPF_REG_10, BPF_REG_0, FP_VALUE + 4);
  call(p, HELPER_KTIME_GET_NS);
  stx(p, BPF_DW, BPF_REG_10, BPF_REG_0, FP_VALUE + 8);
  fp_ptr(p, BPF_REG_1, FP_VALUE + 16);
  mov_imm(p, BPF_REG_2, 16);
  call(p, HELPER_GET_CURRENT_COMM);
}

static void emit_update(struct prog *p, int map, int16_t key) {
  ld_map(p, BPF_REG_1, map);
  fp_ptr(p, BPF_REG_2, key);
  fp_ptr(p, BPF_REG_3, FP_VALUE);
  mov_imm(p, BPF_REG_4, BPF_ANY);
  call(p, HELPER_MAP_UPDATE_ELEM);
}

/**
 * Reads `size` bytes at kernel address r<base> + off onto the stack at `slot`; jumps to `out`
 * when that fails. `base` must be a callee-saved register (r6-r9).
 */
static void emit_probe_read(struct prog *p, int16_t slot, int32_t size, int base, int32_t off, int out) {
  fp_ptr(p, BPF_REG_1, slot);
  mov_imm(p, BPF_REG_2, size);
  mov_reg(p, BPF_REG_3, base);
  if (off != 0) alu_imm(p, BPF_ADD, BPF_REG_3, off);
  call(p, HELPER_PROBE_READ_KERNEL);
  jmp(p, BPF_JNE, BPF_REG_0, 0, out);
}

/** struct sock_common's first 24 bytes of the socket in r7 into FP_SOCK; jumps to `out` when unreadable. */
static void emit_read_sock(struct prog *p, int out) {
  emit_probe_read(p, FP_SOCK, 24, BPF_REG_7, 0, out);
}

/**
 * The record kept under the socket (r7, its address also at FP_PENDING_KEY) moves to the
 * connection map under the socket's 4-tuple, now that its local port is chosen. Jumps to `out`.
 */
static void emit_move(struct prog *p, int v6s, int v6d, int out, int l_v6, int l_store) {
  ld_map(p, BPF_REG_1, T.pending);
  fp_ptr(p, BPF_REG_2, FP_PENDING_KEY);
  call(p, HELPER_MAP_LOOKUP_ELEM);
  jmp(p, BPF_JEQ, BPF_REG_0, 0, out);
  for (int16_t o = 0; o < VALUE_SIZE; o += 8) {
    ldx(p, BPF_DW, BPF_REG_1, BPF_REG_0, o);
    stx(p, BPF_DW, BPF_REG_10, BPF_REG_1, FP_VALUE + o);
  }
  for (int16_t o = 0; o < CONN_KEY_SIZE; o += 8) st(p, BPF_DW, BPF_REG_10, FP_CONN_KEY + o, 0);
  emit_read_sock(p, out);
  ldx(p, BPF_H, BPF_REG_2, BPF_REG_10, FP_SOCK + 14);   /* skc_num: local port, host order */
  /* Released already (a refused connection's CLOSE): kept for nothing; tcp_receive_reset moved it. */
  jmp(p, BPF_JEQ, BPF_REG_2, 0, out);
  ld_map(p, BPF_REG_1, T.pending);
  fp_ptr(p, BPF_REG_2, FP_PENDING_KEY);
  call(p, HELPER_MAP_DELETE_ELEM);
  ldx(p, BPF_H, BPF_REG_1, BPF_REG_10, FP_SOCK + 16);   /* skc_family */
  stx(p, BPF_H, BPF_REG_10, BPF_REG_1, FP_CONN_KEY);
  ldx(p, BPF_H, BPF_REG_2, BPF_REG_10, FP_SOCK + 14);   /* skc_num */
  stx(p, BPF_H, BPF_REG_10, BPF_REG_2, FP_CONN_KEY + 2);
  ldx(p, BPF_H, BPF_REG_3, BPF_REG_10, FP_SOCK + 12);   /* skc_dport: network order */
  stx(p, BPF_H, BPF_REG_10, BPF_REG_3, FP_CONN_KEY + 4);
  jmp(p, BPF_JNE, BPF_REG_1, AF_INET_, l_v6);
  ldx(p, BPF_W, BPF_REG_4, BPF_REG_10, FP_SOCK + 4);    /* skc_rcv_saddr */
  stx(p, BPF_W, BPF_REG_10, BPF_REG_4, FP_CONN_KEY + 8);
  ldx(p, BPF_W, BPF_REG_4, BPF_REG_10, FP_SOCK + 0);    /* skc_daddr */
  stx(p, BPF_W, BPF_REG_10, BPF_REG_4, FP_CONN_KEY + 24);
  ja(p, l_store);

  label(p, l_v6);
  jmp(p, BPF_JNE, BPF_REG_1, AF_INET6_, out);
  if (v6s > 0 && v6d > 0) {
    emit_probe_read(p, FP_CONN_KEY + 8, 16, BPF_REG_7, v6s, out);
    emit_probe_read(p, FP_CONN_KEY + 24, 16, BPF_REG_7, v6d, out);
  } else {
    ja(p, out);
  }
  label(p, l_store);
  emit_update(p, T.conn, FP_CONN_KEY);
}

static void build_tcp(struct prog *p, uint64_t dev, uint64_t ino, int v6s, int v6d) {
  enum { L_NOT_SYN, L_OUT, L_V6, L_STORE };
  mov_reg(p, BPF_REG_6, BPF_REG_1);
  ldx(p, BPF_DW, BPF_REG_7, BPF_REG_6, 0);   /* sk */
  ldx(p, BPF_DW, BPF_REG_8, BPF_REG_6, 8);   /* oldstate */
  ldx(p, BPF_DW, BPF_REG_9, BPF_REG_6, 16);  /* newstate */
  stx(p, BPF_DW, BPF_REG_10, BPF_REG_7, FP_PENDING_KEY);
  jmp(p, BPF_JNE, BPF_REG_9, TCP_SYN_SENT, L_NOT_SYN);
  emit_record(p, dev, ino);
  emit_update(p, T.pending, FP_PENDING_KEY);
  ja(p, L_OUT);

  label(p, L_NOT_SYN);
  jmp(p, BPF_JNE, BPF_REG_8, TCP_SYN_SENT, L_OUT);
  emit_move(p, v6s, v6d, L_OUT, L_V6, L_STORE);
  label(p, L_OUT);
  mov_imm(p, BPF_REG_0, 0);
  emit(p, INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
}

/**
 * A connection refused while SYN_SENT (the server's RST) has released its local port by its next
 * state: tcp_receive_reset, at the start of the RST's handling, still has it. (One that times out
 * stays SYN_SENT for a minute or two, where /proc finds it.)
 */
static void build_error(struct prog *p, int v6s, int v6d) {
  enum { L_OUT, L_V6, L_STORE };
  mov_reg(p, BPF_REG_6, BPF_REG_1);
  ldx(p, BPF_DW, BPF_REG_7, BPF_REG_6, 0);   /* sk */
  jmp(p, BPF_JEQ, BPF_REG_7, 0, L_OUT);
  stx(p, BPF_DW, BPF_REG_10, BPF_REG_7, FP_PENDING_KEY);
  emit_move(p, v6s, v6d, L_OUT, L_V6, L_STORE);
  label(p, L_OUT);
  mov_imm(p, BPF_REG_0, 0);
  emit(p, INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
}

/**
 * r1 = the pointer at kernel address r<base> + off (through FP_SKB_SK); jumps to `out` when it
 * cannot be read or is NULL. `base` must be a callee-saved register (r6-r9).
 */
static void emit_read_ptr(struct prog *p, int base, int32_t off, int out) {
  st(p, BPF_DW, BPF_REG_10, FP_SKB_SK, 0);
  emit_probe_read(p, FP_SKB_SK, 8, base, off, out);
  ldx(p, BPF_DW, BPF_REG_1, BPF_REG_10, FP_SKB_SK);
  jmp(p, BPF_JEQ, BPF_REG_1, 0, out);
}

/**
 * UDP: the sender of a datagram, by the socket's family and local port. On sock_send_length the
 * first argument is the socket; on net_dev_queue (kernels before 6.3) it is the packet, whose
 * sk (at `skb_sk`, 0 for the former) is the sending socket of a locally made one, still in the
 * sender's context. Anything that is not a UDP socket of ours is left alone.
 */
static void build_udp(struct prog *p, uint64_t dev, uint64_t ino, int proto_off, int skb_sk, int sk_socket, int socket_file) {
  enum { L_OUT, L_FAMILY_OK };
  mov_reg(p, BPF_REG_6, BPF_REG_1);
  ldx(p, BPF_DW, BPF_REG_7, BPF_REG_6, 0);   /* sk, or the skb */
  jmp(p, BPF_JEQ, BPF_REG_7, 0, L_OUT);
  if (skb_sk > 0) {
    emit_read_ptr(p, BPF_REG_7, skb_sk, L_OUT);       /* skb->sk */
    mov_reg(p, BPF_REG_7, BPF_REG_1);
    /* A kernel socket (a tunnel's: no file) sends from softirq or a kernel thread: no process's. */
    emit_read_ptr(p, BPF_REG_7, sk_socket, L_OUT);    /* sk->sk_socket */
    mov_reg(p, BPF_REG_8, BPF_REG_1);
    emit_read_ptr(p, BPF_REG_8, socket_file, L_OUT);  /* sk_socket->file */
  }
  st(p, BPF_DW, BPF_REG_10, FP_PROTO, 0);
  emit_probe_read(p, FP_PROTO, 2, BPF_REG_7, proto_off, L_OUT);
  ldx(p, BPF_H, BPF_REG_1, BPF_REG_10, FP_PROTO);
  jmp(p, BPF_JNE, BPF_REG_1, PROTO_UDP, L_OUT);
  emit_read_sock(p, L_OUT);
  ldx(p, BPF_H, BPF_REG_1, BPF_REG_10, FP_SOCK + 16);   /* skc_family */
  jmp(p, BPF_JEQ, BPF_REG_1, AF_INET_, L_FAMILY_OK);
  jmp(p, BPF_JNE, BPF_REG_1, AF_INET6_, L_OUT);
  label(p, L_FAMILY_OK);
  ldx(p, BPF_H, BPF_REG_2, BPF_REG_10, FP_SOCK + 14);   /* skc_num */
  jmp(p, BPF_JEQ, BPF_REG_2, 0, L_OUT);
  st(p, BPF_DW, BPF_REG_10, FP_PENDING_KEY, 0);
  stx(p, BPF_H, BPF_REG_10, BPF_REG_1, FP_PENDING_KEY);
  stx(p, BPF_H, BPF_REG_10, BPF_REG_2, FP_PENDING_KEY + 2);
  emit_record(p, dev, ino);
  emit_update(p, T.udp, FP_PENDING_KEY);
  label(p, L_OUT);
  mov_imm(p, BPF_REG_0, 0);
  emit(p, INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
}

static long sys_bpf(int cmd, union bpf_attr *a) { return syscall(__NR_bpf, cmd, a, sizeof(*a)); }

static int map_create(int key_size, int max_entries, const char *name) {
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.map_type = BPF_MAP_TYPE_LRU_HASH;
  a.key_size = (uint32_t)key_size;
  a.value_size = VALUE_SIZE;
  a.max_entries = (uint32_t)max_entries;
  strncpy(a.map_name, name, sizeof(a.map_name) - 1);
  int fd = (int)sys_bpf(BPF_MAP_CREATE, &a);
  if (fd < 0) {
    int e = errno;
    snprintf(last_error, sizeof(last_error), "creating BPF map %s: %s", name, strerror(e));
    return -e;
  }
  return fd;
}

static char verifier_log[1 << 16];

static int prog_load(struct prog *p, const char *name) {
  int r = finish(p);
  if (r < 0) {
    snprintf(last_error, sizeof(last_error), "program %s too long", name);
    return r;
  }
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.prog_type = BPF_PROG_TYPE_RAW_TRACEPOINT;
  a.insns = (uint64_t)(uintptr_t)p->insn;
  a.insn_cnt = (uint32_t)p->n;
  a.license = (uint64_t)(uintptr_t)"Dual MIT/GPL";
  strncpy(a.prog_name, name, sizeof(a.prog_name) - 1);
  verifier_log[0] = 0;
  a.log_buf = (uint64_t)(uintptr_t)verifier_log;
  a.log_size = sizeof(verifier_log);
  a.log_level = 1;
  int fd = (int)sys_bpf(BPF_PROG_LOAD, &a);
  if (fd < 0) {
    int e = errno;
    size_t len = strlen(verifier_log);
    const char *tail = len > 1500 ? verifier_log + len - 1500 : verifier_log;
    snprintf(last_error, sizeof(last_error), "loading BPF program %s: %s%s%s", name, strerror(e), tail[0] ? "; verifier: " : "", tail);
    return -e;
  }
  return fd;
}

static int attach(int prog_fd, const char *tracepoint) {
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.raw_tracepoint.name = (uint64_t)(uintptr_t)tracepoint;
  a.raw_tracepoint.prog_fd = (uint32_t)prog_fd;
  int fd = (int)sys_bpf(BPF_RAW_TRACEPOINT_OPEN, &a);
  if (fd < 0) {
    int e = errno;
    snprintf(last_error, sizeof(last_error), "attaching to raw tracepoint %s: %s", tracepoint, strerror(e));
    return -e;
  }
  return fd;
}

static void close_fd(int *fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

static void tracer_close(void) {
  close_fd(&T.tcp_link);
  close_fd(&T.udp_link);
  close_fd(&T.err_link);
  close_fd(&T.tcp_prog);
  close_fd(&T.udp_prog);
  close_fd(&T.err_prog);
  close_fd(&T.pending);
  close_fd(&T.conn);
  close_fd(&T.udp);
  T.udp_via_skb = 0;
  T.open = 0;
}

static int tracer_open(uint64_t dev, uint64_t ino, int v6s, int v6d, int proto_off, int skb_sk, int udp_via_skb, int sk_socket, int socket_file) {
  if (T.open) tracer_close();
  last_error[0] = 0;
  int r;
  if ((r = T.pending = map_create(8, PENDING_ENTRIES, "ew_pending")) < 0) goto fail;
  if ((r = T.conn = map_create(CONN_KEY_SIZE, CONN_ENTRIES, "ew_tcp")) < 0) goto fail;
  static struct prog tcp;
  memset(&tcp, 0, sizeof(tcp));
  build_tcp(&tcp, dev, ino, v6s, v6d);
  if ((r = T.tcp_prog = prog_load(&tcp, "ew_tcp_connect")) < 0) goto fail;
  if ((r = T.tcp_link = attach(T.tcp_prog, "inet_sock_set_state")) < 0) goto fail;
  // Refused connections: optional (a kernel without the tracepoint still traces the rest).
  static struct prog err;
  memset(&err, 0, sizeof(err));
  build_error(&err, v6s, v6d);
  if ((T.err_prog = prog_load(&err, "ew_tcp_error")) >= 0) T.err_link = attach(T.err_prog, "tcp_receive_reset");
  if (T.err_link < 0) {
    close_fd(&T.err_prog);
    T.err_link = -1;
  }
  // UDP is optional and needs sk_protocol's offset: sock_send_length (Linux 6.3+), else the
  // packets' net_dev_queue (needs sk_buff.sk's offset; every packet sent runs it, cheaply).
  if (proto_off > 0) {
    static struct prog udp;
    if ((T.udp = map_create(8, UDP_ENTRIES, "ew_udp")) >= 0) {
      if (!udp_via_skb) {
        memset(&udp, 0, sizeof(udp));
        build_udp(&udp, dev, ino, proto_off, 0, 0, 0);
        if ((T.udp_prog = prog_load(&udp, "ew_udp_send")) >= 0) T.udp_link = attach(T.udp_prog, "sock_send_length");
        if (T.udp_link < 0) close_fd(&T.udp_prog);
      }
      if (T.udp_link < 0 && skb_sk > 0 && sk_socket > 0 && socket_file > 0) {
        memset(&udp, 0, sizeof(udp));
        build_udp(&udp, dev, ino, proto_off, skb_sk, sk_socket, socket_file);
        if ((T.udp_prog = prog_load(&udp, "ew_udp_queue")) >= 0) T.udp_link = attach(T.udp_prog, "net_dev_queue");
        if (T.udp_link >= 0) T.udp_via_skb = 1;
      }
    }
    if (T.udp_link < 0) {
      close_fd(&T.udp_prog);
      close_fd(&T.udp);
      T.udp_link = -1;
    }
  }
  T.open = 1;
  return 0;
fail:
  tracer_close();
  return r;
}

static int lookup(int map, const void *key, uint32_t out[4], uint8_t comm[16]) {
  uint8_t value[VALUE_SIZE];
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.map_fd = (uint32_t)map;
  a.key = (uint64_t)(uintptr_t)key;
  a.value = (uint64_t)(uintptr_t)value;
  if (sys_bpf(BPF_MAP_LOOKUP_ELEM, &a) < 0) return errno == ENOENT ? 0 : -errno;
  memcpy(&out[0], value, 4);
  memcpy(&out[1], value + 4, 4);
  memcpy(&out[2], value + 8, 4);
  memcpy(&out[3], value + 12, 4);
  memcpy(comm, value + 16, 16);
  return 1;
}

/* ---- N-API ---- */

static double arg_double(napi_env env, napi_value v) {
  double x = 0;
  napi_get_value_double(env, v, &x);
  return x;
}

static void *arg_typed(napi_env env, napi_value v, napi_typedarray_type want, size_t len) {
  bool is_ta = false;
  napi_typedarray_type type;
  size_t length;
  void *data;
  if (napi_is_typedarray(env, v, &is_ta) != napi_ok || !is_ta) return NULL;
  if (napi_get_typedarray_info(env, v, &type, &length, &data, NULL, NULL) != napi_ok) return NULL;
  return type == want && length == len ? data : NULL;
}

static napi_value js_tracer_open(napi_env env, napi_callback_info info) {
  size_t argc = 9;
  napi_value argv[9];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 9) return make_int(env, -EINVAL);
  return make_int(env, tracer_open((uint64_t)arg_double(env, argv[0]), (uint64_t)arg_double(env, argv[1]),
                                   (int)arg_double(env, argv[2]), (int)arg_double(env, argv[3]), (int)arg_double(env, argv[4]),
                                   (int)arg_double(env, argv[5]), (int)arg_double(env, argv[6]), (int)arg_double(env, argv[7]),
                                   (int)arg_double(env, argv[8])));
}

static napi_value js_tracer_error(napi_env env, napi_callback_info info) {
  (void)info;
  return make_string(env, last_error);
}

/** How UDP senders are traced: 0 not at all, 1 sock_send_length, 2 net_dev_queue. */
static napi_value js_tracer_udp_attached(napi_env env, napi_callback_info info) {
  (void)info;
  return make_int(env, T.udp_link < 0 ? 0 : T.udp_via_skb ? 2 : 1);
}

static napi_value js_tracer_close(napi_env env, napi_callback_info info) {
  (void)info;
  tracer_close();
  return make_int(env, 0);
}

static napi_value js_tracer_lookup_tcp(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 7 || !T.open) return make_int(env, -EBADF);
  int family = (int)arg_double(env, argv[0]) == 6 ? AF_INET6_ : AF_INET_;
  size_t alen = family == AF_INET_ ? 4 : 16;
  const uint8_t *local = arg_typed(env, argv[1], napi_uint8_array, alen);
  const uint8_t *remote = arg_typed(env, argv[3], napi_uint8_array, alen);
  int lport = (int)arg_double(env, argv[2]);
  int rport = (int)arg_double(env, argv[4]);
  uint32_t *out = arg_typed(env, argv[5], napi_uint32_array, 4);
  uint8_t *comm = arg_typed(env, argv[6], napi_uint8_array, 16);
  if (!local || !remote || !out || !comm || lport < 0 || lport > 65535 || rport < 0 || rport > 65535) return make_int(env, -EINVAL);
  uint8_t key[CONN_KEY_SIZE];
  memset(key, 0, sizeof(key));
  uint16_t fam = (uint16_t)family, lp = (uint16_t)lport, rp = (uint16_t)(((rport & 0xff) << 8) | (rport >> 8));
  memcpy(key, &fam, 2);
  memcpy(key + 2, &lp, 2);
  memcpy(key + 4, &rp, 2);
  memcpy(key + 8, local, alen);
  memcpy(key + 24, remote, alen);
  return make_int(env, lookup(T.conn, key, out, comm));
}

static napi_value js_tracer_lookup_udp(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 4 || !T.open) return make_int(env, -EBADF);
  if (T.udp < 0) return make_int(env, 0);
  int family = (int)arg_double(env, argv[0]) == 6 ? AF_INET6_ : AF_INET_;
  int lport = (int)arg_double(env, argv[1]);
  uint32_t *out = arg_typed(env, argv[2], napi_uint32_array, 4);
  uint8_t *comm = arg_typed(env, argv[3], napi_uint8_array, 16);
  if (!out || !comm || lport <= 0 || lport > 65535) return make_int(env, -EINVAL);
  uint8_t key[8];
  memset(key, 0, sizeof(key));
  uint16_t fam = (uint16_t)family, lp = (uint16_t)lport;
  memcpy(key, &fam, 2);
  memcpy(key + 2, &lp, 2);
  return make_int(env, lookup(T.udp, key, out, comm));
}

void tracer_define(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    { "tracerOpen", NULL, js_tracer_open, NULL, NULL, NULL, napi_enumerable, NULL },
    { "tracerError", NULL, js_tracer_error, NULL, NULL, NULL, napi_enumerable, NULL },
    { "tracerUdpAttached", NULL, js_tracer_udp_attached, NULL, NULL, NULL, napi_enumerable, NULL },
    { "tracerLookupTcp", NULL, js_tracer_lookup_tcp, NULL, NULL, NULL, napi_enumerable, NULL },
    { "tracerLookupUdp", NULL, js_tracer_lookup_udp, NULL, NULL, NULL, napi_enumerable, NULL },
    { "tracerClose", NULL, js_tracer_close, NULL, NULL, NULL, napi_enumerable, NULL },
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
}
