/*
 * The escape attempts busybox has no applet for (test/security/escape.test.ts compiles
 * this statically when gcc is on the machine). Each form prints one word, "escaped" or
 * "blocked", and a detail; nothing it does changes the host when it is blocked, and
 * when it is not, it changes nothing either (the clock is set to the time just read,
 * a traced process is detached at once).
 *
 *   handle PATH             (on the host) print PATH's file handle as TYPE:HEX
 *   obh TYPE:HEX REL        open_by_handle_at(open("/"), handle); escaped if REL (a path
 *                           relative to the handle's directory) is there: a host file
 *   chroot DIR MARKER       chroot(DIR), chdir("..") 64 times, chroot("."); escaped if
 *                           the host path MARKER is then visible
 *   ptrace PID WORD         PTRACE_ATTACH of PID; escaped if attached and its cmdline has WORD
 *   clock                   clock_settime(CLOCK_REALTIME, the time just read)
 *   mapfiles                open(O_RDONLY) of each /proc/1/map_files entry
 *   getfd                   pidfd_getfd of each of PID 1's descriptors but its standard streams
 *                           (the caller's own pipes): escaped if a socket comes
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int out(const char *word, const char *fmt, const char *arg, int err) {
  printf("%s ", word);
  printf(fmt, arg);
  if (err) printf(" (%s)", strerrorname_np(err) ? strerrorname_np(err) : "?");
  printf("\n");
  return 0;
}

static int handle(const char *path) {
  struct file_handle *h = malloc(sizeof *h + MAX_HANDLE_SZ);
  int mount_id;
  h->handle_bytes = MAX_HANDLE_SZ;
  if (name_to_handle_at(AT_FDCWD, path, h, &mount_id, 0) != 0) return perror("name_to_handle_at"), 1;
  printf("%d:", h->handle_type);
  for (unsigned i = 0; i < h->handle_bytes; i++) printf("%02x", h->f_handle[i]);
  printf("\n");
  return 0;
}

static int obh(const char *spec, const char *rel) {
  struct file_handle *h = malloc(sizeof *h + MAX_HANDLE_SZ);
  const char *hex = strchr(spec, ':');
  if (!hex) return 2;
  h->handle_type = atoi(spec);
  h->handle_bytes = strlen(hex + 1) / 2;
  for (unsigned i = 0; i < h->handle_bytes; i++) sscanf(hex + 1 + 2 * i, "%2hhx", &h->f_handle[i]);
  int root = open("/", O_RDONLY | O_DIRECTORY);
  int fd = open_by_handle_at(root, h, O_RDONLY | O_DIRECTORY);
  if (fd < 0) return out("blocked", "open_by_handle_at", "", errno);
  if (faccessat(fd, rel, F_OK, 0) == 0) return out("escaped", "open_by_handle_at: the host's %s is reachable", rel, 0);
  return out("blocked", "open_by_handle_at opened a directory without the host's marker", "", 0);
}

static int jail(const char *dir, const char *marker) {
  mkdir(dir, 0700);
  if (chroot(dir) != 0) return out("blocked", "chroot", "", errno);
  for (int i = 0; i < 64; i++) chdir("..");
  if (chroot(".") != 0) return out("blocked", "the second chroot", "", errno);
  if (access(marker, F_OK) == 0) return out("escaped", "chroot: the host's %s is visible", marker, 0);
  return out("blocked", "chroot left the process in the container's root", "", 0);
}

static int trace(const char *pidstr, const char *word) {
  pid_t pid = atoi(pidstr);
  if (ptrace(PTRACE_ATTACH, pid, 0, 0) != 0) return out("blocked", "ptrace(PTRACE_ATTACH, %s)", pidstr, errno);
  waitpid(pid, NULL, __WALL);
  char path[64], buf[256] = {0};
  snprintf(path, sizeof path, "/proc/%d/cmdline", pid);
  int fd = open(path, O_RDONLY);
  ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : 0;
  for (ssize_t i = 0; i < n; i++) if (!buf[i]) buf[i] = ' ';
  ptrace(PTRACE_DETACH, pid, 0, 0);
  if (strstr(buf, word)) return out("escaped", "ptrace attached to the host's process %s", pidstr, 0);
  return out("blocked", "PID %s in the container is not the host's process", pidstr, 0);
}

static int clock_set(void) {
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  if (clock_settime(CLOCK_REALTIME, &now) != 0) return out("blocked", "clock_settime", "", errno);
  return out("escaped", "clock_settime(CLOCK_REALTIME) succeeded", "", 0);
}

static int mapfiles(void) {
  DIR *d = opendir("/proc/1/map_files");
  if (!d) return out("blocked", "opendir /proc/1/map_files", "", errno);
  struct dirent *e;
  int opened = 0, err = 0;
  char path[512];
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    snprintf(path, sizeof path, "/proc/1/map_files/%s", e->d_name);
    int fd = open(path, O_RDONLY);
    if (fd >= 0) opened++, close(fd);
    else err = errno;
  }
  if (opened) return out("escaped", "opened PID 1's mapped files", "", 0);
  return out("blocked", "open /proc/1/map_files/*", "", err);
}

static int getfd(void) {
  int pidfd = syscall(SYS_pidfd_open, 1, 0);
  if (pidfd < 0) return out("blocked", "pidfd_open(1)", "", errno);
  int got = 0, err = 0;
  for (int fd = 3; fd < 256; fd++) {
    int mine = syscall(SYS_pidfd_getfd, pidfd, fd, 0);
    if (mine < 0) {
      if (errno != EBADF) err = errno;
      continue;
    }
    struct stat st;
    if (fstat(mine, &st) == 0 && S_ISSOCK(st.st_mode)) {
      char n[16];
      snprintf(n, sizeof n, "%d", fd);
      return out("escaped", "pidfd_getfd took PID 1's socket (its descriptor %s)", n, 0);
    }
    got++;
    close(mine);
  }
  if (got) {
    char n[16];
    snprintf(n, sizeof n, "%d", got);
    return out("blocked", "pidfd_getfd works but PID 1 holds no socket past its standard streams (%s other descriptors)", n, 0);
  }
  return out("blocked", "pidfd_getfd", "", err);
}

int main(int argc, char **argv) {
  if (argc >= 3 && !strcmp(argv[1], "handle")) return handle(argv[2]);
  if (argc >= 4 && !strcmp(argv[1], "obh")) return obh(argv[2], argv[3]);
  if (argc >= 4 && !strcmp(argv[1], "chroot")) return jail(argv[2], argv[3]);
  if (argc >= 4 && !strcmp(argv[1], "ptrace")) return trace(argv[2], argv[3]);
  if (argc >= 2 && !strcmp(argv[1], "clock")) return clock_set();
  if (argc >= 2 && !strcmp(argv[1], "mapfiles")) return mapfiles();
  if (argc >= 2 && !strcmp(argv[1], "getfd")) return getfd();
  fprintf(stderr, "usage: see the comment at the top\n");
  return 2;
}
