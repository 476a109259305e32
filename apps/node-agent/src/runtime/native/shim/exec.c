/*
 * `berth-shim exec <dir> <pid> [-t <rows> <cols>] [-m] -- <argv…>`: runs argv inside the running
 * container whose first process is <pid> (its namespaces, cgroups, user, capabilities, seccomp
 * filter and environment, from <dir>/config), attached to this process's stdio, and exits with
 * its exit code (128 + signal when killed). SIGTERM/SIGINT/SIGHUP kill the command's process
 * group. -m sends its stderr to stdout. With -t it gets a terminal of the container's own devpts; bytes are relayed between
 * stdin/stdout and the terminal, and lines "<rows> <cols>" read from fd 3 resize it.
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
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "shim.h"

extern char **environ;
static volatile pid_t child_pid;

static void forward(int sig) {
  (void)sig;
  if (child_pid > 0) kill(-child_pid, SIGKILL);
}

static void resize_from(int ctl, int master, char *pending, size_t *used) {
  ssize_t r = read(ctl, pending + *used, 255 - *used);
  if (r <= 0) return;
  *used += (size_t)r;
  pending[*used] = 0;
  char *nl;
  while ((nl = strchr(pending, '\n')) != NULL) {
    *nl = 0;
    struct winsize ws = {0};
    unsigned rows = 0, cols = 0;
    if (sscanf(pending, "%u %u", &rows, &cols) == 2) {
      ws.ws_row = (unsigned short)rows;
      ws.ws_col = (unsigned short)cols;
      ioctl(master, TIOCSWINSZ, &ws);
    }
    size_t rest = *used - (size_t)(nl + 1 - pending);
    memmove(pending, nl + 1, rest + 1);
    *used = rest;
  }
}

/* Relays stdin → terminal and terminal → stdout until the terminal hangs up. */
static void relay(int master) {
  struct pollfd fds[3] = {{0, POLLIN, 0}, {master, POLLIN, 0}, {3, POLLIN, 0}};
  if (fcntl(3, F_GETFD) < 0) fds[2].fd = -1;
  char buf[16384], pending[256];
  size_t used = 0;
  for (;;) {
    if (poll(fds, 3, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t r = read(master, buf, sizeof buf);
      if (r <= 0) return; /* EIO: every process holding the terminal is gone */
      for (ssize_t o = 0; o < r;) {
        ssize_t w = write(1, buf + o, (size_t)(r - o));
        if (w <= 0) return;
        o += w;
      }
    }
    if (fds[0].fd >= 0 && (fds[0].revents & (POLLIN | POLLHUP | POLLERR))) {
      ssize_t r = read(0, buf, sizeof buf);
      if (r <= 0) {
        fds[0].fd = -1; /* stdin closed: the terminal stays until the process ends */
      } else if (write(master, buf, (size_t)r) < 0) {
        return;
      }
    }
    if (fds[2].fd >= 0 && (fds[2].revents & (POLLIN | POLLHUP | POLLERR))) {
      size_t before = used;
      resize_from(3, master, pending, &used);
      if (used == before && (fds[2].revents & POLLHUP)) fds[2].fd = -1;
    }
  }
}

int shim_exec(const char *dir, int argc, char **argv) {
  static struct config c;
  read_config(dir, &c);
  if (argc < 2) {
    errno = EINVAL;
    die("usage: exec <dir> <pid> [-t rows cols] -- argv");
  }
  pid_t target = (pid_t)atoi(argv[0]);
  int tty = 0, i = 1;
  struct winsize ws = {24, 80, 0, 0};
  int merge = 0;
  for (;;) {
    if (i + 2 < argc && !strcmp(argv[i], "-t")) {
      tty = 1;
      ws.ws_row = (unsigned short)atoi(argv[i + 1]);
      ws.ws_col = (unsigned short)atoi(argv[i + 2]);
      i += 3;
    } else if (i < argc && !strcmp(argv[i], "-m")) {
      merge = 1; /* stderr into stdout: one stream, in the order written */
      i++;
    } else {
      break;
    }
  }
  if (i < argc && !strcmp(argv[i], "--")) i++;
  if (i >= argc) {
    errno = EINVAL;
    die("no command");
  }
  char **cmd = argv + i;
  /* Every namespace is opened before the first is entered: /proc is the host's until then. */
  const char *kinds[] = {"ipc", "uts", "net", "pid", "mnt"};
  int types[] = {CLONE_NEWIPC, CLONE_NEWUTS, CLONE_NEWNET, CLONE_NEWPID, CLONE_NEWNS};
  int nsfd[5];
  for (int k = 0; k < 5; k++) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/ns/%s", (int)target, kinds[k]);
    nsfd[k] = open(path, O_RDONLY | O_CLOEXEC);
    if (nsfd[k] < 0) die(path);
  }
  char rootpath[64];
  snprintf(rootpath, sizeof rootpath, "/proc/%d/root", (int)target);
  int rootfd = open(rootpath, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0) die(rootpath);
  if (join_cgroups(&c, 0) < 0) die("join cgroups");
  for (int k = 0; k < 5; k++)
    if (setns(nsfd[k], types[k]) < 0) die(kinds[k]);
  /* Entering the mount namespace puts us at its root, which is the container's only after a
   * pivot_root: its first process's root is the container's either way. */
  if (fchdir(rootfd) < 0 || chroot(".") < 0 || chdir("/") < 0) die("enter root");
  close(rootfd);
  int master = -1;
  char slave[128] = {0};
  if (tty) {
    master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0 || ptsname_r(master, slave, sizeof slave))
      die("terminal");
    ioctl(master, TIOCSWINSZ, &ws);
  }
  signal(SIGPIPE, SIG_IGN);
  pid_t pid = fork();
  if (pid < 0) die("fork");
  if (pid == 0) {
    setsid();
    if (tty) {
      int s = open(slave, O_RDWR);
      if (s < 0 || ioctl(s, TIOCSCTTY, 0) < 0) die(slave);
      dup2(s, 0);
      dup2(s, 1);
      dup2(s, 2);
      if (s > 2) close(s);
    }
    if (merge) dup2(1, 2);
    close(3);
    if (drop_privileges(&c) < 0) die("drop privileges");
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    if (c.cwd && chdir(c.cwd) < 0) die(c.cwd);
    environ = c.envs;
    execvp(cmd[0], cmd);
    fprintf(stderr, "berth-shim: exec %s: %s\n", cmd[0], strerror(errno));
    _exit(errno == ENOENT ? 127 : 126);
  }
  child_pid = pid;
  struct sigaction sa = {0};
  sa.sa_handler = forward;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);
  if (tty) relay(master);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int main(int argc, char **argv) {
  if (argc >= 3 && !strcmp(argv[1], "run")) return shim_run(argv[2]);
  if (argc >= 3 && !strcmp(argv[1], "exec")) return shim_exec(argv[2], argc - 3, argv + 3);
  fprintf(stderr, "usage: berth-shim run <dir> | exec <dir> <pid> [-t rows cols] -- argv…\n");
  return 2;
}
