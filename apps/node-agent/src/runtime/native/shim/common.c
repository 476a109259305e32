/*
 * berth-shim's shared steps: reading the configuration the runtime wrote, joining cgroups, and
 * dropping privileges (groups, ids, capabilities, no_new_privs, a seccomp filter).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shim.h"

void die(const char *what) {
  fprintf(stderr, "berth-shim: %s: %s\n", what, strerror(errno));
  exit(126);
}

static char *slurp(const char *path, size_t *len) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) die(path);
  size_t cap = 65536, n = 0;
  char *buf = malloc(cap);
  for (;;) {
    if (n == cap) buf = realloc(buf, cap *= 2);
    ssize_t r = read(fd, buf + n, cap - n);
    if (r < 0) die(path);
    if (r == 0) break;
    n += (size_t)r;
  }
  close(fd);
  *len = n;
  return buf;
}

void read_config(const char *dir, struct config *c) {
  char path[4096];
  snprintf(path, sizeof path, "%s/config", dir);
  size_t len;
  char *buf = slurp(path, &len);
  memset(c, 0, sizeof *c);
  c->uid = 65534;
  c->gid = 65534;
  const char *tok[4096];
  int n = 0;
  for (size_t i = 0; i < len && n < 4096;) {
    tok[n++] = buf + i;
    i += strlen(buf + i) + 1;
  }
  for (int i = 0; i < n;) {
    const char *k = tok[i++];
#define V (i < n ? tok[i++] : "")
    if (!strcmp(k, "rootfs")) c->rootfs = V;
    else if (!strcmp(k, "lower")) c->lower = V;
    else if (!strcmp(k, "upper")) c->upper = V;
    else if (!strcmp(k, "work")) c->work = V;
    else if (!strcmp(k, "merged")) c->merged = V;
    else if (!strcmp(k, "hostname")) c->hostname = V;
    else if (!strcmp(k, "netns")) c->netns = V;
    else if (!strcmp(k, "ifaddr")) c->ifaddr = V;
    else if (!strcmp(k, "gateway")) c->gateway = V;
    else if (!strcmp(k, "utsns")) c->utsns = V;
    else if (!strcmp(k, "cwd")) c->cwd = V;
    else if (!strcmp(k, "log")) c->log = V;
    else if (!strcmp(k, "exit")) c->exitfile = V;
    else if (!strcmp(k, "pidfile")) c->pidfile = V;
    else if (!strcmp(k, "oomfile")) c->oomfile = V;
    else if (!strcmp(k, "logmax")) c->logmax = strtoull(V, NULL, 10);
    else if (!strcmp(k, "readonly")) c->readonly = atoi(V);
    else if (!strcmp(k, "uid")) c->uid = (uid_t)strtoul(V, NULL, 10);
    else if (!strcmp(k, "gid")) c->gid = (gid_t)strtoul(V, NULL, 10);
    else if (!strcmp(k, "group")) {
      const char *g = V;
      if (c->ngroups < 64) c->groups[c->ngroups++] = (gid_t)strtoul(g, NULL, 10);
    } else if (!strcmp(k, "cap")) c->caps |= 1ULL << (atoi(V) & 63);
    else if (!strcmp(k, "arg")) {
      const char *a = V;
      if (c->nargs < MAX_ITEMS) c->args[c->nargs++] = a;
    } else if (!strcmp(k, "env")) {
      const char *e = V;
      if (c->nenvs < MAX_ITEMS) c->envs[c->nenvs++] = (char *)e;
    } else if (!strcmp(k, "cgroup")) {
      const char *g = V;
      if (c->ncgroups < 16) c->cgroups[c->ncgroups++] = g;
    } else if (!strcmp(k, "cgbind")) {
      const char *s = V, *d = V;
      if (c->ncgbinds < 16) {
        c->cgbind_src[c->ncgbinds] = s;
        c->cgbind_dst[c->ncgbinds++] = d;
      }
    } else if (!strcmp(k, "bind")) {
      const char *s = V, *d = V, *ro = V;
      if (c->nbinds < 64) c->binds[c->nbinds++] = (struct bind_mount){s, d, !strcmp(ro, "ro")};
    } else if (!strcmp(k, "tmpfs")) {
      const char *d = V, *size = V, *mode = V;
      if (c->ntmpfs < 32)
        c->tmpfs[c->ntmpfs++] =
            (struct tmpfs_mount){d, strtoull(size, NULL, 10), (unsigned)strtoul(mode, NULL, 8)};
    } else {
      errno = EINVAL;
      die(k);
    }
#undef V
  }
  c->args[c->nargs] = NULL;
  c->envs[c->nenvs] = NULL;
}

int join_cgroups(const struct config *c, pid_t pid) {
  char path[4096], text[32];
  snprintf(text, sizeof text, "%d", (int)pid);
  for (int i = 0; i < c->ncgroups; i++) {
    snprintf(path, sizeof path, "%s/cgroup.procs", c->cgroups[i]);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t w = write(fd, text, strlen(text));
    close(fd);
    if (w < 0) return -1;
  }
  return 0;
}

int write_atomic(const char *path, const char *text) {
  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return -1;
  ssize_t w = write(fd, text, strlen(text));
  fsync(fd);
  close(fd);
  if (w < 0) return -1;
  return rename(tmp, path);
}

int mkdir_p(const char *path, unsigned mode) {
  char buf[4096];
  snprintf(buf, sizeof buf, "%s", path);
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/') continue;
    *p = 0;
    if (mkdir(buf, mode) < 0 && errno != EEXIST) return -1;
    *p = '/';
  }
  if (mkdir(buf, mode) < 0 && errno != EEXIST) return -1;
  return 0;
}

/* Syscalls a container never needs and that reach the kernel's or the host's state (Docker's
 * default profile refuses these too): they fail with EPERM. */
static const int denied[] = {
    SYS_kexec_load, SYS_kexec_file_load, SYS_init_module, SYS_finit_module, SYS_delete_module,
    SYS_reboot, SYS_swapon, SYS_swapoff, SYS_mount, SYS_umount2, SYS_pivot_root, SYS_unshare,
    SYS_setns, SYS_bpf, SYS_perf_event_open, SYS_keyctl, SYS_add_key, SYS_request_key,
    SYS_open_by_handle_at, SYS_name_to_handle_at, SYS_acct, SYS_settimeofday, SYS_clock_settime,
    SYS_clock_adjtime, SYS_adjtimex, SYS_syslog, SYS_iopl, SYS_ioperm, SYS_quotactl,
    SYS_lookup_dcookie, SYS_userfaultfd, SYS_fsopen, SYS_fsmount, SYS_move_mount, SYS_open_tree,
    SYS_chroot, SYS_vhangup, SYS_process_vm_writev, SYS_kcmp, SYS_uselib, SYS_ustat, SYS_sysfs,
    SYS__sysctl, SYS_nfsservctl, SYS_create_module, SYS_get_kernel_syms, SYS_query_module,
};

static int install_seccomp(void) {
  enum { N = sizeof denied / sizeof denied[0] };
  struct sock_filter f[N + 8];
  int i = 0;
  f[i++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
  f[i++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0);
  f[i++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
  f[i++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
  /* x32 syscalls (bit 30) are refused as a whole. */
  f[i++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000, N + 1, 0);
  for (int k = 0; k < N; k++)
    f[i++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)denied[k], (unsigned)(N - k), 0);
  /* Not denied: allowed. Denied ones jump over this to the EPERM return. */
  f[i++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
  f[i++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM);
  /* Jumps count from the instruction after each: every taken one lands on the EPERM return. */
  struct sock_fprog prog = {.len = (unsigned short)i, .filter = f};
  return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0);
}

static int last_cap(void) {
  int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
  char buf[16] = {0};
  if (fd >= 0) {
    if (read(fd, buf, sizeof buf - 1) < 0) buf[0] = 0;
    close(fd);
  }
  return buf[0] ? atoi(buf) : 40;
}

int drop_privileges(const struct config *c) {
  int last = last_cap();
  for (int cap = 0; cap <= last; cap++)
    if (!(c->caps & (1ULL << cap)) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
      return -1;
  if (setgroups((size_t)c->ngroups, c->groups) < 0) return -1;
  if (setresgid(c->gid, c->gid, c->gid) < 0) return -1;
  if (setresuid(c->uid, c->uid, c->uid) < 0) return -1;
  if (c->uid == 0) {
    /* Root keeps exactly the capabilities asked for (none by default). */
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2] = {{0}};
    d[0].effective = d[0].permitted = d[0].inheritable = (unsigned)(c->caps & 0xffffffffULL);
    d[1].effective = d[1].permitted = d[1].inheritable = (unsigned)(c->caps >> 32);
    if (syscall(SYS_capset, &h, d) < 0) return -1;
  }
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) return -1;
  return install_seccomp();
}
