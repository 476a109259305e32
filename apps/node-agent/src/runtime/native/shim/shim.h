/*
 * berth-shim: the per-container supervisor of Berth's native runtime (see README.md beside it).
 * Shared declarations of its three files: the container's configuration and the steps that
 * both the container's first process and an exec'd one take.
 */
#ifndef BERTH_SHIM_H
#define BERTH_SHIM_H

#include <stddef.h>
#include <sys/types.h>

#define MAX_ITEMS 256

struct bind_mount {
  const char *src, *dst;
  int ro;
};

struct tmpfs_mount {
  const char *dst;
  unsigned long long size;
  unsigned mode;
};

struct config {
  const char *rootfs, *lower, *upper, *work, *merged;
  const char *ifaddr, *gateway; /* eth0's address (a.b.c.d/bits) and default route, set inside */
  const char *hostname, *netns, *utsns, *cwd, *log, *exitfile, *pidfile, *oomfile;
  unsigned long long logmax; /* rotate the log past this size (0: never) */
  uid_t uid;
  gid_t gid;
  gid_t groups[64];
  int ngroups;
  unsigned long long caps; /* bit n: capability n is kept */
  int readonly;
  const char *args[MAX_ITEMS + 1];
  int nargs;
  char *envs[MAX_ITEMS + 1];
  int nenvs;
  const char *cgroups[16];
  int ncgroups;
  const char *cgbind_src[16], *cgbind_dst[16];
  int ncgbinds;
  struct bind_mount binds[64];
  int nbinds;
  struct tmpfs_mount tmpfs[32];
  int ntmpfs;
};

/* Reads `<dir>/config`: NUL-terminated tokens, a key followed by its values. Exits on error. */
void read_config(const char *dir, struct config *c);
/* Writes "0" (the caller) into each cgroup's cgroup.procs; returns -1 with errno on failure. */
int join_cgroups(const struct config *c, pid_t pid);
/* Supplementary groups, gid, uid, capabilities, no_new_privs, seccomp: the last steps before exec. */
int drop_privileges(const struct config *c);
/* Writes `text` to `path` through a temporary file and rename, so readers never see half of it. */
int write_atomic(const char *path, const char *text);
/* Brings lo and eth0 up, gives eth0 its address and adds the default route (idempotent). */
int configure_network(const struct config *c);
/* `rel` resolved inside `root` (its symbolic links followed within it), into `out`. */
int in_root(const char *root, const char *rel, char *out, size_t n);
/* Fails the process with a message on stderr. */
void die(const char *what);
int mkdir_p(const char *path, unsigned mode);

int shim_run(const char *dir);
int shim_exec(const char *dir, int argc, char **argv);

#endif
