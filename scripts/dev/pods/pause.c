/*
 * The pod sandbox's process (the "pause" container): holds the pod's namespaces open, reaps the
 * zombies of a shared PID namespace, and exits on SIGTERM/SIGINT so a sandbox stops at once
 * instead of waiting out a grace period. Built static by scripts/dev/pods.sh (no registry here to pull one).
 */
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void quit(int sig) { (void)sig; _exit(0); }

static void reap(int sig) {
  (void)sig;
  while (waitpid(-1, NULL, WNOHANG) > 0) {}
}

int main(void) {
  struct sigaction q = {.sa_handler = quit}, r = {.sa_handler = reap, .sa_flags = SA_NOCLDSTOP};
  sigaction(SIGTERM, &q, NULL);
  sigaction(SIGINT, &q, NULL);
  sigaction(SIGCHLD, &r, NULL);
  for (;;) pause();
}
