/*
 * `berth-shim run <dir>`: starts the container described by <dir>/config and stays with it.
 * The process the runtime started waits only until the container's command has been exec'd (or
 * failed to), prints "ok <pid>" and exits; a daemon (its own session, no terminal) holds the
 * container's stdout and stderr, writes them to the log in CRI's format
 * (`<RFC 3339 nanoseconds> stdout|stderr F|P <bytes>`), and when the container ends writes its
 * exit status to the exit file. The runtime (and a restarted agent) only read those files.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "shim.h"

extern char **environ;

static void fail_to(int fd, const char *what) {
  char msg[1024];
  int n = snprintf(msg, sizeof msg, "%s: %s", what, strerror(errno));
  if (write(fd, msg, (size_t)n) < 0) _exit(126);
  _exit(126);
}

static void touch_target(const char *path, int dir) {
  if (dir) {
    mkdir_p(path, 0755);
    return;
  }
  char parent[4096];
  snprintf(parent, sizeof parent, "%s", path);
  char *slash = strrchr(parent, '/');
  if (slash && slash != parent) {
    *slash = 0;
    mkdir_p(parent, 0755);
  }
  int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd >= 0) close(fd);
}

static int bind(const char *src, const char *dst, int ro) {
  if (mount(src, dst, NULL, MS_BIND | MS_REC, NULL) < 0) return -1;
  if (ro && mount(NULL, dst, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0)
    return -1;
  return 0;
}

#define IN(buf, ...)                                                  \
  do {                                                                \
    char rel_[4096];                                                  \
    snprintf(rel_, sizeof rel_, __VA_ARGS__);                         \
    if (in_root(root, rel_, buf, sizeof buf) < 0) fail_to(errfd, rel_); \
  } while (0)

static const char *proc_readonly[] = {"sys", "sysrq-trigger", "irq", "bus", "fs"};
static const char *proc_masked[] = {"kcore", "keys", "timer_list", "sched_debug", "latency_stats",
                                    "acpi", "scsi", "kallsyms"};

static const char *devices[] = {"null", "zero", "full", "random", "urandom", "tty"};

/* The mounts of the container's root, before pivot_root: the root itself, /proc, /dev, /sys,
 * its cgroups, then what the spec asks for. Targets are made inside the root as needed. */
static void setup_mounts(const struct config *c, const char *root, int errfd) {
  char p[4096], q[4096];
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) fail_to(errfd, "make / private");
  if (c->lower) {
    char opts[8192];
    snprintf(opts, sizeof opts, "lowerdir=%s,upperdir=%s,workdir=%s", c->lower, c->upper, c->work);
    if (mount("overlay", root, "overlay", 0, opts) < 0) fail_to(errfd, "mount overlay root");
  } else if (mount(root, root, NULL, MS_BIND | MS_REC, NULL) < 0) fail_to(errfd, "bind root");
  IN(p, "/proc");
  mkdir_p(p, 0555);
  if (mount("proc", p, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) fail_to(errfd, "mount /proc");
  /* As Docker does: what of /proc reaches the host's kernel is read-only or masked. */
  for (size_t i = 0; i < sizeof proc_readonly / sizeof proc_readonly[0]; i++) {
    IN(p, "/proc/%s", proc_readonly[i]);
    if (access(p, F_OK) == 0 && bind(p, p, 1) < 0) fail_to(errfd, p);
  }
  for (size_t i = 0; i < sizeof proc_masked / sizeof proc_masked[0]; i++) {
    struct stat st;
    IN(p, "/proc/%s", proc_masked[i]);
    if (stat(p, &st) < 0) continue;
    int r = S_ISDIR(st.st_mode) ? mount("tmpfs", p, "tmpfs", MS_RDONLY, "size=0") : mount("/dev/null", p, NULL, MS_BIND, NULL);
    if (r < 0) fail_to(errfd, p);
  }
  IN(p, "/dev");
  mkdir_p(p, 0755);
  if (mount("tmpfs", p, "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k") < 0)
    fail_to(errfd, "mount /dev");
  for (size_t i = 0; i < sizeof devices / sizeof devices[0]; i++) {
    IN(p, "/dev/%s", devices[i]);
    snprintf(q, sizeof q, "/dev/%s", devices[i]);
    touch_target(p, 0);
    if (mount(q, p, NULL, MS_BIND, NULL) < 0) fail_to(errfd, q);
  }
  IN(p, "/dev/pts");
  mkdir_p(p, 0755);
  if (mount("devpts", p, "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620") < 0)
    fail_to(errfd, "mount /dev/pts");
  IN(p, "/dev/ptmx");
  if (symlink("pts/ptmx", p) < 0) fail_to(errfd, "/dev/ptmx");
  IN(p, "/dev/shm");
  mkdir_p(p, 0755);
  if (mount("shm", p, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=65536k") < 0)
    fail_to(errfd, "mount /dev/shm");
  const char *links[][2] = {{"/proc/self/fd", "fd"}, {"/proc/self/fd/0", "stdin"},
                            {"/proc/self/fd/1", "stdout"}, {"/proc/self/fd/2", "stderr"}};
  for (int i = 0; i < 4; i++) {
    IN(p, "/dev/%s", links[i][1]);
    if (symlink(links[i][0], p) < 0) fail_to(errfd, p);
  }
  IN(p, "/sys");
  mkdir_p(p, 0555);
  if (mount("sysfs", p, "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
    fail_to(errfd, "mount /sys");
  /* v2: the container's cgroup is bound at /sys/fs/cgroup itself; v1: one per controller under
   * a tmpfs. Read-only is set per mount (MS_BIND): a plain remount would make the host's cgroup
   * superblock read-only for everyone. */
  int whole = c->ncgbinds == 1 && !strcmp(c->cgbind_dst[0], "/sys/fs/cgroup");
  if (c->ncgbinds > 0 && !whole) {
    IN(p, "/sys/fs/cgroup");
    if (mount("tmpfs", p, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=755,size=64k") < 0)
      fail_to(errfd, "mount /sys/fs/cgroup");
  }
  for (int i = 0; i < c->ncgbinds; i++) {
    IN(p, "%s", c->cgbind_dst[i]);
    mkdir_p(p, 0755);
    if (bind(c->cgbind_src[i], p, 1) < 0) fail_to(errfd, c->cgbind_dst[i]);
  }
  if (c->ncgbinds > 0 && !whole) {
    IN(p, "/sys/fs/cgroup");
    if (mount(NULL, p, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
      fail_to(errfd, "read-only /sys/fs/cgroup");
  }
  for (int i = 0; i < c->nbinds; i++) {
    struct stat st;
    if (stat(c->binds[i].src, &st) < 0) fail_to(errfd, c->binds[i].src);
    IN(p, "%s", c->binds[i].dst);
    touch_target(p, S_ISDIR(st.st_mode));
    if (bind(c->binds[i].src, p, c->binds[i].ro) < 0) fail_to(errfd, c->binds[i].dst);
  }
  for (int i = 0; i < c->ntmpfs; i++) {
    char opts[128];
    int n = snprintf(opts, sizeof opts, "mode=%o", c->tmpfs[i].mode ? c->tmpfs[i].mode : 01777);
    if (c->tmpfs[i].size) snprintf(opts + n, sizeof opts - (size_t)n, ",size=%llu", c->tmpfs[i].size);
    IN(p, "%s", c->tmpfs[i].dst);
    mkdir_p(p, 0755);
    if (mount("tmpfs", p, "tmpfs", MS_NOSUID | MS_NODEV, opts) < 0) fail_to(errfd, c->tmpfs[i].dst);
  }
  if (c->cwd) {
    IN(p, "%s", c->cwd);
    mkdir_p(p, 0755);
  }
}

/* The container's first process: pid 1 of its namespaces. Never returns. */
static void container_init(const struct config *c, int go, int errfd, int out, int err) {
  char b;
  if (read(go, &b, 1) != 1) _exit(126);
  close(go);
  if (c->netns) {
    int fd = open(c->netns, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || setns(fd, CLONE_NEWNET) < 0) fail_to(errfd, "join network namespace");
    close(fd);
  }
  if (c->ifaddr && configure_network(c) < 0) fail_to(errfd, "configure eth0");
  if (c->utsns) {
    int fd = open(c->utsns, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || setns(fd, CLONE_NEWUTS) < 0) fail_to(errfd, "join uts namespace");
    close(fd);
  }
  const char *root = c->lower ? c->merged : c->rootfs;
  setup_mounts(c, root, errfd);
  if (chdir(root) < 0) fail_to(errfd, "chdir root");
  if (syscall(SYS_pivot_root, ".", ".") == 0) {
    if (umount2(".", MNT_DETACH) < 0) fail_to(errfd, "detach old root");
  } else if (errno == EINVAL) {
    /* The host's root is an initramfs (rootfs cannot be pivoted away): the new root is moved
     * over / and chrooted into, as runc's --no-pivot does. The seccomp filter and the dropped
     * capabilities keep the container from chrooting back out. */
    if (mount(root, "/", NULL, MS_MOVE, NULL) < 0) fail_to(errfd, "move root");
    if (chroot(".") < 0) fail_to(errfd, "chroot");
  } else {
    fail_to(errfd, "pivot_root");
  }
  if (chdir("/") < 0) fail_to(errfd, "chdir /");
  if (c->readonly && mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0)
    fail_to(errfd, "read-only root");
  if (c->hostname && !c->utsns && sethostname(c->hostname, strlen(c->hostname)) < 0)
    fail_to(errfd, "sethostname");
  int devnull = open("/dev/null", O_RDONLY);
  if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
    fail_to(errfd, "stdio");
  if (drop_privileges(c) < 0) fail_to(errfd, "drop privileges");
  if (c->cwd && chdir(c->cwd) < 0) fail_to(errfd, c->cwd);
  environ = (char **)c->envs;
  if (c->nargs == 0) {
    errno = EINVAL;
    fail_to(errfd, "no command");
  }
  execvp(c->args[0], (char *const *)c->args);
  fail_to(errfd, c->args[0]);
}

static void timestamp(char *buf, size_t n) {
  struct timespec ts;
  struct tm tm;
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  size_t k = strftime(buf, n, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(buf + k, n - k, ".%09ldZ", ts.tv_nsec);
}

static int logfd = -1;
static unsigned long long logsize;

/* Past the configured size the log becomes `<log>.1` (replacing the one before) and a new log
 * begins, at a record's boundary: at most twice the size is kept, as kubelet rotates. */
static void rotate_log(const struct config *c) {
  if (!c->logmax || logsize < c->logmax) return;
  char old[4096];
  snprintf(old, sizeof old, "%s.1", c->log);
  if (rename(c->log, old) < 0) return;
  int fd = open(c->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (fd < 0) return;
  close(logfd);
  logfd = fd;
  logsize = 0;
}

/* One record per line written (F), or per piece of a line not yet ended (P). */
static void log_chunk(const char *stream, const char *data, size_t len) {
  char ts[64];
  timestamp(ts, sizeof ts);
  while (len > 0) {
    const char *nl = memchr(data, '\n', len);
    size_t piece = nl ? (size_t)(nl - data) : len;
    char head[128];
    int h = snprintf(head, sizeof head, "%s %s %c ", ts, stream, nl ? 'F' : 'P');
    if (write(logfd, head, (size_t)h) < 0 || write(logfd, data, piece) < 0 || write(logfd, "\n", 1) < 0)
      return;
    logsize += (unsigned long long)h + piece + 1;
    data += piece + (nl ? 1 : 0);
    len -= piece + (nl ? 1 : 0);
  }
}

static long long oom_kills(const char *path) {
  if (!path) return 0;
  FILE *f = fopen(path, "re");
  if (!f) return 0;
  char key[64];
  long long v, kills = 0;
  while (fscanf(f, "%63s %lld", key, &v) == 2)
    if (!strcmp(key, "oom_kill")) kills = v;
  fclose(f);
  return kills;
}

int shim_run(const char *dir) {
  static struct config c;
  read_config(dir, &c);
  int report[2];
  if (pipe2(report, O_CLOEXEC) < 0) die("pipe");
  pid_t daemon = fork();
  if (daemon < 0) die("fork");
  if (daemon > 0) {
    close(report[1]);
    char msg[1100];
    ssize_t n = 0, r;
    while (n < (ssize_t)sizeof msg - 1 && (r = read(report[0], msg + n, sizeof msg - 1 - (size_t)n)) > 0) n += r;
    msg[n] = 0;
    if (!strncmp(msg, "ok ", 3)) {
      printf("%s\n", msg + 3);
      return 0;
    }
    fprintf(stderr, "%s\n", n > 0 ? msg : "berth-shim: the supervisor died");
    return 1;
  }
  close(report[0]);
  setsid();
  signal(SIGPIPE, SIG_IGN);
  int nul = open("/dev/null", O_RDWR);
  dup2(nul, 0);
  dup2(nul, 1);
  dup2(nul, 2);
  logfd = open(c.log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (logfd < 0) fail_to(report[1], "open log");
  struct stat logst;
  logsize = fstat(logfd, &logst) == 0 ? (unsigned long long)logst.st_size : 0;
  long long ooms_before = oom_kills(c.oomfile);
  int out[2], err[2], go[2], errp[2];
  if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0 || pipe2(go, O_CLOEXEC) < 0 ||
      pipe2(errp, O_CLOEXEC) < 0)
    fail_to(report[1], "pipe");
  long flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | SIGCHLD;
  if (!c.netns) flags |= CLONE_NEWNET;
  if (!c.utsns) flags |= CLONE_NEWUTS;
  pid_t child = (pid_t)syscall(SYS_clone, flags, NULL, NULL, NULL, NULL);
  if (child < 0) fail_to(report[1], "clone");
  if (child == 0) {
    close(report[1]);
    close(out[0]);
    close(err[0]);
    close(go[1]);
    close(errp[0]);
    container_init(&c, go[0], errp[1], out[1], err[1]);
  }
  close(out[1]);
  close(err[1]);
  close(go[0]);
  close(errp[1]);
  if (join_cgroups(&c, child) < 0) {
    kill(child, SIGKILL);
    fail_to(report[1], "join cgroups");
  }
  if (write(go[1], "g", 1) != 1) fail_to(report[1], "start");
  close(go[1]);
  char msg[1100];
  ssize_t n = read(errp[0], msg, sizeof msg - 1);
  close(errp[0]);
  if (n > 0) {
    msg[n] = 0;
    waitpid(child, NULL, 0);
    if (write(report[1], msg, (size_t)n) < 0) _exit(126);
    _exit(126);
  }
  char text[64];
  snprintf(text, sizeof text, "%d %d", (int)child, (int)getpid());
  write_atomic(c.pidfile, text);
  snprintf(text, sizeof text, "ok %d", (int)child);
  if (write(report[1], text, strlen(text)) < 0) _exit(126);
  close(report[1]);

  struct pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  const char *names[2] = {"stdout", "stderr"};
  static char buf[65536];
  int open_fds = 2;
  while (open_fds > 0) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; i++) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t r = read(fds[i].fd, buf, sizeof buf);
      if (r > 0) {
        log_chunk(names[i], buf, (size_t)r);
        rotate_log(&c);
      } else if (r == 0 || errno != EINTR) {
        close(fds[i].fd);
        fds[i].fd = -1;
        open_fds--;
      }
    }
  }
  int status = 0;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  int oom = oom_kills(c.oomfile) > ooms_before;
  char ts[64], exitText[160];
  timestamp(ts, sizeof ts);
  snprintf(exitText, sizeof exitText, "%d %d %s\n", code, oom, ts);
  write_atomic(c.exitfile, exitText);
  return 0;
}
