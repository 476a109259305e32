/*
 * berth-shim's side of a container's network: inside its network namespace (made by the runtime
 * with `ip`, the veth's peer already in it as eth0), lo and eth0 up, eth0's address and the
 * default route through the bridge, with the classic ioctls.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "shim.h"

static int up(int s, const char *name) {
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
  if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) return -1;
  ifr.ifr_flags |= IFF_UP;
  return ioctl(s, SIOCSIFFLAGS, &ifr);
}

static void inet(struct sockaddr *sa, in_addr_t addr) {
  struct sockaddr_in *in = (struct sockaddr_in *)sa;
  memset(in, 0, sizeof *in);
  in->sin_family = AF_INET;
  in->sin_addr.s_addr = addr;
}

int configure_network(const struct config *c) {
  char addr[64];
  snprintf(addr, sizeof addr, "%s", c->ifaddr);
  char *slash = strchr(addr, '/');
  int bits = slash ? atoi(slash + 1) : 32;
  if (slash) *slash = 0;
  struct in_addr ip, gw;
  if (inet_pton(AF_INET, addr, &ip) != 1 || !c->gateway || inet_pton(AF_INET, c->gateway, &gw) != 1 ||
      bits < 0 || bits > 32) {
    errno = EINVAL;
    return -1;
  }
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return -1;
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  snprintf(ifr.ifr_name, IFNAMSIZ, "eth0");
  int ok = up(s, "lo") == 0;
  inet(&ifr.ifr_addr, ip.s_addr);
  ok = ok && ioctl(s, SIOCSIFADDR, &ifr) == 0;
  inet(&ifr.ifr_netmask, htonl(bits ? 0xffffffffu << (32 - bits) : 0));
  ok = ok && ioctl(s, SIOCSIFNETMASK, &ifr) == 0 && up(s, "eth0") == 0;
  if (ok) {
    struct rtentry rt;
    memset(&rt, 0, sizeof rt);
    inet(&rt.rt_dst, INADDR_ANY);
    inet(&rt.rt_genmask, INADDR_ANY);
    inet(&rt.rt_gateway, gw.s_addr);
    rt.rt_flags = RTF_UP | RTF_GATEWAY;
    ok = ioctl(s, SIOCADDRT, &rt) == 0 || errno == EEXIST;
  }
  int saved = errno;
  close(s);
  errno = saved;
  return ok ? 0 : -1;
}
