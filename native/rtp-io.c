/*
 * Batched RTP socket I/O for the media worker (lib/media-engine/native-rtp-io.ts), as a Node-API addon.
 *
 * Why by hand: Node's `dgram` costs one libuv poll event, two recvmsg calls (the packet, then
 * EAGAIN), a JavaScript callback, a Buffer and an `rinfo` object per received packet, and a send
 * request and a callback per sent one: at 500 calls (50 000 packets a second) that is most of a
 * media worker's CPU and what makes its 20 ms tick start late (docs/benchmarks.md, "Native RTP I/O").
 * Linux has recvmmsg, but Node offers no way to call it and no maintained npm package does
 * (the registry list has none). This file is only the system calls; every decision about the
 * packets stays in TypeScript.
 *
 * The sockets stay Node's: `dgram` binds them (the port allocator is unchanged) and closes them; the
 * worker stops libuv reading them and, once per media tick, drains every socket here with recvmmsg
 * (MSG_DONTWAIT), each packet with the kernel's arrival time (SO_TIMESTAMPNS). Sends are one
 * sendto each, straight from the caller's buffer.
 *
 * Exports (fds are the descriptors of bound UDP/IPv4 sockets):
 *   enable(fd)                                  → 0 or -errno (turns on the arrival timestamps)
 *   recv(fds, count, buf, meta, state)          → packets drained into buf, described in meta
 *       fds: Int32Array, count: how many of it are in use, buf: Buffer the packets are copied into,
 *       meta: Int32Array, RECV_FIELDS per packet: [fd index, offset in buf, length (-1: truncated),
 *       source IPv4 address (host order, as int32), source port, age in µs (-1: no timestamp)],
 *       (an fd of -1 is skipped), state: Int32Array [next fd index to drain, errors other than EAGAIN]: the call starts at
 *       state[0] and stops when every fd is drained (state[0] = count) or buf or meta is full.
 *   send(fd, buf, offset, length, address, port) → bytes sent or -errno (address: IPv4, host order)
 * Arguments of the wrong type throw a TypeError naming the call's arguments; a recv without room for
 * one packet, or a send outside its buffer or to port 0 or above 65535, a RangeError.
 */
#define NAPI_VERSION 8
#define _GNU_SOURCE
#include <node_api.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define RECV_FIELDS 6
#define SLOT 2048 /* the largest datagram kept whole; RTP packets here are ~172 bytes */
#define BATCH 32

/* A Node-API call on an argument that failed: a TypeError naming the function's arguments (never a crash). */
#define CHECK(call, usage)                                                                         \
  do {                                                                                             \
    if ((call) != napi_ok) {                                                                       \
      napi_throw_type_error(env, NULL, "rtp-io: " usage);                                          \
      return NULL;                                                                                 \
    }                                                                                              \
  } while (0)

#define ENABLE_USAGE "enable(fd) takes a descriptor (an integer)"
#define RECV_USAGE "recv(fds, count, buf, meta, state) takes Int32Arrays, a count and a Buffer"
#define SEND_USAGE "send(fd, buf, offset, length, address, port) takes integers and a Buffer"

static napi_value int_value(napi_env env, int64_t v) {
  napi_value out;
  napi_create_int64(env, v, &out);
  return out;
}

static int typed_i32(napi_env env, napi_value v, int32_t **data, size_t *length) {
  napi_typedarray_type type;
  void *raw;
  if (napi_get_typedarray_info(env, v, &type, length, &raw, NULL, NULL) != napi_ok || type != napi_int32_array) return -1;
  *data = raw;
  return 0;
}

static napi_value enable(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL), ENABLE_USAGE);
  CHECK(napi_get_value_int32(env, argv[0], &fd), ENABLE_USAGE);
  int on = 1;
  if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on) != 0) return int_value(env, -errno);
  return int_value(env, 0);
}

static napi_value recv_all(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  int32_t *fds, *meta, *state;
  size_t fds_len, meta_len, state_len, buf_len;
  uint32_t count;
  void *buf_raw;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL), RECV_USAGE);
  if (argc < 5 || typed_i32(env, argv[0], &fds, &fds_len) || typed_i32(env, argv[3], &meta, &meta_len) ||
      typed_i32(env, argv[4], &state, &state_len) || state_len < 2) {
    napi_throw_type_error(env, NULL, "rtp-io: " RECV_USAGE " (state: 2 or more)");
    return NULL;
  }
  CHECK(napi_get_value_uint32(env, argv[1], &count), RECV_USAGE);
  CHECK(napi_get_buffer_info(env, argv[2], &buf_raw, &buf_len), RECV_USAGE);
  /* Without room for one packet it could read nothing and a caller looping until state[0] = count would never end. */
  if (buf_len < SLOT || meta_len < RECV_FIELDS) {
    napi_throw_range_error(env, NULL, "rtp-io: recv needs room for one packet at least (buf of SLOT bytes, meta of RECV_FIELDS)");
    return NULL;
  }
  if (count > fds_len) count = (uint32_t)fds_len;
  uint8_t *buf = buf_raw;

  struct mmsghdr msgs[BATCH];
  struct iovec iovs[BATCH];
  struct sockaddr_in from[BATCH];
  char control[BATCH][CMSG_SPACE(sizeof(struct timespec))];
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);

  size_t used = 0;      /* bytes of buf used */
  size_t packets = 0;   /* packets described in meta */
  size_t max_packets = meta_len / RECV_FIELDS;
  uint32_t i = state[0] < 0 ? 0 : (uint32_t)state[0];
  for (; i < count; i++) {
    if (fds[i] < 0) continue; /* given back while a drain was under way */
    for (;;) {
      size_t room = (buf_len - used) / SLOT;
      size_t vlen = max_packets - packets;
      if (room < vlen) vlen = room;
      if (vlen > BATCH) vlen = BATCH;
      if (vlen == 0) goto full;
      for (size_t k = 0; k < vlen; k++) {
        iovs[k].iov_base = buf + used + k * SLOT;
        iovs[k].iov_len = SLOT;
        memset(&msgs[k].msg_hdr, 0, sizeof msgs[k].msg_hdr);
        msgs[k].msg_hdr.msg_iov = &iovs[k];
        msgs[k].msg_hdr.msg_iovlen = 1;
        msgs[k].msg_hdr.msg_name = &from[k];
        msgs[k].msg_hdr.msg_namelen = sizeof from[k];
        msgs[k].msg_hdr.msg_control = control[k];
        msgs[k].msg_hdr.msg_controllen = sizeof control[k];
      }
      int n = recvmmsg(fds[i], msgs, (unsigned)vlen, MSG_DONTWAIT, NULL);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) state[1]++;
        break;
      }
      size_t slot_base = used;
      for (int k = 0; k < n; k++) {
        int32_t *m = meta + packets * RECV_FIELDS;
        m[0] = (int32_t)i;
        m[1] = (int32_t)(slot_base + (size_t)k * SLOT);
        m[2] = (msgs[k].msg_hdr.msg_flags & MSG_TRUNC) ? -1 : (int32_t)msgs[k].msg_len;
        m[3] = from[k].sin_family == AF_INET ? (int32_t)ntohl(from[k].sin_addr.s_addr) : 0;
        m[4] = from[k].sin_family == AF_INET ? ntohs(from[k].sin_port) : 0;
        m[5] = -1;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&msgs[k].msg_hdr); c; c = CMSG_NXTHDR(&msgs[k].msg_hdr, c)) {
          if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
            struct timespec ts;
            memcpy(&ts, CMSG_DATA(c), sizeof ts);
            int64_t age = ((int64_t)(now.tv_sec - ts.tv_sec) * 1000000000 + (now.tv_nsec - ts.tv_nsec)) / 1000;
            m[5] = age < 0 ? 0 : (age > INT32_MAX ? INT32_MAX : (int32_t)age);
          }
        }
        packets++;
      }
      used += (size_t)n * SLOT;
      if ((size_t)n < vlen) break; /* drained */
    }
  }
full:
  state[0] = (int32_t)i;
  return int_value(env, (int64_t)packets);
}

static napi_value send_one(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  int32_t fd, port;
  uint32_t offset, length, address;
  void *buf;
  size_t buf_len;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL), SEND_USAGE);
  if (argc < 6) {
    napi_throw_type_error(env, NULL, "rtp-io: " SEND_USAGE);
    return NULL;
  }
  CHECK(napi_get_value_int32(env, argv[0], &fd), SEND_USAGE);
  CHECK(napi_get_buffer_info(env, argv[1], &buf, &buf_len), SEND_USAGE);
  CHECK(napi_get_value_uint32(env, argv[2], &offset), SEND_USAGE);
  CHECK(napi_get_value_uint32(env, argv[3], &length), SEND_USAGE);
  CHECK(napi_get_value_uint32(env, argv[4], &address), SEND_USAGE);
  CHECK(napi_get_value_int32(env, argv[5], &port), SEND_USAGE);
  if ((size_t)offset + length > buf_len || port < 1 || port > 65535) {
    napi_throw_range_error(env, NULL, "rtp-io: send outside the buffer or to a bad port");
    return NULL;
  }
  struct sockaddr_in to;
  memset(&to, 0, sizeof to);
  to.sin_family = AF_INET;
  to.sin_port = htons((uint16_t)port);
  to.sin_addr.s_addr = htonl(address);
  ssize_t n;
  do n = sendto(fd, (uint8_t *)buf + offset, length, MSG_DONTWAIT, (struct sockaddr *)&to, sizeof to);
  while (n < 0 && errno == EINTR);
  return int_value(env, n < 0 ? -errno : n);
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"enable", NULL, enable, NULL, NULL, NULL, napi_default, NULL},
    {"recv", NULL, recv_all, NULL, NULL, NULL, napi_default, NULL},
    {"send", NULL, send_one, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  napi_value fields;
  napi_create_int32(env, RECV_FIELDS, &fields);
  napi_set_named_property(env, exports, "RECV_FIELDS", fields);
  napi_value slot;
  napi_create_int32(env, SLOT, &slot);
  napi_set_named_property(env, exports, "SLOT", slot);
  return exports;
}

NAPI_MODULE_INIT() { return init(env, exports); }
